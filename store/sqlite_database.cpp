// The SQLite store: one file in WAL mode, entities as encoded documents keyed
// by (kind, SID), events in an append-only table purged by age: one row per
// scope and transaction, holding that transaction's events of the scope.

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <climits>
#include <cstdint>
#include <map>
#include <tuple>
#include <thread>

#include "store/database.hpp"

namespace sb::store {

std::optional<durability> parse_durability(std::string_view text) {
  if (text == "full")
    return durability::full;
  if (text == "normal")
    return durability::normal;
  if (text == "memory")
    return durability::memory;
  return std::nullopt;
}

const char* to_string(durability d) {
  switch (d) {
    case durability::full: return "full";
    case durability::normal: return "normal";
    case durability::memory: return "memory";
  }
  return "full";
}

namespace {

// Schema migrations: entry i takes a database from version i to i + 1.
const char* const migrations[] = {
  // 0 -> 1: entities and events.
  "CREATE TABLE entities ("
  "  kind TEXT NOT NULL, sid TEXT NOT NULL, scope TEXT NOT NULL, doc TEXT NOT NULL,"
  "  UNIQUE (kind, sid));"
  "CREATE INDEX entities_scope ON entities (scope);"
  "CREATE TABLE events ("
  "  seq INTEGER PRIMARY KEY, sid TEXT NOT NULL, scope TEXT NOT NULL,"
  "  at_ms INTEGER NOT NULL, doc TEXT NOT NULL);"
  "CREATE INDEX events_at ON events (at_ms);",
  // 1 -> 2: events packed one row per scope and transaction (a row per event
  // cost the writer more than the task documents did). Each old event
  // becomes a row of its own, in the packing that event_pack describes.
  "CREATE TABLE event_packs ("
  "  seq INTEGER PRIMARY KEY, scope TEXT NOT NULL, oldest_ms INTEGER NOT NULL,"
  "  newest_ms INTEGER NOT NULL, count INTEGER NOT NULL, body BLOB NOT NULL);"
  "INSERT INTO event_packs (scope, oldest_ms, newest_ms, count, body)"
  "  SELECT scope, at_ms, at_ms, 1, CAST(at_ms || ' ' || length(CAST(sid AS BLOB)) || ' ' ||"
  "    length(CAST(doc AS BLOB)) || ' ' || sid || doc AS BLOB) FROM events ORDER BY seq;"
  "DROP TABLE events;"
  "CREATE INDEX event_packs_oldest ON event_packs (oldest_ms);",
};
static_assert(std::size(migrations) == schema_version);

class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw store_error(std::string("cannot prepare statement: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  sqlite3_stmt* get() { return stmt_; }
  void bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind_blob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  // Runs to completion; throws with the database's message on failure.
  void run(sqlite3* db) {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      throw store_error(sqlite3_errmsg(db));
  }
  std::string text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    throw store_error(text);
  }
}

int user_version(sqlite3* db) {
  statement s(db, "PRAGMA user_version");
  int v = 0;
  if (sqlite3_step(s.get()) == SQLITE_ROW)
    v = sqlite3_column_int(s.get(), 0);
  return v;
}

// A pack's body: for each event "<at_ms> <sid bytes> <doc bytes> " then the
// SID and the document, back to back. Lengths rather than separators, so a
// document may hold any byte.
void pack_into(std::string& body, const event_row& e) {
  body += std::to_string(e.at_ms);
  body += ' ';
  body += std::to_string(e.sid.size());
  body += ' ';
  body += std::to_string(e.doc.size());
  body += ' ';
  body += e.sid;
  body += e.doc;
}

// The events of a pack in the order they were written; throws store_error on
// a body that does not parse.
std::vector<event_row> unpack(std::string_view body, const std::string& scope) {
  std::vector<event_row> out;
  std::size_t pos = 0;
  auto number = [&]() -> std::int64_t {
    auto end = body.find(' ', pos);
    if (end == std::string_view::npos || end == pos)
      throw store_error("an event pack of " + scope + " is damaged");
    std::int64_t v = 0;
    bool negative = body[pos] == '-';
    for (auto i = pos + (negative ? 1 : 0); i < end; ++i) {
      if (body[i] < '0' || body[i] > '9')
        throw store_error("an event pack of " + scope + " is damaged");
      v = v * 10 + (body[i] - '0');
    }
    pos = end + 1;
    return negative ? -v : v;
  };
  while (pos < body.size()) {
    event_row e;
    e.scope = scope;
    e.at_ms = number();
    auto sid_len = static_cast<std::size_t>(number());
    auto doc_len = static_cast<std::size_t>(number());
    if (sid_len > body.size() - pos || doc_len > body.size() - pos - sid_len)
      throw store_error("an event pack of " + scope + " is damaged");
    e.sid = std::string(body.substr(pos, sid_len));
    e.doc = std::string(body.substr(pos + sid_len, doc_len));
    pos += sid_len + doc_len;
    out.push_back(std::move(e));
  }
  return out;
}

class sqlite_database final : public database {
 public:
  sqlite_database(const std::filesystem::path& path, durability d) {
    std::string name = d == durability::memory ? ":memory:" : path.string();
    int rc = sqlite3_open_v2(name.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw store_error("cannot open " + name + ": " + msg);
    }
    try {
      sqlite3_busy_timeout(db_, 5000);
      if (d != durability::memory)
        exec(db_, "PRAGMA journal_mode=WAL");
      sync_pragma_ = d == durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
      exec(db_, sync_pragma_);
      // 8 MiB of page cache: more than SQLite's 2 MiB default for the
      // entity index's random SIDs, while commits stay cheap (a 64 MiB cache
      // made each commit slower in WAL mode: 17,300 against 21,400 tasks/s
      // in a standalone loop of the same batches).
      exec(db_, "PRAGMA cache_size=-8192");
      migrate();
      put_ = std::make_unique<statement>(
        db_, "INSERT INTO entities (kind, sid, scope, doc) VALUES (?1, ?2, ?3, ?4) "
             "ON CONFLICT (kind, sid) DO UPDATE SET scope = excluded.scope, doc = excluded.doc");
      erase_ = std::make_unique<statement>(db_, "DELETE FROM entities WHERE kind = ?1 AND sid = ?2");
      // A scope goes with the entity that owns it (a workspace, a
      // conversation). The owner is named by kind as well as SID so that
      // both terms use an index: `sid = ?1` alone scans the whole table.
      erase_scope_ = std::make_unique<statement>(
        db_, "DELETE FROM entities WHERE scope = ?1 OR "
             "(kind IN ('workspace', 'conversation') AND sid = ?1)");
      erase_scope_events_ = std::make_unique<statement>(db_, "DELETE FROM event_packs WHERE scope = ?1");
      event_ = std::make_unique<statement>(
        db_, "INSERT INTO event_packs (scope, oldest_ms, newest_ms, count, body) VALUES (?1, ?2, ?3, ?4, ?5)");
      if (d != durability::memory)
        start_checkpointer(name); // last: nothing after it can throw
    } catch (...) {
      close();
      throw;
    }
  }

