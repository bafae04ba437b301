#include "actors/media_actor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>

#include "actors/cv_messages.hpp"
#include "model/sid.hpp"

namespace sb::actors::detail {

// The fetch seam's answer for one item of an import, sent by the seam's
// callback (on the fetcher's thread) back into the media actor.
struct media_fetch_done {
  std::uint64_t job = 0;
  std::size_t item = 0;
  http_fetched result;
};

} // namespace sb::actors::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::detail::media_fetch_done)

namespace sb::actors {

// An import in progress: per item, where its download stands and how it ended.
struct media_import_job {
  struct item_state {
    std::string url; // the URL asked now (after the redirects so far)
    int redirects = 0;
    std::chrono::steady_clock::time_point deadline;
    std::optional<model::cv::media> stored;
    std::string failure; // why it was not stored; empty while pending or when stored
  };
  media_import request;
  std::vector<item_state> items;
  std::size_t pending = 0; // items not yet stored or failed
};

namespace {

using self_ptr = media_actor_type*;
namespace cv = model::cv;
namespace fs = std::filesystem;

model::time_point now() { return std::chrono::system_clock::now(); }

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
}

media_reply fail(model::error e) { return media_reply{std::move(e), {}, false}; }

media_reply unavailable() {
  return fail(model::error{model::errc::unavailable, 20503,
                           "The change could not be written to disk; the service refuses changes "
                           "until its store accepts writes again"});
}

model::error missing(const media_call& c) {
  return model::not_found("The requested resource /Services/" + c.service_sid + "/Media/" + c.sid +
                          " was not found");
}

model::error forbidden() {
  return model::error{model::errc::forbidden, 20003, "The media URL is invalid or has expired"};
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// ------------------------------------------------------------------ files --

bool fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Writes content as dir/name whole or not at all: a temporary file, fsynced
// (when sync), renamed over name, then the directory fsynced. An error text
// on failure, when the temporary file is gone again.
std::optional<std::string> write_whole(const fs::path& dir, const std::string& name, std::string_view content,
                                       bool sync) {
  auto tmp = dir / (".upload-" + name);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno_text("cannot create a file in the media directory");
  std::optional<std::string> err;
  std::size_t done = 0;
  while (!err && done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      err = errno_text("cannot write the media file");
    else
      done += static_cast<std::size_t>(n);
  }
  if (!err && sync && ::fsync(fd) != 0)
    err = errno_text("cannot sync the media file");
  if (::close(fd) != 0 && !err)
    err = errno_text("cannot close the media file");
  if (!err && ::rename(tmp.c_str(), (dir / name).c_str()) != 0)
    err = errno_text("cannot rename the media file");
  if (err) {
    ::unlink(tmp.c_str());
    return err;
  }
  if (sync && !fsync_dir(dir)) {
    auto text = errno_text("cannot sync the media directory");
    ::unlink((dir / name).c_str());
    return text;
  }
  return std::nullopt;
}

// The whole file, or an error text.
std::optional<std::string> read_whole(const fs::path& file, std::string& out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_text("cannot open the media file");
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto text = errno_text("cannot read the media file");
      ::close(fd);
      return text;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::nullopt;
}

// Removes the files no metadata names (and leftover temporary files).
void remove_strays(self_ptr self) {
  auto& st = self->state;
  auto& dir = st.options.dir;
  std::error_code ec;
  std::size_t removed = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (st.items.count(name) || !it->is_regular_file())
      continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm))
      ++removed;
  }
  if (ec)
    std::cerr << "switchboard: cannot read the media directory " << dir << ": " << ec.message() << "\n";
  if (removed > 0 && st.options.fsync)
    fsync_dir(dir);
  for (auto& [sid, m] : st.items)
    if (!fs::exists(dir / sid, ec))
      std::cerr << "switchboard: the content of media " << sid << " is missing from " << dir << "\n";
}

// ---------------------------------------------------------------- handlers --

// The caller's media at the path's service, or nullptr.
cv::media* find(self_ptr self, const media_call& c) {
  auto it = self->state.items.find(c.sid);
  if (it == self->state.items.end() || it->second.account_sid != c.account_sid ||
      it->second.service_sid != c.service_sid)
    return nullptr;
  return &it->second;
}

// The content of m into r.content; an error reply when it cannot be read.
media_reply with_content(self_ptr self, const cv::media& m) {
  media_reply r{m, {}, false};
  if (auto err = read_whole(self->state.options.dir / m.sid, r.content))
    return fail(model::error{model::errc::internal, 20500, "The content of media " + m.sid + " cannot be read: " + *err});
  return r;
}

