#pragma once
// Shared by the store tests: a private temporary directory per test, a raw
// SQLite connection for looking at the files from outside the store, and
// rows as comparable tuples.

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "store/database.hpp"

namespace sb::test {

// A fresh directory under the system's temporary directory, removed with
// everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "sb-store-test-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A connection of the test's own, independent of the store's.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& file, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("test cannot open " + file.string() + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  // Borrows a connection someone else owns (not closed here).
  static raw_db borrow(sqlite3* db) { return raw_db(db); }
  ~raw_db() {
    if (owned_ && db_)
      sqlite3_close(db_);
  }
  raw_db(raw_db&& o) noexcept : db_(o.db_), owned_(o.owned_) { o.db_ = nullptr; }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string text = msg ? msg : sqlite3_errmsg(db_);
      sqlite3_free(msg);
      throw std::runtime_error("test SQL failed: " + sql + ": " + text);
    }
  }
  // Every row's columns as text.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error("test SQL failed: " + sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> r;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        r.emplace_back(p ? p : "");
      }
      out.push_back(std::move(r));
    }
    std::string err = sqlite3_errmsg(db_);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
      throw std::runtime_error("test SQL failed: " + sql + ": " + err);
    return out;
  }
  // The first column of the single row a query answers.
  std::string text(const std::string& sql) {
    auto r = rows(sql);
    if (r.size() != 1 || r[0].empty())
      throw std::runtime_error("test SQL answered " + std::to_string(r.size()) + " rows: " + sql);
    return r[0][0];
  }
  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }
  sqlite3* get() const { return db_; }

 private:
  explicit raw_db(sqlite3* borrowed) : db_(borrowed), owned_(false) {}
  sqlite3* db_ = nullptr;
  bool owned_ = true;
};

inline auto as_tuple(const store::row& r) { return std::make_tuple(r.kind, r.sid, r.scope, r.doc); }
inline auto as_tuple(const store::event_row& r) { return std::make_tuple(r.sid, r.scope, r.at_ms, r.doc); }

// Rows as sorted tuples, so two loads compare regardless of order.
inline std::vector<std::tuple<std::string, std::string, std::string, std::string>>
sorted(const std::vector<store::row>& rows) {
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> out;
  for (auto& r : rows)
    out.push_back(as_tuple(r));
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::tuple<std::string, std::string, std::int64_t, std::string>>
tuples(const std::vector<store::event_row>& rows) {
  std::vector<std::tuple<std::string, std::string, std::int64_t, std::string>> out;
  for (auto& r : rows)
    out.push_back(as_tuple(r));
  return out;
}

} // namespace sb::test
