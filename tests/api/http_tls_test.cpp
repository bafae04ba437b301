// The outbound client over TLS against a real TLS receiver on loopback: a
// certificate made for the test, trusted through http_client_config::ca_file;
// an untrusted certificate and a certificate for another name both fail.

#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <catch2/catch.hpp>

#include "api/http_client.hpp"

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A self-signed certificate for `san` (e.g. "IP:127.0.0.1"), made with the
// openssl command in a fresh directory.
struct test_certificate {
  std::filesystem::path dir, cert, key;
  explicit test_certificate(const std::string& san) {
    char tmpl[] = "/tmp/switchboard-tls-XXXXXX";
    dir = ::mkdtemp(tmpl);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=switchboard-test"
               " -addext subjectAltName=" + san + " -keyout " + key.string() + " -out " +
               cert.string() + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  ~test_certificate() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// Answers one TLS connection with 200 and the request's body echoed back.
class tls_receiver {
 public:
  explicit tls_receiver(const test_certificate& c)
      : ctx_(net::ssl::context::tls_server), acceptor_(ioc_, {net::ip::address_v4::loopback(), 0}) {
    ctx_.use_certificate_chain_file(c.cert.string());
    ctx_.use_private_key_file(c.key.string(), net::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve_one(); });
  }
  ~tls_receiver() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable())
      thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  void serve_one() {
    boost::system::error_code ec;
    tcp::socket socket{ioc_};
    acceptor_.accept(socket, ec);
    if (ec)
      return;
    boost::beast::ssl_stream<tcp::socket> stream{std::move(socket), ctx_};
    stream.handshake(net::ssl::stream_base::server, ec);
    if (ec)
      return; // the client refused the certificate
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(stream, buffer, req, ec);
    if (ec)
      return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = "tls:" + req.body();
    res.prepare_payload();
    http::write(stream, res, ec);
    stream.shutdown(ec);
  }

  net::io_context ioc_;
  net::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

sb::api::http_client_response post(sb::api::http_client& client, const std::string& url) {
  std::promise<sb::api::http_client_response> p;
  auto f = p.get_future();
  sb::api::http_client_request req;
  req.url = url;
  req.body = "a=1";
  req.timeout = 5000ms;
  client.send(req, [&p](sb::api::http_client_response r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

} // namespace

TEST_CASE("http_client posts over TLS to a receiver whose CA it trusts", "[api][tls]") {
  test_certificate cert{"IP:127.0.0.1"};
  tls_receiver rx{cert};
  sb::api::http_client_config cfg;
  cfg.ca_file = cert.cert.string();
  sb::api::http_client client{cfg};
  auto r = post(client, "https://127.0.0.1:" + std::to_string(rx.port()) + "/hook");
  INFO(r.error);
  CHECK(r.error.empty());
  CHECK(r.status == 200);
  CHECK(r.body == "tls:a=1");
}

TEST_CASE("http_client refuses a certificate it does not trust", "[api][tls]") {
  test_certificate cert{"IP:127.0.0.1"};
  tls_receiver rx{cert};
  sb::api::http_client client; // system CAs only
  auto r = post(client, "https://127.0.0.1:" + std::to_string(rx.port()) + "/hook");
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::StartsWith("tls handshake"));
}

TEST_CASE("http_client refuses a trusted certificate made out for another name", "[api][tls]") {
  test_certificate cert{"DNS:elsewhere.example"};
  tls_receiver rx{cert};
  sb::api::http_client_config cfg;
  cfg.ca_file = cert.cert.string();
  sb::api::http_client client{cfg};
  auto r = post(client, "https://127.0.0.1:" + std::to_string(rx.port()) + "/hook");
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::StartsWith("tls handshake"));
}

TEST_CASE("http_client refuses a CA file it cannot load", "[api][tls]") {
  sb::api::http_client_config cfg;
  cfg.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_WITH(sb::api::http_client{cfg}, Catch::Contains("cannot load CA file"));
}
