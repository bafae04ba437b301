#pragma once
// Test helpers that run the real switchboard binary on loopback and talk to
// it over HTTP: a process fixture (fork/exec, stdout read through a pipe with
// a deadline, SIGTERM then SIGKILL on the way out) and a small synchronous
// Beast client whose every exchange is bounded by a deadline.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

namespace sbtest {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using form = std::vector<std::pair<std::string, std::string>>;

inline std::string binary_path() {
  if (const char* p = std::getenv("SWITCHBOARD_BIN"); p && *p)
    return p;
  return "/work/main/build/api/switchboard";
}

inline std::string make_temp_dir() {
  auto base = std::filesystem::temp_directory_path() / "switchboard-api-XXXXXX";
  std::string tmpl = base.string();
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  return tmpl;
}

// ------------------------------------------------------------ processes --

// A child process with stdout and stderr on one pipe.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      // Child: only async-signal-safe calls from here to exec.
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close_range(3, ~0U, 0);
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }

  ~child_process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGTERM);
      if (!wait_for_exit(5s)) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        reaped_ = true;
      }
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

  // Reads output until `done(output)` holds, EOF, or the deadline. Returns
  // whether `done` held.
  template <class Pred>
  bool read_until(Pred done, std::chrono::milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    while (!done(output_)) {
      if (out_fd_ < 0 || eof_)
        return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0)
        return false;
      pollfd p{out_fd_, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      char buf[4096];
      auto got = ::read(out_fd_, buf, sizeof buf);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        eof_ = true;
        continue;
      }
      output_.append(buf, static_cast<std::size_t>(got));
    }
    return true;
  }

  // Drains the rest of the output until EOF (or the deadline).
  void read_all(std::chrono::milliseconds timeout) {
    read_until([](const std::string&) { return false; }, timeout);
  }

  // Waits for the process to exit; returns whether it did in time. The raw
  // wait status is then in status().
  bool wait_for_exit(std::chrono::milliseconds timeout) {
    if (reaped_)
      return true;
    auto deadline = steady::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        reaped_ = true;
        return true;
      }
      if (r < 0 && errno != EINTR)
        return false;
      if (steady::now() >= deadline)
        return false;
      // Keep the pipe drained so the child never blocks on a full pipe.
      if (out_fd_ >= 0 && !eof_) {
        pollfd p{out_fd_, POLLIN, 0};
        if (::poll(&p, 1, 10) > 0) {
          char buf[4096];
          auto got = ::read(out_fd_, buf, sizeof buf);
          if (got > 0)
            output_.append(buf, static_cast<std::size_t>(got));
          else if (got == 0)
            eof_ = true;
        }
      } else {
        // Output is closed: block until the process exits (its pidfd turns
        // readable) or the deadline passes, instead of polling.
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        if (pidfd >= 0) {
          auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
          pollfd p{pidfd, POLLIN, 0};
          ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
          ::close(pidfd);
        }
      }
    }
  }

  void signal(int sig) {
    if (!reaped_)
      ::kill(pid_, sig);
  }

  bool reaped() const { return reaped_; }
  int status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  int status_ = 0;
  std::string output_;
};

// Runs the binary to completion (for --help and bad options).
struct exit_result {
  bool exited = false;  // exited normally within the deadline
  int code = -1;        // exit status when exited
  std::string output;
};

inline exit_result run_to_exit(std::vector<std::string> args, std::chrono::milliseconds timeout = 10s) {
  args.insert(args.begin(), binary_path());
  child_process p{args};
  p.read_all(timeout);
  exit_result r;
  if (p.wait_for_exit(timeout)) {
    r.exited = WIFEXITED(p.status());
    r.code = r.exited ? WEXITSTATUS(p.status()) : -1;
  }
  p.read_all(1s);
  r.output = p.output();
  return r;
}

// Another mode of the binary that prints "ready port=N" once listening (the
// carrier simulator, say), run with `args` after the binary's path. Stopped
// with SIGTERM, then SIGKILL, on the way out.
// Whether a process's output has its whole "ready port=N" line yet, and N.
inline bool printed_ready(const std::string& out) {
  auto p = out.find("ready port=");
  return p != std::string::npos && out.find('\n', p) != std::string::npos;
}
inline std::uint16_t ready_port(const std::string& out) {
  auto p = out.find("ready port=") + std::strlen("ready port=");
  return static_cast<std::uint16_t>(std::stoi(out.substr(p, out.find('\n', p) - p)));
}

class ready_process {
 public:
  explicit ready_process(std::vector<std::string> args, std::chrono::milliseconds timeout = 15s) {
    args.insert(args.begin(), binary_path());
    proc_.emplace(args);
    if (!proc_->read_until(printed_ready, timeout)) {
      std::string what;
      for (auto& a : args)
        what += (what.empty() ? "" : " ") + a;
      what += " did not become ready; output:\n" + proc_->output();
      proc_.reset();
      throw std::runtime_error(what);
    }
    port_ = ready_port(proc_->output());
  }

