#include "model/studio_template.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>

#include "model/json_text.hpp"

namespace sb::model {

using json = nlohmann::json;

namespace {

// if / unless blocks nested deeper than this are rejected so that parsing and
// rendering recursion stay shallow.
constexpr int max_block_depth = 64;
// Tag text quoted in error messages is cut to this many bytes.
constexpr std::size_t max_quoted = 60;

enum class filter_id : std::uint8_t {
  upcase, downcase, capitalize, strip, lstrip, rstrip, default_, size, append, prepend,
  replace, remove, truncate, split, first, last, join, url_encode, escape, plus, minus,
  times, divided_by, date, to_json,
};

struct filter_spec {
  std::string_view name;
  filter_id id;
  std::size_t min_args;
  std::size_t max_args;
};

constexpr filter_spec filter_table[] = {
  {"upcase", filter_id::upcase, 0, 0},         {"downcase", filter_id::downcase, 0, 0},
  {"capitalize", filter_id::capitalize, 0, 0}, {"strip", filter_id::strip, 0, 0},
  {"lstrip", filter_id::lstrip, 0, 0},         {"rstrip", filter_id::rstrip, 0, 0},
  {"default", filter_id::default_, 1, 1},      {"size", filter_id::size, 0, 0},
  {"append", filter_id::append, 1, 1},         {"prepend", filter_id::prepend, 1, 1},
  {"replace", filter_id::replace, 1, 2},       {"remove", filter_id::remove, 1, 1},
  {"truncate", filter_id::truncate, 0, 2},     {"split", filter_id::split, 1, 1},
  {"first", filter_id::first, 0, 0},           {"last", filter_id::last, 0, 0},
  {"join", filter_id::join, 0, 1},             {"url_encode", filter_id::url_encode, 0, 0},
  {"escape", filter_id::escape, 0, 0},         {"plus", filter_id::plus, 1, 1},
  {"minus", filter_id::minus, 1, 1},           {"times", filter_id::times, 1, 1},
  {"divided_by", filter_id::divided_by, 1, 1}, {"date", filter_id::date, 1, 1},
  {"to_json", filter_id::to_json, 0, 0},
};

struct segment {
  std::string key;
  long long index = 0;
  bool by_index = false;
};

enum class operand_kind : std::uint8_t { literal, path, empty, blank };

struct operand {
  operand_kind kind = operand_kind::literal;
  json literal;
  std::vector<segment> path;
};

struct filter_call {
  filter_id id = filter_id::upcase;
  std::vector<operand> args;
};

struct output_expr {
  operand value;
  std::vector<filter_call> filters;
};

enum class cmp : std::uint8_t { truthy, eq, ne, lt, gt, le, ge, contains };

struct comparison {
  cmp op = cmp::truthy;
  operand lhs;
  operand rhs;
};

// terms joined by joins[i] between terms[i] and terms[i + 1]; evaluated from
// the right, as Liquid does.
struct condition {
  std::vector<comparison> terms;
  std::vector<bool> joins_and;
  bool negate = false;
};

struct node;

struct branch {
  bool has_condition = false;  // false: the else branch
  condition cond;
  std::vector<node> body;
};

enum class node_kind : std::uint8_t { text, output, block };

struct node {
  node_kind kind = node_kind::text;
  std::string text;
  output_expr out;
  std::vector<branch> branches;
};

} // namespace

struct template_text::program {
  std::vector<node> nodes;
};

namespace {


bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string quoted(std::string_view s) {
  if (s.size() > max_quoted)
    return "\"" + std::string(s.substr(0, max_quoted)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Code points in s (UTF-8; a stray byte counts as one).
std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += is_continuation(c) ? 0 : 1;
  return n;
}

// The bytes of the first n code points of s.
std::string_view first_code_points(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if (!is_continuation(static_cast<unsigned char>(s[i]))) {
      if (n == 0)
        break;
      --n;
    }
  }
  return s.substr(0, i);
}

// A value as output writes it.
std::string to_text(const json& v) {
  if (v.is_null())
    return {};
  if (v.is_string())
    return v.get<std::string>();
  return json_text(v);
}

void append_text(std::string& out, const json& v) {
  if (v.is_string())
    out += v.get_ref<const std::string&>();
  else if (!v.is_null())
    append_json_text(out, v);
}

bool truthy(const json& v) { return !(v.is_null() || (v.is_boolean() && !v.get<bool>())); }

bool is_empty_value(const json& v) {
  return (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         ((v.is_array() || v.is_object()) && v.empty());
}

bool is_blank_value(const json& v) {
  if (v.is_null() || (v.is_boolean() && !v.get<bool>()))
    return true;
  if (v.is_string())
    return trim_left(v.get_ref<const std::string&>()).empty();
  return is_empty_value(v);
}

// Liquid's number coercion: numbers as they are; a string's leading
// "-123" or "-1.5"; anything else 0.
json to_number(const json& v) {
  if (v.is_number())
    return v;
  if (!v.is_string())
    return 0;
  std::string_view s = trim_left(v.get_ref<const std::string&>());
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-')
    ++i;
  std::size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9')
    ++i;
  if (i == digits)
    return 0;
  std::size_t int_end = i;
  if (i + 1 < s.size() && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    double d = 0;
    std::from_chars(s.data(), s.data() + i, d);
    return d;
  }
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + int_end, n);
  if (ec == std::errc::result_out_of_range) {
    double d = 0;
    std::from_chars(s.data(), s.data() + int_end, d);
    return d;
  }
  return n;
}

bool is_integral(const json& n) { return n.is_number_integer(); }

// A number as a whole count, clamped to what a long long holds.
long long to_count(const json& v) {
  json n = to_number(v);
  if (n.is_number_integer())
    return n.get<long long>();
  double d = n.get<double>();
  if (std::isnan(d))
    return 0;
  return static_cast<long long>(std::clamp(d, -9.0e18, 9.0e18));
}


struct moment {
  std::int64_t epoch_s = 0;   // UTC seconds
  int millis = 0;
  int offset_min = 0;         // the local offset the text was written in
};

std::optional<int> read_digits(std::string_view s, std::size_t& i, std::size_t n) {
  if (i + n > s.size())
    return std::nullopt;
  int v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  i += n;
  return v;
}

// "YYYY-MM-DD", optionally followed by "T" or " " and "HH:MM[:SS[.fff]]",
// optionally followed by "Z", "UTC" or an offset "+HH:MM" / "+HHMM".
std::optional<moment> parse_moment(std::string_view s) {
  using namespace std::chrono;
  s = trim_right(trim_left(s));
  std::size_t i = 0;
  auto y = read_digits(s, i, 4);
  if (!y || i >= s.size() || s[i++] != '-')
    return std::nullopt;
  auto mo = read_digits(s, i, 2);
  if (!mo || i >= s.size() || s[i++] != '-')
    return std::nullopt;
  auto d = read_digits(s, i, 2);
  if (!d)
    return std::nullopt;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok())
    return std::nullopt;
  int hh = 0, mm = 0, ss = 0, ms = 0, offset = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    ++i;
    auto h = read_digits(s, i, 2);
    if (!h || i >= s.size() || s[i++] != ':')
      return std::nullopt;
    auto m = read_digits(s, i, 2);
    if (!m)
      return std::nullopt;
    hh = *h;
    mm = *m;
    if (i < s.size() && s[i] == ':') {
      ++i;
      auto sec = read_digits(s, i, 2);
      if (!sec)
        return std::nullopt;
      ss = *sec;
      if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t start = i;
        int scale = 100;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          ms += (s[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == start)
          return std::nullopt;
      }
    }
    if (hh > 23 || mm > 59 || ss > 60)
      return std::nullopt;
    if (i < s.size() && s[i] == ' ')
      ++i;
    std::string_view zone = s.substr(i);
    if (zone == "Z" || zone == "z" || zone == "UTC") {
      i = s.size();
    } else if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
      int sign = zone[0] == '-' ? -1 : 1;
      ++i;
      auto oh = read_digits(s, i, 2);
      if (!oh)
        return std::nullopt;
      if (i < s.size() && s[i] == ':')
        ++i;
      auto om = read_digits(s, i, 2);
      if (!om || *oh > 23 || *om > 59)
        return std::nullopt;
      offset = sign * (*oh * 60 + *om);
    }
  }
  if (i != s.size())
    return std::nullopt;
  auto local = sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
  moment out;
  out.epoch_s = local.time_since_epoch().count() - std::int64_t(offset) * 60;
  out.millis = ms;
  out.offset_min = offset;
  return out;
}

