#pragma once
// The store behind an interface: one SQLite implementation, and in tests
// wrappers that inject write failures. Every call is blocking and belongs on
// the store writer's own thread (or on the main thread before start).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace sb::store {

// full: a commit survives power loss (WAL synced on every commit).
// normal: a commit survives a process crash (WAL synced at checkpoints only).
// memory: nothing survives; an in-memory database for benchmarks and tests.
enum class durability { full, normal, memory };

std::optional<durability> parse_durability(std::string_view text);
const char* to_string(durability d);

// A failed store operation; what() says what went wrong in words an
// operator can act on ("database or disk is full", ...).
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One stored entity, still encoded.
struct row {
  std::string kind, sid, scope, doc;
};

struct event_row {
  std::string sid, scope;
  std::int64_t at_ms = 0;
  std::string doc;
};

// A batch encoded for the database: erased scopes, then puts and erases in
// order, then new events.
struct encoded_batch {
  std::vector<std::string> erased_scopes;
  std::vector<row> puts;
  std::vector<std::pair<std::string, std::string>> erases; // kind, sid
  std::vector<event_row> events;
  std::size_t size() const { return erased_scopes.size() + puts.size() + erases.size() + events.size(); }
};

class database {
 public:
  virtual ~database() = default;
  // Applies the batch in one transaction: all of it or, on store_error,
  // none of it.
  virtual void write(const encoded_batch& batch) = 0;
  // Every stored entity.
  virtual std::vector<row> load_entities() = 0;
  // The entities whose scope is `scope` (a passive conversation's
  // participants, messages and webhooks), in no particular order.
  virtual std::vector<row> load_scope(const std::string& scope) = 0;
  // The newest `limit` events of each scope at or after since_ms, oldest
  // first within each scope (scopes interleave in the order they were written).
  virtual std::vector<event_row> load_events(std::int64_t since_ms, std::size_t limit) = 0;
  // Deletes events older than before_ms; returns how many went.
  virtual std::size_t purge_events(std::int64_t before_ms) = 0;
};

// The schema version this binary writes and understands.
constexpr int schema_version = 2;

// Opens (creating when absent) the database at path, applies migrations up to
// schema_version, and refuses, with store_error, a database whose version is
// newer than this binary's. durability::memory ignores path.
std::unique_ptr<database> open_sqlite(const std::filesystem::path& path, durability d);

// Copies the live database at `from` into a new file `to` with SQLite's online
// backup; safe while a server writes to `from`. Throws store_error.
void backup(const std::filesystem::path& from, const std::filesystem::path& to);

} // namespace sb::store