  std::uint16_t port() const { return port_; }
  child_process& process() { return *proc_; }

  // SIGTERM and wait; the wait status when the process exited in time.
  std::optional<int> terminate(std::chrono::milliseconds timeout) {
    proc_->signal(SIGTERM);
    if (!proc_->wait_for_exit(timeout))
      return std::nullopt;
    return proc_->status();
  }

 private:
  std::optional<child_process> proc_;
  std::uint16_t port_ = 0;
};

// The switchboard server on a free loopback port with a fresh data directory.
class server_process {
 public:
  // A data directory the test owns: the server uses it and leaves it in place,
  // so a second server can start on what the first one wrote.
  struct existing_dir {
    std::string path;
  };

  server_process(existing_dir dir, std::vector<std::string> extra_args)
      : server_process(std::move(extra_args), std::move(dir.path), true) {}

  explicit server_process(std::vector<std::string> extra_args = {})
      : server_process(std::move(extra_args), make_temp_dir(), false) {}

 private:
  server_process(std::vector<std::string> extra_args, std::string dir, bool keep)
      : data_dir_(std::move(dir)), keep_dir_(keep) {
    std::vector<std::string> args{binary_path(), "--port", "0", "--listen", "127.0.0.1", "--data", data_dir_};
    for (auto& a : extra_args)
      args.push_back(std::move(a));
    try {
      proc_.emplace(args);
      if (!proc_->read_until(printed_ready, 15s))
        throw std::runtime_error("switchboard did not become ready; output:\n" + proc_->output());
    } catch (...) {
      // The destructor will not run: stop the process and drop the directory here.
      proc_.reset();
      std::error_code ec;
      if (!keep_dir_)
        std::filesystem::remove_all(data_dir_, ec);
      throw;
    }
    port_ = ready_port(proc_->output());
    account_sid_ = field("account SID:");
    auth_token_ = field("auth token:");
    std::ifstream in{std::filesystem::path(data_dir_) / "credentials"};
    in >> file_sid_ >> file_token_;
  }

 public:
  ~server_process() {
    proc_.reset();  // SIGTERM, then SIGKILL if need be
    std::error_code ec;
    if (!keep_dir_)
      std::filesystem::remove_all(data_dir_, ec);
  }

  // SIGKILL, as a crash would, and wait for the process to be gone.
  void kill_hard() {
    proc_->signal(SIGKILL);
    proc_->wait_for_exit(10s);
  }

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& account_sid() const { return account_sid_; }
  const std::string& auth_token() const { return auth_token_; }
  const std::string& file_sid() const { return file_sid_; }
  const std::string& file_token() const { return file_token_; }
  const std::string& data_dir() const { return data_dir_; }
  child_process& process() { return *proc_; }

  // SIGTERM and wait; the wait status when the process exited in time.
  std::optional<int> terminate(std::chrono::milliseconds timeout) {
    proc_->signal(SIGTERM);
    if (!proc_->wait_for_exit(timeout))
      return std::nullopt;
    return proc_->status();
  }

 private:
  // The first word after `label` on its line of the banner.
  std::string field(const std::string& label) const {
    auto& out = proc_->output();
    auto p = out.find(label);
    if (p == std::string::npos)
      return {};
    p += label.size();
    while (p < out.size() && out[p] == ' ')
      ++p;
    auto e = p;
    while (e < out.size() && out[e] != ' ' && out[e] != '\n')
      ++e;
    return out.substr(p, e - p);
  }

  std::string data_dir_;
  bool keep_dir_ = false;
  std::optional<child_process> proc_;
  std::uint16_t port_ = 0;
  std::string account_sid_, auth_token_, file_sid_, file_token_;
};

// ----------------------------------------------------------------- HTTP --

