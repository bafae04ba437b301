#include "model/error.hpp"

namespace sb::model {

int http_status(errc kind) {
  switch (kind) {
    case errc::invalid_parameter: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::method_not_allowed: return 405;
    case errc::conflict: return 409;
    case errc::precondition_failed: return 412;
    case errc::payload_too_large: return 413;
    case errc::rate_limited: return 429;
    case errc::internal: return 500;
    case errc::unavailable: return 503;
  }
  return 500;
}

} // namespace sb::model
