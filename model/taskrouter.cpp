#include "model/taskrouter.hpp"

namespace sb::model {

const char* to_string(task_status s) {
  switch (s) {
    case task_status::pending: return "pending";
    case task_status::reserved: return "reserved";
    case task_status::assigned: return "assigned";
    case task_status::wrapping: return "wrapping";
    case task_status::completed: return "completed";
    case task_status::canceled: return "canceled";
  }
  return "pending";
}

std::optional<task_status> parse_task_status(std::string_view t) {
  for (auto s : {task_status::pending, task_status::reserved, task_status::assigned,
                 task_status::wrapping, task_status::completed, task_status::canceled})
    if (t == to_string(s))
      return s;
  return std::nullopt;
}

const char* to_string(reservation_status s) {
  switch (s) {
    case reservation_status::pending: return "pending";
    case reservation_status::accepted: return "accepted";
    case reservation_status::rejected: return "rejected";
    case reservation_status::timeout: return "timeout";
    case reservation_status::canceled: return "canceled";
    case reservation_status::rescinded: return "rescinded";
    case reservation_status::wrapping: return "wrapping";
    case reservation_status::completed: return "completed";
  }
  return "pending";
}

std::optional<reservation_status> parse_reservation_status(std::string_view t) {
  for (auto s : {reservation_status::pending, reservation_status::accepted,
                 reservation_status::rejected, reservation_status::timeout,
                 reservation_status::canceled, reservation_status::rescinded,
                 reservation_status::wrapping, reservation_status::completed})
    if (t == to_string(s))
      return s;
  return std::nullopt;
}

} // namespace sb::model
