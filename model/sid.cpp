#include "model/sid.hpp"

#include <chrono>
#include <cstdint>
#include <random>

namespace sb::model {

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}() ^
                                   (std::uint64_t(std::random_device{}()) << 32)};
  return gen;
}

void append_hex(std::string& out, std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4)
    out.push_back(digits[(v >> shift) & 0xf]);
}

} // namespace

std::string random_hex32() {
  std::string out;
  out.reserve(32);
  append_hex(out, rng()());
  append_hex(out, rng()());
  return out;
}

std::string make_sid(std::string_view prefix) {
  // Milliseconds since the epoch in the top 48 bits, then 80 random bits:
  // SIDs made later sort later, so the store's SID index grows at its right
  // edge instead of touching a random page per new entity.
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count());
  std::uint64_t high = (ms << 16) | (rng()() & 0xffff);
  std::string out;
  out.reserve(34);
  out.append(prefix);
  append_hex(out, high);
  append_hex(out, rng()());
  return out;
}

bool is_sid(std::string_view text, std::string_view prefix) {
  if (text.size() != prefix.size() + 32 || text.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : text.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  return true;
}

} // namespace sb::model