// Keeps a new media, an upload's or an import's: its content as a file
// (written whole, see write_whole), then its metadata handed to the store
// and held. The caller waits for the commit before it tells anyone. An
// error text when the file cannot be written; nothing is kept then.
std::optional<std::string> keep_new(self_ptr self, const cv::media& m, std::string_view content) {
  auto& st = self->state;
  if (auto err = write_whole(st.options.dir, m.sid, content, st.options.fsync))
    return err;
  st.durable.put(m.service_sid, m.sid, store::entity{m});
  st.items.emplace(m.sid, m);
  return std::nullopt;
}

void store_upload(self_ptr self, caf::response_promise rp, const media_call& c) {
  auto& st = self->state;
  cv::media m;
  m.sid = model::make_sid("ME");
  m.account_sid = c.account_sid;
  m.service_sid = c.service_sid;
  m.content_type = c.content_type;
  m.filename = c.filename;
  m.size = static_cast<std::int64_t>(c.content.size());
  m.created = m.updated = now();
  if (auto err = keep_new(self, m, c.content)) {
    std::cerr << "switchboard: media upload refused: " << *err << "\n";
    rp.deliver(fail(model::error{model::errc::unavailable, 20503, "The media could not be stored: " + *err}));
    return;
  }
  st.durable.answer(self, std::move(rp), media_reply{std::move(m), {}, true}, true);
  st.durable.settle(self);
}

// ----------------------------------------------------------------- imports --
//
// Every item of a media_import is downloaded at once through the fetch seam;
// its answers come back as media_fetch_done. A redirect asks the seam again
// (the item's deadline and redirect count carry over); a 2xx answer is kept
// as an upload is. Failure reasons never show the URL: a MediaUrl may carry
// credentials.
//
// The message's service is not asked about: if it was deleted meanwhile the
// media is stored anyway, and the next start drops media whose service is
// gone (with their files), as for any deleted service.

using job_ptr = std::shared_ptr<media_import_job>;

// Everything is tried: tell reply_to once what was stored is committed.
void finish_import(self_ptr self, std::uint64_t id, const job_ptr& job) {
  auto& st = self->state;
  st.imports.erase(id);
  media_imported out;
  out.message_sid = job->request.message_sid;
  for (std::size_t i = 0; i < job->items.size(); ++i) {
    auto& it = job->items[i];
    if (it.stored)
      out.stored.push_back(*it.stored);
    else
      out.failed.emplace_back(job->request.items[i].sid, it.failure);
  }
  auto to = job->request.reply_to;
  if (!to)
    return;
  if (out.stored.empty()) {
    self->send(to, std::move(out));
    return;
  }
  st.durable.after_commit(self, [self, to, out]() { self->send(to, out); });
}

// Item i has ended: stored (failure empty) or failed.
void settle_item(self_ptr self, std::uint64_t id, const job_ptr& job, std::size_t i, std::string failure) {
  job->items[i].failure = std::move(failure);
  if (--job->pending == 0)
    finish_import(self, id, job);
}

