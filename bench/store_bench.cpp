// Store benchmark: the database alone, no actors and no HTTP. Writes task
// creations the way the server does (a task document and three events per
// task, a transaction per batch) through store::database, in each durability
// mode, and prints tasks per second. Its figure is the ceiling the store
// writer could reach if nothing else took its time.
//
// usage: store_bench [tasks per transaction] [transactions]   (defaults: 20, 2000)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "model/sid.hpp"
#include "store/codec.hpp"
#include "store/database.hpp"

using namespace sb;

namespace {

double run(store::durability mode, int per_batch, int batches) {
  auto path = std::filesystem::temp_directory_path() / ("sb-store-bench-" + model::random_hex32() + ".db");
  double rate = 0;
  {
    auto db = store::open_sqlite(path, mode);
    // Documents as the server encodes them.
    model::task t;
    t.attributes = R"({"type":"bench","customer":"+15551234567","language":"en"})";
    t.task_channel_unique_name = "chat";
    t.workflow_friendly_name = "bench workflow";
    t.queue_friendly_name = "bench queue";
    model::event e;
    e.event_type = "task.created";
    e.description = "Task created";
    e.resource_type = "task";
    e.data = {{"TaskSid", ""}, {"TaskAttributes", t.attributes}, {"TaskPriority", "1"}};
    auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) {
      store::encoded_batch batch;
      for (int i = 0; i < per_batch; ++i) {
        t.sid = model::make_sid("WT");
        batch.puts.push_back({"task", t.sid, "WSbench", store::encode(store::entity{t})});
        for (int k = 0; k < 3; ++k) {
          e.sid = model::make_sid("EV");
          e.task_sid = t.sid;
          batch.events.push_back({e.sid, "WSbench", 0, store::encode(e)});
        }
      }
      db->write(batch);
    }
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rate = per_batch * batches / secs;
  }
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path.string() + suffix, ec);
  return rate;
}

} // namespace

int main(int argc, char** argv) {
  int per_batch = argc > 1 ? std::atoi(argv[1]) : 20;
  int batches = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (per_batch <= 0 || batches <= 0) {
    std::fprintf(stderr, "usage: store_bench [tasks per transaction] [transactions]\n");
    return 2;
  }
  std::printf("store alone: %d transactions of %d tasks (a document and three events each), encoding included\n",
              batches, per_batch);
  double memory = run(store::durability::memory, per_batch, batches);
  for (auto mode : {store::durability::full, store::durability::normal}) {
    double r = run(mode, per_batch, batches);
    std::printf("  %-7s %9.0f tasks/s   ratio to memory %.2f\n", store::to_string(mode), r, r / memory);
  }
  std::printf("  %-7s %9.0f tasks/s   (baseline: the same writes to an in-memory database)\n", "memory",
              memory);
  return 0;
}
