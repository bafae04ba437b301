#pragma once
// A minimal HTTP receiver on loopback for outbound webhook tests: records
// every request (target, X-Twilio-Signature, form parameters) and answers
// with whatever the test's function returns for it.

#include <atomic>
#include <utility>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "model/form.hpp"

namespace sbtest {

using namespace std::chrono_literals;

struct received {
  std::string target;
  std::string signature;
  sb::model::form params;
};

// A minimal HTTP receiver on loopback: records every request and answers with
// whatever `answer` returns for it. A connection whose answer is empty is held
// open without a response (a receiver that hangs).
class receiver {
  using tcp = boost::asio::ip::tcp;

 public:
  using answer_fn = std::function<std::pair<unsigned, std::string>(const received&)>;

  explicit receiver(answer_fn answer) : answer_(std::move(answer)), acceptor_(ioc_, {tcp::v4(), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~receiver() {
    stopping_ = true;
    boost::system::error_code ec;
    {
      // A blocked accept() is not woken by close(): connect once to wake it.
      boost::asio::io_context wake_ioc;
      tcp::socket wake{wake_ioc};
      wake.connect({boost::asio::ip::address_v4::loopback(), port_}, ec);
    }
    accept_thread_.join();
    acceptor_.close(ec);
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (auto& s : sockets_)
        s->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& t : workers_)
      t.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Waits until pred holds over the requests seen so far, or the deadline.
  bool wait_for(const std::function<bool(const std::vector<received>&)>& pred,
                std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, timeout, [&] { return pred(seen_); });
  }

  std::vector<received> seen() {
    std::lock_guard<std::mutex> guard{mutex_};
    return seen_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_)
        return;
      std::lock_guard<std::mutex> guard{mutex_};
      sockets_.push_back(socket);
      workers_.emplace_back([this, socket] { serve(socket); });
    }
  }

  void serve(std::shared_ptr<tcp::socket> socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      boost::beast::http::request<boost::beast::http::string_body> req;
      boost::system::error_code ec;
      boost::beast::http::read(*socket, buffer, req, ec);
      if (ec)
        return;
      received r;
      r.target = std::string(req.target());
      r.signature = std::string(req["X-Twilio-Signature"]);
      auto parsed = sb::model::form::parse(req.body());
      if (parsed)
        r.params = *parsed;
      auto [status, body] = answer_(r);
      {
        std::lock_guard<std::mutex> guard{mutex_};
        seen_.push_back(r);
      }
      cv_.notify_all();
      if (status == 0)
        return; // hang: keep the connection open, answer nothing
      boost::beast::http::response<boost::beast::http::string_body> res{static_cast<boost::beast::http::status>(status), 11};
      res.set(boost::beast::http::field::content_type, "application/json");
      res.body() = body;
      res.prepare_payload();
      boost::beast::http::write(*socket, res, ec);
      if (ec)
        return;
    }
  }

  answer_fn answer_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> workers_;
  std::vector<received> seen_;
};

inline std::string param(const received& r, const std::string& name) {
  return r.params.get(name).value_or("");
}


} // namespace sbtest