// Asks the seam for item i's current URL with what is left of its time.
void fetch_item(self_ptr self, std::uint64_t id, const job_ptr& job, std::size_t i) {
  auto& st = self->state;
  auto& it = job->items[i];
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it.deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    settle_item(self, id, job, i,
                "timed out after " + std::to_string(st.options.fetch_timeout.count()) + " ms");
    return;
  }
  // The answer arrives on the fetcher's thread: it goes through the mailbox,
  // and is dropped when the actor is gone.
  caf::actor_addr addr = self->address();
  st.options.fetch(it.url, left, st.options.fetch_limit, [addr, id, i](http_fetched r) {
    if (auto me = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(me, detail::media_fetch_done{id, i, std::move(r)});
  });
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void start_import(self_ptr self, media_import& q) {
  auto& st = self->state;
  if (q.items.empty()) {
    if (q.reply_to)
      self->send(q.reply_to, media_imported{q.message_sid, {}, {}});
    return;
  }
  auto id = ++st.next_import;
  auto job = std::make_shared<media_import_job>();
  job->request = std::move(q);
  auto& req = job->request;
  job->items.resize(req.items.size());
  job->pending = req.items.size();
  st.imports.emplace(id, job);
  auto deadline = std::chrono::steady_clock::now() + st.options.fetch_timeout;
  bool service_ok = model::is_sid(req.service_sid, "IS");
  for (std::size_t i = 0; i < req.items.size(); ++i) {
    auto& item = req.items[i];
    auto& it = job->items[i];
    it.url = item.url;
    it.deadline = deadline;
    bool repeated = std::any_of(req.items.begin(), req.items.begin() + static_cast<std::ptrdiff_t>(i),
                                [&](const media_import_item& e) { return e.sid == item.sid; });
    if (!model::is_sid(item.sid, "ME"))
      settle_item(self, id, job, i, "not a media SID");
    else if (!service_ok)
      settle_item(self, id, job, i, "not a service SID: " + req.service_sid);
    else if (st.items.count(item.sid) || repeated)
      settle_item(self, id, job, i, "already exists");
    else if (!st.options.fetch)
      settle_item(self, id, job, i, "media fetching is off");
    else
      fetch_item(self, id, job, i);
  }
}

void on_fetched(self_ptr self, detail::media_fetch_done& d) {
  auto& st = self->state;
  auto found = st.imports.find(d.job);
  if (found == st.imports.end() || d.item >= found->second->items.size())
    return;
  job_ptr job = found->second;
  auto& req = job->request;
  auto& item = req.items[d.item];
  auto& it = job->items[d.item];
  auto& r = d.result;
  auto limit = st.options.fetch_limit;
  auto too_large = "larger than " + std::to_string(limit) + " bytes";
  auto fail_item = [&](std::string why) { settle_item(self, d.job, job, d.item, std::move(why)); };
  if (r.status == 0) {
    if (r.too_large)
      return fail_item(too_large);
    return fail_item("fetching failed: " + (r.error.empty() ? std::string("no answer") : r.error));
  }
  if (is_redirect(r.status) && !r.location.empty()) {
    if (it.redirects >= st.options.fetch_max_redirects)
      return fail_item("more than " + std::to_string(st.options.fetch_max_redirects) + " redirects");
    auto next = cv::resolve_redirect(it.url, r.location);
    if (!next)
      return fail_item("redirected to a location that is not an http(s) URL");
    it.url = std::move(*next);
    ++it.redirects;
    return fetch_item(self, d.job, job, d.item);
  }
  if (r.status < 200 || r.status > 299)
    return fail_item("HTTP status " + std::to_string(r.status));
  if (r.body.size() > limit)
    return fail_item(too_large);
  if (r.body.empty())
    return fail_item("the content is empty");
  // Checked again here: another import may have stored this SID meanwhile.
  if (st.items.count(item.sid))
    return fail_item("already exists");
  cv::media m;
  m.sid = item.sid;
  m.account_sid = req.account_sid;
  m.service_sid = req.service_sid;
  m.content_type = cv::media_type_of(r.content_type);
  if (m.content_type.empty())
    m.content_type = cv::media_type_of(item.content_type);
  if (m.content_type.empty())
    m.content_type = "application/octet-stream";
  m.filename = cv::url_filename(it.url);
  m.size = static_cast<std::int64_t>(r.body.size());
  m.message_sid = req.message_sid;
  m.conversation_sid = req.conversation_sid;
  m.created = m.updated = now();
  if (auto err = keep_new(self, m, r.body))
    return fail_item("the media could not be stored: " + *err);
  r.body = std::string(); // the bytes are on disk
  st.durable.settle(self);
  it.stored = std::move(m);
  settle_item(self, d.job, job, d.item, {});
}

void upload(self_ptr self, media_call& c) {
  auto& st = self->state;
  auto rp = self->make_response_promise<media_reply>();
  if (!model::is_sid(c.service_sid, "IS")) {
    rp.deliver(fail(model::not_found("The requested resource /Services/" + c.service_sid + " was not found")));
    return;
  }
  if (auto e = cv::check_upload(c.content_type, c.filename, static_cast<std::int64_t>(c.content.size()))) {
    rp.deliver(fail(*e));
    return;
  }
  if (!st.options.conversations) {
    store_upload(self, rp, c);
    return;
  }
  // The service must exist in the caller's account: the root knows.
  auto call = std::make_shared<media_call>(std::move(c));
  cv_call q;
  q.op = cv_op::service_fetch;
  q.account_sid = call->account_sid;
  q.service_sid = call->service_sid;
  caf::response_promise promise = rp;
  self->request(st.options.conversations, caf::infinite, std::move(q))
    .then(
      [=](cv_reply& r) mutable {
        if (auto* e = std::get_if<model::error>(&r.value)) {
          promise.deliver(fail(*e));
          return;
        }
        store_upload(self, promise, *call);
        call->content = std::string(); // the bytes are on disk
      },
      [=](caf::error&) mutable {
        promise.deliver(fail(model::error{model::errc::unavailable, 20503,
                                          "The Conversations service did not answer in time"}));
      });
}

// Forgets media: the metadata goes first; the files once that is committed
// (a crash in between leaves files the next start removes), then done().
void forget(self_ptr self, std::vector<std::string> sids, std::function<void()> done) {
  auto& st = self->state;
  std::vector<fs::path> files;
  for (auto& sid : sids) {
    auto it = st.items.find(sid);
    if (it == st.items.end())
      continue;
    st.durable.erase("media", sid, it->second.service_sid);
    files.push_back(st.options.dir / sid);
    st.items.erase(it);
  }
  auto dir = st.options.dir;
  bool sync = st.options.fsync;
  st.durable.after_commit(self, [files = std::move(files), dir, sync, done = std::move(done)]() {
    bool removed = false;
    for (auto& file : files)
      removed = ::unlink(file.c_str()) == 0 || removed;
    if (removed && sync)
      fsync_dir(dir);
    done();
  });
}

void remove_media(self_ptr self, const cv::media& m, caf::response_promise rp) {
  forget(self, {m.sid}, [rp]() mutable { rp.deliver(media_reply{std::monostate{}, {}, false}); });
}

void handle(self_ptr self, media_call& c) {
  if (c.op == media_op::upload)
    return upload(self, c);
  auto rp = self->make_response_promise<media_reply>();
  auto& st = self->state;
  if (c.op == media_op::signed_content) {
    auto it = st.items.find(c.sid);
    if (it == st.items.end() || !st.options.auth_tokens) {
      rp.deliver(fail(forbidden()));
      return;
    }
    auto token = st.options.auth_tokens->find(it->second.account_sid);
    if (token == st.options.auth_tokens->end() ||
        !cv::check_media_url_signature(token->second, c.sid, c.expires_unix, c.signature, now_unix())) {
      rp.deliver(fail(forbidden()));
      return;
    }
    rp.deliver(with_content(self, it->second));
    return;
  }
  auto* m = find(self, c);
  if (!m) {
    rp.deliver(fail(missing(c)));
    return;
  }
  switch (c.op) {
    case media_op::fetch:
      rp.deliver(media_reply{*m, {}, false});
      return;
    case media_op::content:
      rp.deliver(with_content(self, *m));
      return;
    case media_op::remove:
      remove_media(self, *m, rp);
      return;
    default:
      rp.deliver(fail(model::error{model::errc::internal, 20500, "not a media operation"}));
  }
}

} // namespace