moment moment_of(time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  moment m;
  m.epoch_s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  m.millis = static_cast<int>(ms - m.epoch_s * 1000);
  return m;
}

// A date filter input: "now" / "today", epoch seconds, or ISO-8601 text.
std::optional<moment> to_moment(const json& v, time_point now) {
  if (v.is_number()) {
    double s = v.get<double>();
    if (!std::isfinite(s) || std::fabs(s) > 1e13)
      return std::nullopt;
    moment m;
    m.epoch_s = static_cast<std::int64_t>(std::floor(s));
    m.millis = static_cast<int>((s - std::floor(s)) * 1000);
    return m;
  }
  if (!v.is_string())
    return std::nullopt;
  std::string_view s = trim_right(trim_left(v.get_ref<const std::string&>()));
  if (s == "now" || s == "today")
    return moment_of(now);
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || n > 100000000000LL)
      return std::nullopt;
    moment m;
    m.epoch_s = n;
    return m;
  }
  return parse_moment(s);
}

constexpr const char* month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};
constexpr const char* day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

void pad(std::string& out, long long v, int width, char fill) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0)
    out += '-';
  for (int k = static_cast<int>(digits.size()); k < width; ++k)
    out += fill;
  out += digits;
}

// Ruby's strftime for the conversions Studio flows use; an unknown
// conversion is written as it is.
std::string format_moment(const moment& m, std::string_view fmt) {
  using namespace std::chrono;
  std::int64_t local = m.epoch_s + std::int64_t(m.offset_min) * 60;
  std::int64_t day_count = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  std::int64_t secs = local - day_count * 86400;
  sys_days sd{std::chrono::days{day_count}};
  year_month_day ymd{sd};
  weekday wd{sd};
  int y = static_cast<int>(ymd.year());
  unsigned mo = static_cast<unsigned>(ymd.month());
  unsigned d = static_cast<unsigned>(ymd.day());
  int h = static_cast<int>(secs / 3600), mi = static_cast<int>(secs / 60 % 60), s = static_cast<int>(secs % 60);
  int h12 = h % 12 == 0 ? 12 : h % 12;
  auto yday = (sd - sys_days{year_month_day{ymd.year(), January, std::chrono::day{1}}}).count() + 1;
  std::string out;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out += fmt[i];
      continue;
    }
    char c = fmt[++i];
    switch (c) {
      case 'Y': pad(out, y, 4, '0'); break;
      case 'y': pad(out, ((y % 100) + 100) % 100, 2, '0'); break;
      case 'C': pad(out, y / 100, 2, '0'); break;
      case 'm': pad(out, mo, 2, '0'); break;
      case 'd': pad(out, d, 2, '0'); break;
      case 'e': pad(out, d, 2, ' '); break;
      case 'j': pad(out, yday, 3, '0'); break;
      case 'H': pad(out, h, 2, '0'); break;
      case 'k': pad(out, h, 2, ' '); break;
      case 'I': pad(out, h12, 2, '0'); break;
      case 'l': pad(out, h12, 2, ' '); break;
      case 'M': pad(out, mi, 2, '0'); break;
      case 'S': pad(out, s, 2, '0'); break;
      case 'L': pad(out, m.millis, 3, '0'); break;
      case 'p': out += h < 12 ? "AM" : "PM"; break;
      case 'P': out += h < 12 ? "am" : "pm"; break;
      case 'B': out += month_names[mo - 1]; break;
      case 'b': case 'h': out += std::string_view(month_names[mo - 1]).substr(0, 3); break;
      case 'A': out += day_names[wd.c_encoding()]; break;
      case 'a': out += std::string_view(day_names[wd.c_encoding()]).substr(0, 3); break;
      case 'u': pad(out, wd.iso_encoding(), 1, '0'); break;
      case 'w': pad(out, wd.c_encoding(), 1, '0'); break;
      case 's': pad(out, m.epoch_s, 1, '0'); break;
      case 'z':
      case 'Z': {
        if (c == 'Z' && m.offset_min == 0) {
          out += "UTC";
          break;
        }
        int off = m.offset_min;
        out += off < 0 ? '-' : '+';
        pad(out, std::abs(off) / 60, 2, '0');
        if (c == 'Z')
          out += ':';
        pad(out, std::abs(off) % 60, 2, '0');
        break;
      }
      case 'F': out += format_moment(m, "%Y-%m-%d"); break;
      case 'T': out += format_moment(m, "%H:%M:%S"); break;
      case 'D': out += format_moment(m, "%m/%d/%y"); break;
      case 'R': out += format_moment(m, "%H:%M"); break;
      case '%': out += '%'; break;
      default:
        out += '%';
        out += c;
    }
  }
  return out;
}


