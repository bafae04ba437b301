#include "metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace sb::metrics {

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  return b;
}

registry::registry() : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  routing_.tasks = &BuildCounter()
                      .Name("switchboard_tasks_total")
                      .Help("Task lifecycle events by event (created, assigned, completed, canceled), queue and task channel")
                      .Register(*registry_);
  routing_.reservations = &BuildCounter()
                             .Name("switchboard_reservations_total")
                             .Help("Reservations ended or accepted, by outcome")
                             .Register(*registry_);
  routing_.task_wait = &BuildHistogram()
                          .Name("switchboard_task_wait_seconds")
                          .Help("Time from task creation to its first reservation (stage=reserved) and to acceptance (stage=accepted)")
                          .Register(*registry_);
  routing_.workers = &BuildGauge()
                        .Name("switchboard_workers")
                        .Help("Workers by workspace and activity")
                        .Register(*registry_);
  routing_.pending = &BuildGauge()
                        .Name("switchboard_tasks_pending")
                        .Help("Tasks waiting for a worker, by queue")
                        .Register(*registry_);
  http_.requests = &BuildCounter()
                      .Name("switchboard_http_requests_total")
                      .Help("HTTP requests by route, method and status")
                      .Register(*registry_);
  http_.latency = &BuildHistogram()
                     .Name("switchboard_http_request_duration_seconds")
                     .Help("HTTP request latency by route and method")
                     .Register(*registry_);
  store_.commit_seconds = &BuildHistogram()
                             .Name("switchboard_store_commit_seconds")
                             .Help("Time to write and commit one store transaction, fsync included")
                             .Register(*registry_)
                             .Add({}, latency_buckets());
  store_.batch_changes = &BuildHistogram()
                            .Name("switchboard_store_batch_changes")
                            .Help("Changes (entity puts, erases and events) per store transaction")
                            .Register(*registry_)
                            .Add({}, Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                                 1000, 2000, 5000, 10000});
  store_.write_failures = &BuildCounter()
                             .Name("switchboard_store_write_failures_total")
                             .Help("Store transactions that failed (disk full, I/O error, read-only file)")
                             .Register(*registry_)
                             .Add({});
  store_.writable = &BuildGauge()
                       .Name("switchboard_store_writable")
                       .Help("1 while the store accepts writes, 0 while it refuses them")
                       .Register(*registry_)
                       .Add({});
  store_.events_purged = &BuildCounter()
                            .Name("switchboard_store_events_purged_total")
                            .Help("Events deleted from the store by the retention period")
                            .Register(*registry_)
                            .Add({});
  auto& residence = BuildGauge()
                      .Name("switchboard_conversations")
                      .Help("Conversations by residence: live (a running actor) or passive (idle, kept in the store)")
                      .Register(*registry_);
  conversations_.live = &residence.Add({{"residence", "live"}});
  conversations_.passive = &residence.Add({{"residence", "passive"}});
  conversations_.passivations = &BuildCounter()
                                   .Name("switchboard_conversation_passivations_total")
                                   .Help("Idle conversation actors stopped, their state left in the store")
                                   .Register(*registry_)
                                   .Add({});
  conversations_.activations = &BuildCounter()
                                  .Name("switchboard_conversation_activations_total")
                                  .Help("Passive conversations started again from the store")
                                  .Register(*registry_)
                                  .Add({});
  flex_.interactions = &BuildCounter()
                          .Name("switchboard_interactions_created_total")
                          .Help("Flex interactions created, by initiated_by (customer, api, agent)")
                          .Register(*registry_);
  flex_.channel_actors = &BuildGauge()
                            .Name("switchboard_interaction_channel_actors")
                            .Help("Interaction channels with a running actor (open, or closed with a task still live)")
                            .Register(*registry_)
                            .Add({});
  flex_.executions = &BuildCounter()
                        .Name("switchboard_studio_executions_started_total")
                        .Help("Studio executions started, by trigger (conversation, rest)")
                        .Register(*registry_);
  flex_.executions_ended = &BuildCounter()
                              .Name("switchboard_studio_executions_ended_total")
                              .Help("Studio executions ended")
                              .Register(*registry_)
                              .Add({});
  flex_.handovers = &BuildCounter()
                       .Name("switchboard_studio_handovers_total")
                       .Help("Studio send-to-flex hand-overs, by outcome (completed, failed)")
                       .Register(*registry_);
}

std::string registry::serialize() const {
  prometheus::TextSerializer s;
  return s.Serialize(registry_->Collect());
}

} // namespace sb::metrics
