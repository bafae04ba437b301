#pragma once
// Ways for a test to watch what the store's own SQLite connection does
// without a hook in the store: an auto-extension that hands over each new
// connection's handle, and a VFS shim that counts fsyncs per file type.

#include <sqlite3.h>

#include <atomic>
#include <stdexcept>

namespace sb::test {

// While alive, remembers the last connection opened in this process, so a
// test can run PRAGMA queries on the store's connection itself (settings such
// as synchronous are per connection and invisible to a second one).
class connection_catcher {
 public:
  connection_catcher() {
    first() = nullptr;
    if (sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(&catch_it)) != SQLITE_OK)
      throw std::runtime_error("sqlite3_auto_extension failed");
  }
  ~connection_catcher() { sqlite3_cancel_auto_extension(reinterpret_cast<void (*)(void)>(&catch_it)); }
  connection_catcher(const connection_catcher&) = delete;
  connection_catcher& operator=(const connection_catcher&) = delete;
  sqlite3* caught() const { return first(); }

 private:
  static sqlite3*& first() {
    static sqlite3* db = nullptr;
    return db;
  }
  // The first connection opened while alive (the store's own, not its
  // checkpointer's).
  static int catch_it(sqlite3* db, char**, const sqlite3_api_routines*) {
    if (!first())
      first() = db;
    return SQLITE_OK;
  }
};

// While alive, is the default VFS: it forwards everything to the previous
// default and counts xSync calls on WAL files and main database files.
class sync_counter {
 public:
  sync_counter() {
    base() = sqlite3_vfs_find(nullptr);
    if (!base())
      throw std::runtime_error("no default sqlite VFS");
    vfs_ = *base();
    vfs_.pNext = nullptr;
    vfs_.zName = "sb-test-sync-counter";
    vfs_.szOsFile = static_cast<int>(sizeof(file)) + base()->szOsFile;
    vfs_.xOpen = &open;
    wal_syncs() = 0;
    db_syncs() = 0;
    if (sqlite3_vfs_register(&vfs_, 1) != SQLITE_OK)
      throw std::runtime_error("sqlite3_vfs_register failed");
  }
  ~sync_counter() { sqlite3_vfs_unregister(&vfs_); }
  sync_counter(const sync_counter&) = delete;
  sync_counter& operator=(const sync_counter&) = delete;

  int wal() const { return wal_syncs(); }
  int main_db() const { return db_syncs(); }
  void reset() {
    wal_syncs() = 0;
    db_syncs() = 0;
  }

 private:
  struct file {
    sqlite3_file base;
    sqlite3_io_methods methods;
    sqlite3_file* real;
    int flags;
  };
  static sqlite3_vfs*& base() {
    static sqlite3_vfs* v = nullptr;
    return v;
  }
  static std::atomic<int>& wal_syncs() {
    static std::atomic<int> n{0};
    return n;
  }
  static std::atomic<int>& db_syncs() {
    static std::atomic<int> n{0};
    return n;
  }
  static file* self(sqlite3_file* f) { return reinterpret_cast<file*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return self(f)->real; }
  static const sqlite3_io_methods& m(sqlite3_file* f) { return *real(f)->pMethods; }

  static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    auto* me = self(f);
    me->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(file));
    me->flags = flags;
    me->base.pMethods = nullptr;
    int rc = base()->xOpen(base(), name, me->real, flags, out_flags);
    if (!me->real->pMethods)
      return rc;
    me->methods = *me->real->pMethods;
    me->methods.xClose = [](sqlite3_file* f) { return m(f).xClose(real(f)); };
    me->methods.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) { return m(f).xRead(real(f), b, n, o); };
    me->methods.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
      return m(f).xWrite(real(f), b, n, o);
    };
    me->methods.xTruncate = [](sqlite3_file* f, sqlite3_int64 s) { return m(f).xTruncate(real(f), s); };
    me->methods.xSync = [](sqlite3_file* f, int fl) {
      if (self(f)->flags & SQLITE_OPEN_WAL)
        ++wal_syncs();
      if (self(f)->flags & SQLITE_OPEN_MAIN_DB)
        ++db_syncs();
      return m(f).xSync(real(f), fl);
    };
    me->methods.xFileSize = [](sqlite3_file* f, sqlite3_int64* s) { return m(f).xFileSize(real(f), s); };
    me->methods.xLock = [](sqlite3_file* f, int l) { return m(f).xLock(real(f), l); };
    me->methods.xUnlock = [](sqlite3_file* f, int l) { return m(f).xUnlock(real(f), l); };
    me->methods.xCheckReservedLock = [](sqlite3_file* f, int* r) { return m(f).xCheckReservedLock(real(f), r); };
    me->methods.xFileControl = [](sqlite3_file* f, int op, void* a) { return m(f).xFileControl(real(f), op, a); };
    me->methods.xSectorSize = [](sqlite3_file* f) { return m(f).xSectorSize(real(f)); };
    me->methods.xDeviceCharacteristics = [](sqlite3_file* f) { return m(f).xDeviceCharacteristics(real(f)); };
    if (me->methods.iVersion >= 2) {
      me->methods.xShmMap = [](sqlite3_file* f, int p, int sz, int ext, void volatile** pp) {
        return m(f).xShmMap(real(f), p, sz, ext, pp);
      };
      me->methods.xShmLock = [](sqlite3_file* f, int o, int n, int fl) { return m(f).xShmLock(real(f), o, n, fl); };
      me->methods.xShmBarrier = [](sqlite3_file* f) { m(f).xShmBarrier(real(f)); };
      me->methods.xShmUnmap = [](sqlite3_file* f, int d) { return m(f).xShmUnmap(real(f), d); };
    }
    if (me->methods.iVersion >= 3) {
      me->methods.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** pp) {
        return m(f).xFetch(real(f), o, n, pp);
      };
      me->methods.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) { return m(f).xUnfetch(real(f), o, p); };
    }
    me->base.pMethods = &me->methods;
    return rc;
  }

  sqlite3_vfs vfs_{};
};

} // namespace sb::test