std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty())
    return s;
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

// Ruby's String#split: " " splits on runs of whitespace ignoring leading
// whitespace, "" splits into characters, trailing empty fields are dropped.
json split_text(std::string_view s, std::string_view sep) {
  json out = json::array();
  if (sep == " ") {
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_space(s[i]))
        ++i;
      std::size_t start = i;
      while (i < s.size() && !is_space(s[i]))
        ++i;
      if (i > start)
        out.push_back(std::string(s.substr(start, i - start)));
    }
    return out;
  }
  if (sep.empty()) {
    for (std::size_t i = 0; i < s.size();) {
      std::size_t j = i + 1;
      while (j < s.size() && is_continuation(static_cast<unsigned char>(s[j])))
        ++j;
      out.push_back(std::string(s.substr(i, j - i)));
      i = j;
    }
    return out;
  }
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(sep, pos)) != std::string_view::npos; pos = hit + sep.size())
    out.push_back(std::string(s.substr(pos, hit - pos)));
  out.push_back(std::string(s.substr(pos)));
  while (!out.empty() && out.back().get_ref<const std::string&>().empty())
    out.erase(out.size() - 1);
  return out;
}

// Ruby's CGI.escape: unreserved bytes as they are, space as '+'.
std::string url_encode_liquid(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

json arithmetic(filter_id id, const json& lhs, const json& rhs) {
  json a = to_number(lhs), b = to_number(rhs);
  if (is_integral(a) && is_integral(b)) {
    long long x = a.get<long long>(), y = b.get<long long>(), r = 0;
    switch (id) {
      case filter_id::plus:
        if (!__builtin_add_overflow(x, y, &r))
          return r;
        break;
      case filter_id::minus:
        if (!__builtin_sub_overflow(x, y, &r))
          return r;
        break;
      case filter_id::times:
        if (!__builtin_mul_overflow(x, y, &r))
          return r;
        break;
      default:
        if (y == 0)
          return nullptr;
        if (x == std::numeric_limits<long long>::min() && y == -1)
          break;
        r = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0)))
          --r;  // Ruby's integer division floors
        return r;
    }
  }
  double x = a.get<double>(), y = b.get<double>();
  switch (id) {
    case filter_id::plus: return x + y;
    case filter_id::minus: return x - y;
    case filter_id::times: return x * y;
    default:
      if (y == 0)
        return nullptr;
      return x / y;
  }
}

