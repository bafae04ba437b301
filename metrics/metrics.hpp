#pragma once
// Switchboard's Prometheus metric families. main owns one instance; actors and
// the HTTP adapter receive the families they record into, never the registry.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace sb::metrics {

// Families the TaskRouter actors record into.
struct routing_families {
  prometheus::Family<prometheus::Counter>* tasks = nullptr;        // event, queue, channel
  prometheus::Family<prometheus::Counter>* reservations = nullptr; // outcome
  prometheus::Family<prometheus::Histogram>* task_wait = nullptr;  // stage
  prometheus::Family<prometheus::Gauge>* workers = nullptr;        // workspace, activity
  prometheus::Family<prometheus::Gauge>* pending = nullptr;        // queue
};

// Families the HTTP adapter records into.
struct http_families {
  prometheus::Family<prometheus::Counter>* requests = nullptr;  // route, method, status
  prometheus::Family<prometheus::Histogram>* latency = nullptr; // route, method
};

// The store writer's figures: one histogram observation per transaction.
struct store_metrics {
  prometheus::Histogram* commit_seconds = nullptr; // each commit, fsync included
  prometheus::Histogram* batch_changes = nullptr;  // changes per transaction
  prometheus::Counter* write_failures = nullptr;   // transactions that failed
  prometheus::Gauge* writable = nullptr;           // 1 while writes succeed
  prometheus::Counter* events_purged = nullptr;    // events deleted by retention
};

// The Conversations root's figures: how many conversations have a running
// actor and how many wait passivated in the store.
struct conversation_metrics {
  prometheus::Gauge* live = nullptr;             // conversations with a running actor
  prometheus::Gauge* passive = nullptr;          // conversations passivated to the store
  prometheus::Counter* passivations = nullptr;   // actors stopped after being idle
  prometheus::Counter* activations = nullptr;    // actors started again from the store
};

// Flex and Studio figures.
struct flex_metrics {
  prometheus::Family<prometheus::Counter>* interactions = nullptr; // initiated_by: interactions created
  prometheus::Gauge* channel_actors = nullptr;                     // interaction channels with a running actor
  prometheus::Family<prometheus::Counter>* executions = nullptr;   // trigger: Studio executions started
  prometheus::Counter* executions_ended = nullptr;                 // Studio executions ended
  prometheus::Family<prometheus::Counter>* handovers = nullptr;    // outcome: send-to-flex completed or failed
};

class registry {
 public:
  registry();
  routing_families routing() const { return routing_; }
  http_families http() const { return http_; }
  store_metrics store() const { return store_; }
  conversation_metrics conversations() const { return conversations_; }
  flex_metrics flex() const { return flex_; }
  // The whole registry in Prometheus text exposition format.
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  routing_families routing_;
  http_families http_;
  store_metrics store_;
  conversation_metrics conversations_;
  flex_metrics flex_;
};

// Bucket bounds, in seconds, for latency histograms (100 us to 60 s).
const prometheus::Histogram::BucketBoundaries& latency_buckets();

} // namespace sb::metrics