  ~sqlite_database() override {
    stop_checkpointer();
    close();
  }

  void write(const encoded_batch& b) override {
    exec(db_, "BEGIN IMMEDIATE");
    try {
      for (auto& scope : b.erased_scopes) {
        erase_scope_->bind(1, scope);
        erase_scope_->run(db_);
        erase_scope_events_->bind(1, scope);
        erase_scope_events_->run(db_);
      }
      for (auto& r : b.puts) {
        put_->bind(1, r.kind);
        put_->bind(2, r.sid);
        put_->bind(3, r.scope);
        put_->bind(4, r.doc);
        put_->run(db_);
      }
      for (auto& [kind, sid] : b.erases) {
        erase_->bind(1, kind);
        erase_->bind(2, sid);
        erase_->run(db_);
      }
      // One pack per scope, scopes in the order they first appear.
      std::vector<std::string_view> scopes;
      for (auto& e : b.events)
        if (std::find(scopes.begin(), scopes.end(), e.scope) == scopes.end())
          scopes.push_back(e.scope);
      std::string body;
      for (auto scope : scopes) {
        body.clear();
        std::int64_t oldest = INT64_MAX, newest = INT64_MIN, count = 0;
        for (auto& e : b.events) {
          if (e.scope != scope)
            continue;
          pack_into(body, e);
          oldest = std::min(oldest, e.at_ms);
          newest = std::max(newest, e.at_ms);
          ++count;
        }
        event_->bind(1, scope);
        event_->bind(2, oldest);
        event_->bind(3, newest);
        event_->bind(4, count);
        event_->bind_blob(5, body);
        event_->run(db_);
      }
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::vector<row> load_entities() override {
    statement s(db_, "SELECT kind, sid, scope, doc FROM entities");
    std::vector<row> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
      out.push_back(row{s.text(0), s.text(1), s.text(2), s.text(3)});
    if (rc != SQLITE_DONE)
      throw store_error(std::string("cannot read entities: ") + sqlite3_errmsg(db_));
    return out;
  }

  std::vector<row> load_scope(const std::string& scope) override {
    if (!load_scope_)
      load_scope_ = std::make_unique<statement>(db_, "SELECT kind, sid, scope, doc FROM entities WHERE scope = ?1");
    auto& s = *load_scope_;
    s.bind(1, scope);
    std::vector<row> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
      out.push_back(row{s.text(0), s.text(1), s.text(2), s.text(3)});
    std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
    sqlite3_reset(s.get());
    sqlite3_clear_bindings(s.get());
    if (!error.empty())
      throw store_error("cannot read the rows of " + scope + ": " + error);
    return out;
  }

  std::vector<event_row> load_events(std::int64_t since_ms, std::size_t limit) override {
    // Newest pack first, so each scope keeps its newest `limit`.
    statement s(db_, "SELECT scope, body FROM event_packs WHERE newest_ms >= ?1 ORDER BY seq DESC");
    s.bind(1, since_ms);
    std::map<std::string, std::size_t> per_scope;
    std::vector<event_row> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      auto scope = s.text(0);
      auto& taken = per_scope[scope];
      if (taken >= limit)
        continue;
      auto events = unpack(s.text(1), scope);
      for (auto e = events.rbegin(); e != events.rend() && taken < limit; ++e)
        if (e->at_ms >= since_ms) {
          out.push_back(std::move(*e));
          ++taken;
        }
    }
    if (rc != SQLITE_DONE)
      throw store_error(std::string("cannot read events: ") + sqlite3_errmsg(db_));
    return {std::make_move_iterator(out.rbegin()), std::make_move_iterator(out.rend())};
  }

  std::size_t purge_events(std::int64_t before_ms) override {
    exec(db_, "BEGIN IMMEDIATE");
    try {
      std::size_t gone = 0;
      {
        statement whole(db_, "SELECT coalesce(sum(count), 0) FROM event_packs WHERE newest_ms < ?1");
        whole.bind(1, before_ms);
        if (sqlite3_step(whole.get()) == SQLITE_ROW)
          gone += static_cast<std::size_t>(sqlite3_column_int64(whole.get(), 0));
      }
      statement drop(db_, "DELETE FROM event_packs WHERE newest_ms < ?1");
      drop.bind(1, before_ms);
      drop.run(db_);
      // Packs that straddle the cutoff keep only their newer events.
      std::vector<std::tuple<std::int64_t, std::string, std::string>> straddling;
      {
        statement s(db_, "SELECT seq, scope, body FROM event_packs WHERE oldest_ms < ?1");
        s.bind(1, before_ms);
        int rc;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
          straddling.emplace_back(sqlite3_column_int64(s.get(), 0), s.text(1), s.text(2));
        if (rc != SQLITE_DONE)
          throw store_error(std::string("cannot read events: ") + sqlite3_errmsg(db_));
      }
      statement rewrite(db_, "UPDATE event_packs SET oldest_ms = ?2, count = ?3, body = ?4 WHERE seq = ?1");
      for (auto& [seq, scope, body] : straddling) {
        std::string kept;
        std::int64_t oldest = INT64_MAX, count = 0;
        for (auto& e : unpack(body, scope)) {
          if (e.at_ms < before_ms) {
            ++gone;
            continue;
          }
          pack_into(kept, e);
          oldest = std::min(oldest, e.at_ms);
          ++count;
        }
        rewrite.bind(1, seq);
        rewrite.bind(2, oldest);
        rewrite.bind(3, count);
        rewrite.bind_blob(4, kept);
        rewrite.run(db_);
      }
      exec(db_, "COMMIT");
      return gone;
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  void migrate() {
    int v = user_version(db_);
    if (v > schema_version)
      throw store_error("the database has schema version " + std::to_string(v) +
                        ", newer than this binary understands (" + std::to_string(schema_version) +
                        "); run a newer switchboard or restore a backup");
    for (; v < schema_version; ++v) {
      exec(db_, "BEGIN IMMEDIATE");
      try {
        exec(db_, migrations[v]);
        exec(db_, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
        exec(db_, "COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }

  // Checkpoints run off the commit path: the writer's connection never
  // checkpoints; a thread of ours does, with its own connection, once the
  // WAL holds 1,000 pages, SQLite's own threshold (looked at every 100 ms). A commit used to pay for that checkpoint itself: copying the
  // pages into the database and fsyncing it, a stall of tens of
  // milliseconds every few commits when many conversations write (their
  // rows dirty index pages all over the file).
  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    static_cast<sqlite_database*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
    return SQLITE_OK;
  }

  void start_checkpointer(const std::string& name) {
    exec(db_, "PRAGMA wal_autocheckpoint=0");
    sqlite3_wal_hook(db_, &sqlite_database::on_wal_commit, this);
    if (sqlite3_open_v2(name.c_str(), &ckpt_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      std::string msg = ckpt_db_ ? sqlite3_errmsg(ckpt_db_) : "out of memory";
      sqlite3_close(ckpt_db_);
      ckpt_db_ = nullptr;
      throw store_error("cannot open " + name + " for checkpoints: " + msg);
    }
    sqlite3_busy_timeout(ckpt_db_, 1000); // RESTART waits for the writer's transaction to end
    try {
      // A connection learns the file is in WAL mode when it first reads it;
      // until then a checkpoint does nothing. Checkpoints sync as the
      // writer's durability says.
      exec(ckpt_db_, "PRAGMA journal_mode=WAL");
      exec(ckpt_db_, sync_pragma_);
    } catch (...) {
      sqlite3_close(ckpt_db_);
      ckpt_db_ = nullptr;
      throw;
    }
    ckpt_thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(ckpt_mutex_);
      while (!ckpt_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return ckpt_stop_; })) {
        if (wal_pages_.load(std::memory_order_relaxed) < 1000)
          continue;
        lock.unlock();
        // PASSIVE copies what it can while the writer goes on; RESTART
        // then takes the few frames written meanwhile, holding the writer
        // back for that moment only, so that its next commit starts the WAL
        // from the beginning (with PASSIVE alone under a steady load the
        // WAL never restarts and grows by gigabytes). A failure (a full
        // disk) is tried again at the next round; the WAL keeps every
        // committed change meanwhile.
        sqlite3_wal_checkpoint_v2(ckpt_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        sqlite3_wal_checkpoint_v2(ckpt_db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
        lock.lock();
      }
    });
  }

  void stop_checkpointer() {
    if (ckpt_thread_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(ckpt_mutex_);
        ckpt_stop_ = true;
      }
      ckpt_cv_.notify_all();
      ckpt_thread_.join();
    }
    if (ckpt_db_)
      sqlite3_close(ckpt_db_);
    ckpt_db_ = nullptr;
  }

  void close() {
    load_scope_.reset();
    put_.reset();
    erase_.reset();
    erase_scope_.reset();
    erase_scope_events_.reset();
    event_.reset();
    if (db_)
      sqlite3_close(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  const char* sync_pragma_ = "";
  sqlite3* ckpt_db_ = nullptr;
  std::thread ckpt_thread_;
  std::mutex ckpt_mutex_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
  std::atomic<int> wal_pages_{0}; // after the writer's last commit
  std::unique_ptr<statement> put_, erase_, erase_scope_, erase_scope_events_, event_, load_scope_;
};

} // namespace

std::unique_ptr<database> open_sqlite(const std::filesystem::path& path, durability d) {
  return std::make_unique<sqlite_database>(path, d);
}

void backup(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!std::filesystem::exists(from))
    throw store_error("no database at " + from.string());
  if (std::filesystem::exists(to))
    throw store_error(to.string() + " already exists; choose a new file");
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto fail = [&](const std::string& what, sqlite3* db) {
    std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    if (src)
      sqlite3_close(src);
    if (dst) {
      sqlite3_close(dst);
      // The target did not exist before: leave none behind (a half copy, or
      // an empty file that would make the retry refuse "already exists").
      std::error_code ec;
      std::filesystem::remove(to, ec);
    }
    throw store_error(msg);
  };
  if (sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    fail("cannot open " + from.string(), src);
  sqlite3_busy_timeout(src, 5000);
  if (sqlite3_open_v2(to.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
    fail("cannot create " + to.string(), dst);
  auto* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b)
    fail("cannot start the backup", dst);
  // One step copies every page inside one read transaction: in WAL mode the
  // server keeps writing meanwhile and the copy is one consistent snapshot.
  int rc;
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    fail("backup failed", dst);
  sqlite3_close(src);
  sqlite3_close(dst);
}

} // namespace sb::store