json apply_filter(filter_id id, const json& in, const std::vector<json>& args, time_point now) {
  auto arg_text = [&](std::size_t i, std::string fallback = {}) {
    return i < args.size() ? to_text(args[i]) : fallback;
  };
  switch (id) {
    case filter_id::upcase: {
      std::string s = to_text(in);
      std::transform(s.begin(), s.end(), s.begin(), ascii_upper);
      return s;
    }
    case filter_id::downcase: {
      std::string s = to_text(in);
      std::transform(s.begin(), s.end(), s.begin(), ascii_lower);
      return s;
    }
    case filter_id::capitalize: {
      std::string s = to_text(in);
      std::transform(s.begin(), s.end(), s.begin(), ascii_lower);
      if (!s.empty())
        s[0] = ascii_upper(s[0]);
      return s;
    }
    case filter_id::strip: return std::string(trim_right(trim_left(to_text(in))));
    case filter_id::lstrip: return std::string(trim_left(to_text(in)));
    case filter_id::rstrip: return std::string(trim_right(to_text(in)));
    case filter_id::default_:
      return (!truthy(in) || is_empty_value(in)) ? args[0] : in;
    case filter_id::size:
      if (in.is_string())
        return code_points(in.get_ref<const std::string&>());
      if (in.is_array() || in.is_object())
        return in.size();
      return 0;
    case filter_id::append: return to_text(in) + arg_text(0);
    case filter_id::prepend: return arg_text(0) + to_text(in);
    case filter_id::replace: return replace_all(to_text(in), arg_text(0), arg_text(1));
    case filter_id::remove: return replace_all(to_text(in), arg_text(0), "");
    case filter_id::truncate: {
      if (in.is_null())
        return nullptr;
      std::string s = to_text(in);
      long long length = args.empty() ? 50 : to_count(args[0]);
      std::string ellipsis = arg_text(1, "...");
      if (length < 0 || code_points(s) <= static_cast<std::size_t>(length))
        return s;
      long long keep = std::max(0LL, length - static_cast<long long>(code_points(ellipsis)));
      return std::string(first_code_points(s, static_cast<std::size_t>(keep))) + ellipsis;
    }
    case filter_id::split: return split_text(to_text(in), arg_text(0));
    case filter_id::first:
      return in.is_array() && !in.empty() ? in.front() : json();
    case filter_id::last:
      return in.is_array() && !in.empty() ? in.back() : json();
    case filter_id::join: {
      if (!in.is_array())
        return to_text(in);
      std::string sep = arg_text(0, " "), out;
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (i)
          out += sep;
        append_text(out, in[i]);
      }
      return out;
    }
    case filter_id::url_encode:
      return in.is_null() ? json() : json(url_encode_liquid(to_text(in)));
    case filter_id::escape:
      return in.is_null() ? json() : json(html_escape(to_text(in)));
    case filter_id::plus:
    case filter_id::minus:
    case filter_id::times:
    case filter_id::divided_by:
      return arithmetic(id, in, args[0]);
    case filter_id::date: {
      std::string fmt = arg_text(0);
      if (fmt.empty())
        return in;
      auto m = to_moment(in, now);
      if (!m)
        return in;
      return format_moment(*m, fmt);
    }
    case filter_id::to_json: return json_text(in);
  }
  return in;
}


const json* child(const json* v, const segment& seg, json& scratch) {
  if (!v)
    return nullptr;
  if (seg.by_index) {
    if (!v->is_array())
      return nullptr;
    long long n = static_cast<long long>(v->size());
    long long i = seg.index < 0 ? n + seg.index : seg.index;
    return (i >= 0 && i < n) ? &(*v)[static_cast<std::size_t>(i)] : nullptr;
  }
  if (v->is_object()) {
    auto it = v->find(seg.key);
    if (it != v->end())
      return &*it;
  }
  // Liquid's properties of lists and strings.
  if (seg.key == "size" && (v->is_array() || v->is_object() || v->is_string())) {
    scratch = v->is_string() ? code_points(v->get_ref<const std::string&>()) : v->size();
    return &scratch;
  }
  if (v->is_array() && !v->empty()) {
    if (seg.key == "first")
      return &v->front();
    if (seg.key == "last")
      return &v->back();
  }
  return nullptr;
}

json evaluate(const operand& o, const json& context) {
  switch (o.kind) {
    case operand_kind::literal: return o.literal;
    case operand_kind::empty:
    case operand_kind::blank: return "";
    case operand_kind::path: break;
  }
  const json* v = &context;
  json scratch;
  for (const auto& seg : o.path) {
    json next_scratch;
    v = child(v, seg, next_scratch);
    if (!v)
      return nullptr;
    if (v == &next_scratch) {
      scratch = std::move(next_scratch);
      v = &scratch;
    }
  }
  return *v;
}

