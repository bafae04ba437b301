#pragma once
// Small text helpers the HTTP layer shares.

#include <cctype>
#include <string_view>

namespace sb::api {

// True when text starts with prefix (given in lower case), ignoring ASCII
// case, as HTTP compares schemes, media types and auth scheme names.
inline bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i])
      return false;
  return true;
}

} // namespace sb::api