inline std::string base64(std::string_view in) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += chars[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

inline std::string basic_auth(const std::string& user, const std::string& pass) {
  return "Basic " + base64(user + ":" + pass);
}

inline std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

inline std::string encode_form(const form& f) {
  std::string out;
  for (auto& [k, v] : f) {
    if (!out.empty())
      out += '&';
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

struct http_result {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = true;

  nlohmann::json json() const {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded())
      throw std::runtime_error("response body is not JSON: " + body);
    return doc;
  }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
};

// One HTTP/1.1 connection to the server, reopened when the server closes it.
// Each exchange writes and reads concurrently (so an early answer such as a
// 413 is read even while the body is still going out) and is bounded by a
// deadline.
class http_connection {
 public:
  explicit http_connection(std::uint16_t port) : port_(port), socket_(ioc_) {}
  ~http_connection() { close(); }

  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
    buffer_.clear();
  }
  bool is_open() const { return socket_.is_open(); }
  int connects() const { return connects_; }
  std::uint16_t local_port() const {
    boost::system::error_code ec;
    auto ep = socket_.local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  http_result send(boost::beast::http::verb method, const std::string& target, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   std::chrono::milliseconds timeout = 10s) {
    namespace http = boost::beast::http;
    if (!socket_.is_open())
      connect();
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    for (auto& [k, v] : headers)
      req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == http::verb::post || method == http::verb::put)
      req.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bool wrote = false, read = false;
    boost::system::error_code wec, rec;
    http::async_write(socket_, req, [&](boost::system::error_code ec, std::size_t) {
      wrote = true;
      wec = ec;
    });
    http::async_read(socket_, buffer_, parser, [&](boost::system::error_code ec, std::size_t) {
      read = true;
      rec = ec;
    });
    ioc_.restart();
    auto deadline = steady::now() + timeout;
    while (!read && steady::now() < deadline)
      ioc_.run_one_for(deadline - steady::now());
    if (read && !wrote)
      ioc_.poll();  // a finished write's handler may still be queued
    if (!read || !wrote) {
      // Abandon whatever is left; the handlers run with operation_aborted.
      close();
      ioc_.restart();
      ioc_.run_for(2s);
    }
    if (!read)
      throw std::runtime_error("no answer within the deadline for " + target);
    if (rec)
      throw std::runtime_error("reading the answer to " + target + " failed: " + rec.message());
    auto& res = parser.get();
    http_result out;
    out.status = res.result_int();
    for (auto& f : res)
      out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    if (!out.keep_alive)
      close();
    return out;
  }

  // Writes raw bytes and reads `count` answers (for pipelining).
  std::vector<http_result> send_raw(const std::string& bytes, std::size_t count,
                                    std::chrono::milliseconds timeout = 10s) {
    namespace http = boost::beast::http;
    if (!socket_.is_open())
      connect();
    boost::asio::write(socket_, boost::asio::buffer(bytes));
    std::vector<http_result> out;
    auto deadline = steady::now() + timeout;
    for (std::size_t i = 0; i < count; ++i) {
      http::response_parser<http::string_body> parser;
      bool read = false;
      boost::system::error_code rec;
      http::async_read(socket_, buffer_, parser, [&](boost::system::error_code ec, std::size_t) {
        read = true;
        rec = ec;
      });
      ioc_.restart();
      while (!read && steady::now() < deadline)
        ioc_.run_one_for(deadline - steady::now());
      if (!read) {
        close();
        ioc_.restart();
        ioc_.run_for(2s);
        throw std::runtime_error("no pipelined answer within the deadline");
      }
      if (rec)
        throw std::runtime_error("reading a pipelined answer failed: " + rec.message());
      http_result r;
      r.status = parser.get().result_int();
      r.body = parser.get().body();
      r.keep_alive = parser.get().keep_alive();
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static std::string lower(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  void connect() {
    buffer_.clear();
    socket_ = boost::asio::ip::tcp::socket(ioc_);
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    ++connects_;
  }

  std::uint16_t port_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  int connects_ = 0;
};

// The TaskRouter API as one account sees it.
class api_client {
 public:
  api_client(std::uint16_t port, std::string sid, std::string token)
      : conn_(port), auth_(basic_auth(sid, token)) {}

  static constexpr const char* public_base = "https://taskrouter.twilio.com";

  http_result get(const std::string& path, const form& query = {}) {
    auto target = query.empty() ? path : path + "?" + encode_form(query);
    return conn_.send(boost::beast::http::verb::get, target, {}, {{"Authorization", auth_}});
  }
  http_result post(const std::string& path, const form& params = {}) {
    return conn_.send(boost::beast::http::verb::post, path, encode_form(params),
                      {{"Authorization", auth_}, {"Content-Type", "application/x-www-form-urlencoded"}});
  }
  http_result del(const std::string& path) {
    return conn_.send(boost::beast::http::verb::delete_, path, {}, {{"Authorization", auth_}});
  }
  // A request with the given headers only (no Authorization added).
  http_result raw(boost::beast::http::verb method, const std::string& target, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
    return conn_.send(method, target, body, headers);
  }
  // Follows an absolute paging URL on this server.
  http_result follow(const std::string& absolute_url) {
    std::string base = public_base;
    if (absolute_url.rfind(base, 0) != 0)
      throw std::runtime_error("not a public URL: " + absolute_url);
    return conn_.send(boost::beast::http::verb::get, absolute_url.substr(base.size()), {},
                      {{"Authorization", auth_}});
  }
  const std::string& authorization() const { return auth_; }
  http_connection& connection() { return conn_; }

 private:
  http_connection conn_;
  std::string auth_;
};

// Polls `f` until it holds or the deadline passes.
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = 5s) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    if (f())
      return true;
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(10ms); // poll interval of a deadline-bounded wait on f
  }
}

} // namespace sbtest