json evaluate(const output_expr& e, const json& context, time_point now) {
  json v = evaluate(e.value, context);
  std::vector<json> args;
  for (const auto& f : e.filters) {
    args.clear();
    for (const auto& a : f.args)
      args.push_back(evaluate(a, context));
    v = apply_filter(f.id, v, args, now);
  }
  return v;
}

bool equal(const operand& lo, const json& l, const operand& ro, const json& r) {
  if (ro.kind == operand_kind::empty)
    return is_empty_value(l);
  if (ro.kind == operand_kind::blank)
    return is_blank_value(l);
  if (lo.kind == operand_kind::empty)
    return is_empty_value(r);
  if (lo.kind == operand_kind::blank)
    return is_blank_value(r);
  return l == r;
}

bool holds(const comparison& c, const json& context) {
  json l = evaluate(c.lhs, context);
  if (c.op == cmp::truthy)
    return truthy(l);
  json r = evaluate(c.rhs, context);
  switch (c.op) {
    case cmp::eq: return equal(c.lhs, l, c.rhs, r);
    case cmp::ne: return !equal(c.lhs, l, c.rhs, r);
    case cmp::contains:
      if (l.is_string()) {
        if (r.is_null())
          return false;
        return l.get_ref<const std::string&>().find(to_text(r)) != std::string::npos;
      }
      if (l.is_array())
        return std::find(l.begin(), l.end(), r) != l.end();
      if (l.is_object() && r.is_string())
        return l.contains(r.get_ref<const std::string&>());
      return false;
    default: break;
  }
  int order = 0;
  if (l.is_number() && r.is_number()) {
    if (l < r)
      order = -1;
    else if (r < l)
      order = 1;
  } else if (l.is_string() && r.is_string()) {
    order = l.get_ref<const std::string&>().compare(r.get_ref<const std::string&>());
  } else {
    return false;
  }
  switch (c.op) {
    case cmp::lt: return order < 0;
    case cmp::gt: return order > 0;
    case cmp::le: return order <= 0;
    case cmp::ge: return order >= 0;
    default: return false;
  }
}

bool holds(const condition& c, const json& context) {
  bool acc = holds(c.terms.back(), context);
  for (std::size_t i = c.terms.size() - 1; i-- > 0;) {
    if (c.joins_and[i])
      acc = acc && holds(c.terms[i], context);
    else
      acc = acc || holds(c.terms[i], context);
  }
  return c.negate ? !acc : acc;
}

void render_nodes(const std::vector<node>& nodes, const json& context, time_point now, std::string& out) {
  for (const auto& n : nodes) {
    switch (n.kind) {
      case node_kind::text: out += n.text; break;
      case node_kind::output: append_text(out, evaluate(n.out, context, now)); break;
      case node_kind::block:
        for (const auto& b : n.branches) {
          if (!b.has_condition || holds(b.cond, context)) {
            render_nodes(b.body, context, now, out);
            break;
          }
        }
        break;
    }
  }
}


enum class tok : std::uint8_t { end, ident, string, number, dot, lbracket, rbracket, pipe, colon, comma, compare };

struct token {
  tok kind = tok::end;
  std::string_view raw;
  json value;  // string and number literals
};

expected<std::vector<token>> tokenize(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  auto is_ident_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto is_ident = [&](char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-'; };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  while (true) {
    while (i < s.size() && is_space(s[i]))
      ++i;
    if (i == s.size())
      break;
    char c = s[i];
    std::size_t start = i;
    token t;
    if (is_ident_start(c)) {
      while (i < s.size() && is_ident(s[i]))
        ++i;
      if (i < s.size() && s[i] == '?')
        ++i;
      t.kind = tok::ident;
    } else if (c == '"' || c == '\'') {
      std::size_t close = s.find(c, i + 1);
      if (close == std::string_view::npos)
        return invalid_parameter("unterminated string " + quoted(s.substr(i)));
      t.kind = tok::string;
      t.value = std::string(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      ++i;
      while (i < s.size() && is_digit(s[i]))
        ++i;
      bool fractional = i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1]);
      if (fractional) {
        ++i;
        while (i < s.size() && is_digit(s[i]))
          ++i;
      }
      t.kind = tok::number;
      std::string_view text = s.substr(start, i - start);
      if (fractional) {
        double d = 0;
        std::from_chars(text.data(), text.data() + text.size(), d);
        t.value = d;
      } else {
        long long n = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{})
          return invalid_parameter("number " + quoted(text) + " is out of range");
        t.value = n;
      }
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      ++i;
      if (i < s.size() && (s[i] == '=' || (c == '<' && s[i] == '>')))
        ++i;
      t.kind = tok::compare;
      std::string_view op = s.substr(start, i - start);
      if (op == "=" || op == "!")
        return invalid_parameter("unexpected " + quoted(op) + " in " + quoted(s));
    } else {
      ++i;
      switch (c) {
        case '.': t.kind = tok::dot; break;
        case '[': t.kind = tok::lbracket; break;
        case ']': t.kind = tok::rbracket; break;
        case '|': t.kind = tok::pipe; break;
        case ':': t.kind = tok::colon; break;
        case ',': t.kind = tok::comma; break;
        default: return invalid_parameter("unexpected character " + quoted(s.substr(start, 1)) + " in " + quoted(s));
      }
    }
    t.raw = s.substr(start, i - start);
    out.push_back(std::move(t));
  }
  out.push_back(token{tok::end, s.substr(s.size()), {}});
  return out;
}