caf::behavior media_actor(media_actor_type* self, media_options options, std::vector<model::cv::media> recovered) {
  auto& st = self->state;
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  std::error_code ec;
  fs::create_directories(st.options.dir, ec);
  if (ec)
    std::cerr << "switchboard: cannot create the media directory " << st.options.dir << ": " << ec.message() << "\n";
  for (auto& m : recovered) {
    auto sid = m.sid;
    st.items.emplace(std::move(sid), std::move(m));
  }
  remove_strays(self);
  return {
    [=](media_root_atom, caf::actor& root) { self->state.options.conversations = std::move(root); },
    [=](media_call& c) { handle(self, c); },
    [=](const media_service_deleted& d) {
      std::vector<std::string> doomed;
      for (auto& [sid, m] : self->state.items)
        if (m.service_sid == d.service_sid && m.account_sid == d.account_sid)
          doomed.push_back(sid);
      if (doomed.empty())
        return;
      forget(self, std::move(doomed), [] {});
      self->state.durable.settle(self);
    },
    [=](const media_lookup& q) {
      media_lookup_reply out;
      auto& items = self->state.items;
      for (auto& sid : q.sids) {
        auto it = items.find(sid);
        if (it != items.end() && it->second.account_sid == q.account_sid && it->second.service_sid == q.service_sid)
          out.found.push_back(it->second);
        else
          out.missing.push_back(sid);
      }
      return out;
    },
    [=](const media_attach& a) {
      auto& st = self->state;
      for (auto& sid : a.sids) {
        auto it = st.items.find(sid);
        if (it == st.items.end() || it->second.account_sid != a.account_sid)
          continue;
        auto& m = it->second;
        if (!m.message_sid.empty() && m.message_sid != a.message_sid)
          continue;
        if (m.message_sid == a.message_sid && m.conversation_sid == a.conversation_sid)
          continue;
        m.message_sid = a.message_sid;
        m.conversation_sid = a.conversation_sid;
        m.updated = now();
        st.durable.put(m.service_sid, m.sid, store::entity{m});
      }
      st.durable.settle(self);
    },
    [=](media_import& q) { start_import(self, q); },
    [=](detail::media_fetch_done& d) { on_fetched(self, d); },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
