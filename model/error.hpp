#pragma once
// The one error type that crosses every layer. api/ alone maps it to an HTTP
// status and Twilio's error body {code, message, more_info, status}.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace sb::model {

// Closed set of failure kinds; each has exactly one HTTP status.
enum class errc : std::uint8_t {
  invalid_parameter,  // 400
  unauthorized,       // 401
  forbidden,          // 403
  not_found,          // 404
  method_not_allowed, // 405
  conflict,           // 409
  precondition_failed,// 412 (If-Match mismatch)
  payload_too_large,  // 413
  rate_limited,       // 429
  internal,           // 500
  unavailable,        // 503
};

// A failure: its kind, Twilio's numeric code (20001, 20404, ...) and a message
// a person can act on.
struct error {
  errc kind = errc::internal;
  int code = 20500;
  std::string message;
};

inline error invalid_parameter(std::string message, int code = 20001) {
  return {errc::invalid_parameter, code, std::move(message)};
}
inline error not_found(std::string message) {
  return {errc::not_found, 20404, std::move(message)};
}
inline error conflict(std::string message, int code = 20409) {
  return {errc::conflict, code, std::move(message)};
}

// HTTP status for an error kind.
int http_status(errc kind);

// Either a value or an error; the small stand-in for C++23 std::expected.
template <class T>
class expected {
 public:
  expected(T value) : v_(std::move(value)) {}
  expected(error err) : v_(std::move(err)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

} // namespace sb::model