class tag_parser {
 public:
  tag_parser(std::string_view text, std::vector<token> tokens) : text_(text), toks_(std::move(tokens)) {}

  expected<output_expr> output() {
    output_expr e;
    auto v = value();
    if (!v)
      return v.err();
    e.value = std::move(*v);
    while (peek().kind == tok::pipe) {
      ++pos_;
      auto f = filter();
      if (!f)
        return f.err();
      e.filters.push_back(std::move(*f));
    }
    if (peek().kind != tok::end)
      return unexpected();
    return e;
  }

  expected<condition> cond(std::string_view tag) {
    if (peek().kind == tok::end)
      return invalid_parameter("tag \"" + std::string(tag) + "\" needs a condition");
    condition c;
    while (true) {
      auto t = term();
      if (!t)
        return t.err();
      c.terms.push_back(std::move(*t));
      const token& j = peek();
      if (j.kind == tok::end)
        break;
      if (j.kind == tok::ident && (j.raw == "and" || j.raw == "or")) {
        c.joins_and.push_back(j.raw == "and");
        ++pos_;
        continue;
      }
      return unexpected();
    }
    return c;
  }

 private:
  const token& peek() const { return toks_[pos_]; }

  error unexpected() const {
    const token& t = peek();
    if (t.kind == tok::end)
      return invalid_parameter("unexpected end of " + quoted(text_));
    return invalid_parameter("unexpected " + quoted(t.raw) + " in " + quoted(text_));
  }

  expected<comparison> term() {
    comparison c;
    auto l = value();
    if (!l)
      return l.err();
    c.lhs = std::move(*l);
    const token& t = peek();
    if (t.kind == tok::compare || (t.kind == tok::ident && t.raw == "contains")) {
      if (t.raw == "==") c.op = cmp::eq;
      else if (t.raw == "!=" || t.raw == "<>") c.op = cmp::ne;
      else if (t.raw == "<") c.op = cmp::lt;
      else if (t.raw == ">") c.op = cmp::gt;
      else if (t.raw == "<=") c.op = cmp::le;
      else if (t.raw == ">=") c.op = cmp::ge;
      else c.op = cmp::contains;
      ++pos_;
      auto r = value();
      if (!r)
        return r.err();
      c.rhs = std::move(*r);
    }
    return c;
  }

  expected<filter_call> filter() {
    const token& name = peek();
    if (name.kind != tok::ident)
      return name.kind == tok::end ? invalid_parameter("a filter name is missing after \"|\" in " + quoted(text_))
                                   : unexpected();
    const filter_spec* spec = nullptr;
    for (const auto& f : filter_table)
      if (f.name == name.raw)
        spec = &f;
    if (!spec)
      return invalid_parameter("unknown filter \"" + std::string(name.raw) + "\"");
    ++pos_;
    filter_call call;
    call.id = spec->id;
    if (peek().kind == tok::colon) {
      ++pos_;
      while (true) {
        auto a = value();
        if (!a)
          return a.err();
        call.args.push_back(std::move(*a));
        if (peek().kind != tok::comma)
          break;
        ++pos_;
      }
    }
    if (call.args.size() < spec->min_args || call.args.size() > spec->max_args) {
      std::string n = spec->min_args == spec->max_args
                        ? std::to_string(spec->min_args)
                        : std::to_string(spec->min_args) + " to " + std::to_string(spec->max_args);
      return invalid_parameter("filter \"" + std::string(spec->name) + "\" takes " + n + " argument" +
                               (spec->max_args == 1 && spec->min_args == 1 ? "" : "s") + ", got " +
                               std::to_string(call.args.size()));
    }
    return call;
  }

  expected<operand> value() {
    const token& t = peek();
    operand o;
    if (t.kind == tok::string || t.kind == tok::number) {
      o.literal = t.value;
      ++pos_;
      return o;
    }
    if (t.kind != tok::ident)
      return t.kind == tok::end ? invalid_parameter("a value is missing in " + quoted(text_)) : unexpected();
    std::size_t start = pos_;
    ++pos_;
    bool bare = peek().kind != tok::dot && peek().kind != tok::lbracket;
    if (bare) {
      if (t.raw == "true" || t.raw == "false") {
        o.literal = t.raw == "true";
        return o;
      }
      if (t.raw == "nil" || t.raw == "null")
        return o;
      if (t.raw == "empty") {
        o.kind = operand_kind::empty;
        return o;
      }
      if (t.raw == "blank") {
        o.kind = operand_kind::blank;
        return o;
      }
    }
    o.kind = operand_kind::path;
    o.path.push_back(segment{std::string(t.raw), 0, false});
    while (true) {
      if (peek().kind == tok::dot) {
        ++pos_;
        if (peek().kind != tok::ident)
          return unexpected();
        o.path.push_back(segment{std::string(peek().raw), 0, false});
        ++pos_;
      } else if (peek().kind == tok::lbracket) {
        ++pos_;
        const token& k = peek();
        if (k.kind == tok::string)
          o.path.push_back(segment{k.value.get<std::string>(), 0, false});
        else if (k.kind == tok::number && k.value.is_number_integer())
          o.path.push_back(segment{{}, k.value.get<long long>(), true});
        else
          return invalid_parameter("an index must be a quoted key or an integer in " + quoted(text_));
        ++pos_;
        if (peek().kind != tok::rbracket)
          return unexpected();
        ++pos_;
      } else {
        break;
      }
    }
    const auto& root = o.path.front().key;
    if (std::find(std::begin(studio_template_roots), std::end(studio_template_roots), root) ==
        std::end(studio_template_roots)) {
      std::string name(toks_[start].raw.data(),
                       static_cast<std::size_t>(toks_[pos_ - 1].raw.data() + toks_[pos_ - 1].raw.size() -
                                                toks_[start].raw.data()));
      return invalid_parameter("unknown variable \"" + name +
                               "\": variables start with trigger, flow, widgets or contact");
    }
    return o;
  }

  std::string_view text_;
  std::vector<token> toks_;
  std::size_t pos_ = 0;
};

// One {{ }} or {% %} tag as found in the source.
struct raw_tag {
  bool is_output = false;
  std::string_view inner;  // between the delimiters and trim markers
  std::size_t offset = 0;  // of the opening delimiter
  std::string_view name;   // {% %}: the first word
  std::string_view rest;   // {% %}: after the first word
};

class template_parser {
 public:
  explicit template_parser(std::string_view src) : src_(src) {}

  expected<std::vector<node>> parse() {
    std::vector<node> nodes;
    auto end = body(nodes, 0);
    if (!end)
      return end.err();
    if (*end)
      return invalid_parameter("\"" + std::string((*end)->name) + "\" at offset " +
                               std::to_string((*end)->offset) + " has no matching block");
    return nodes;
  }

  bool saw_tag() const { return saw_tag_; }

 private:
  // Appends nodes up to the end of input (nullopt) or up to an elsif, else,
  // endif or endunless tag, which is returned.
  expected<std::optional<raw_tag>> body(std::vector<node>& out, int depth) {
    while (true) {
      auto t = next(out);
      if (!t)
        return t.err();
      if (!*t)
        return std::optional<raw_tag>{};
      raw_tag& tag = **t;
      if (tag.is_output) {
        auto toks = tokenize(tag.inner);
        if (!toks)
          return toks.err();
        if (toks->size() == 1)
          return invalid_parameter("empty output tag at offset " + std::to_string(tag.offset));
        auto e = tag_parser(tag.inner, std::move(*toks)).output();
        if (!e)
          return e.err();
        node n;
        n.kind = node_kind::output;
        n.out = std::move(*e);
        out.push_back(std::move(n));
        continue;
      }
      if (tag.name == "if" || tag.name == "unless") {
        auto b = block(tag, depth + 1);
        if (!b)
          return b.err();
        out.push_back(std::move(*b));
        continue;
      }
      if (tag.name == "elsif" || tag.name == "else" || tag.name == "endif" || tag.name == "endunless")
        return std::optional<raw_tag>{tag};
      if (tag.name.empty())
        return invalid_parameter("empty tag at offset " + std::to_string(tag.offset));
      return invalid_parameter("unsupported tag \"" + std::string(tag.name) + "\"");
    }
  }

  expected<node> block(const raw_tag& open, int depth) {
    if (depth > max_block_depth)
      return invalid_parameter("blocks are nested deeper than " + std::to_string(max_block_depth));
    std::string closer = open.name == "if" ? "endif" : "endunless";
    node n;
    n.kind = node_kind::block;
    raw_tag tag = open;
    while (true) {
      branch b;
      if (tag.name != "else") {
        auto toks = tokenize(tag.rest);
        if (!toks)
          return toks.err();
        auto c = tag_parser(tag.rest, std::move(*toks)).cond(tag.name);
        if (!c)
          return c.err();
        b.has_condition = true;
        b.cond = std::move(*c);
        b.cond.negate = tag.name == "unless";
      } else if (!trim_left(tag.rest).empty()) {
        return invalid_parameter("tag \"else\" takes no condition");
      }
      auto end = body(b.body, depth);
      if (!end)
        return end.err();
      n.branches.push_back(std::move(b));
      if (!*end)
        return invalid_parameter("tag \"" + std::string(open.name) + "\" at offset " + std::to_string(open.offset) +
                                 " is not closed by \"" + closer + "\"");
      raw_tag& t = **end;
      if (t.name == closer)
        return n;
      bool after_else = tag.name == "else";
      if (after_else || (t.name != "else" && (t.name != "elsif" || open.name != "if")))
        return invalid_parameter("unexpected \"" + std::string(t.name) + "\" at offset " + std::to_string(t.offset) +
                                 " inside \"" + std::string(open.name) + "\"");
      tag = t;
    }
  }

  // Appends the text before the next tag to out and returns that tag, or
  // nullopt at the end of the input.
  expected<std::optional<raw_tag>> next(std::vector<node>& out) {
    std::size_t open = pos_;
    while (true) {
      open = src_.find('{', open);
      if (open == std::string_view::npos || open + 1 >= src_.size()) {
        open = std::string_view::npos;
        break;
      }
      if (src_[open + 1] == '{' || src_[open + 1] == '%')
        break;
      ++open;
    }
    std::string_view text = src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
    if (trim_next_)
      text = trim_left(text);
    trim_next_ = false;
    if (open == std::string_view::npos) {
      add_text(out, text);
      pos_ = src_.size();
      return std::optional<raw_tag>{};
    }
    saw_tag_ = true;
    raw_tag tag;
    tag.offset = open;
    tag.is_output = src_[open + 1] == '{';
    std::string_view closer = tag.is_output ? "}}" : "%}";
    std::size_t inner = open + 2;
    if (inner < src_.size() && src_[inner] == '-') {
      text = trim_right(text);
      ++inner;
    }
    add_text(out, text);
    std::size_t close = find_close(inner, closer);
    if (close == std::string_view::npos)
      return invalid_parameter(quoted(src_.substr(open, 2)) + " at offset " + std::to_string(open) +
                               " is not closed by " + quoted(closer));
    pos_ = close + 2;
    std::size_t inner_end = close;
    if (inner_end > inner && src_[inner_end - 1] == '-') {
      --inner_end;
      trim_next_ = true;
    }
    tag.inner = src_.substr(inner, inner_end - inner);
    if (!tag.is_output) {
      std::string_view s = trim_left(tag.inner);
      std::size_t w = 0;
      while (w < s.size() && !is_space(s[w]))
        ++w;
      tag.name = s.substr(0, w);
      tag.rest = s.substr(w);
    }
    return std::optional<raw_tag>{tag};
  }

  // The offset of closer after from, skipping quoted strings.
  std::size_t find_close(std::size_t from, std::string_view closer) const {
    for (std::size_t i = from; i + 1 < src_.size(); ++i) {
      char c = src_[i];
      if (c == '"' || c == '\'') {
        std::size_t q = src_.find(c, i + 1);
        if (q == std::string_view::npos)
          return std::string_view::npos;
        i = q;
        continue;
      }
      if (src_.compare(i, 2, closer) == 0)
        return i;
    }
    return std::string_view::npos;
  }

  static void add_text(std::vector<node>& out, std::string_view text) {
    if (text.empty())
      return;
    if (!out.empty() && out.back().kind == node_kind::text) {
      out.back().text += text;
      return;
    }
    node n;
    n.text = std::string(text);
    out.push_back(std::move(n));
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  bool trim_next_ = false;
  bool saw_tag_ = false;
};

} // namespace

expected<template_text> parse_template(std::string_view text) {
  template_parser p(text);
  auto nodes = p.parse();
  if (!nodes)
    return nodes.err();
  template_text t;
  t.source_ = std::string(text);
  if (p.saw_tag()) {
    auto prog = std::make_shared<template_text::program>();
    prog->nodes = std::move(*nodes);
    t.program_ = std::move(prog);
  }
  return t;
}

std::string render(const template_text& t, const json& context, time_point now) {
  if (!t.program_)
    return t.source_;
  std::string out;
  render_nodes(t.program_->nodes, context, now, out);
  return out;
}

std::string render(const template_text& t, const json& context) {
  return render(t, context, std::chrono::system_clock::now());
}

namespace {

expected<bool> collect_templates(const json& v, json::json_pointer& at,
                                 std::vector<std::pair<json::json_pointer, template_text>>& out) {
  if (v.is_string()) {
    auto t = parse_template(v.get_ref<const std::string&>());
    if (!t) {
      if (at.empty())
        return t.err();
      return invalid_parameter("at \"" + at.to_string() + "\": " + t.err().message);
    }
    if (!t->is_literal())
      out.emplace_back(at, std::move(*t));
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      at.push_back(std::to_string(i));
      auto r = collect_templates(v[i], at, out);
      at.pop_back();
      if (!r)
        return r;
    }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      at.push_back(it.key());
      auto r = collect_templates(it.value(), at, out);
      at.pop_back();
      if (!r)
        return r;
    }
  }
  return true;
}

} // namespace

expected<json_template> parse_json_template(const json& value) {
  json_template t;
  json::json_pointer at;
  auto r = collect_templates(value, at, t.templates_);
  if (!r)
    return r.err();
  t.source_ = value;
  return t;
}

json render_json(const json_template& t, const json& context, time_point now) {
  json out = t.source();
  for (const auto& [at, tpl] : t.templates())
    out[at] = render(tpl, context, now);
  return out;
}

} // namespace sb::model
