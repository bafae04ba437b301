#include "model/expression.hpp"

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace sb::model {

using json = nlohmann::json;

namespace {

// Parenthesis nesting beyond this is rejected so that parsing and evaluation
// recursion stay shallow.
constexpr int max_nesting_depth = 64;
// Tokens quoted in error messages are cut to this many bytes.
constexpr std::size_t max_quoted_token = 40;

enum class scope_id : std::uint8_t { implicit, task, worker, workers, taskrouter };

enum class op : std::uint8_t { eq, ne, gt, ge, lt, le, contains, has, in, not_in, all_of, any_of };

struct step {
  std::string field;
  std::size_t index = 0;
  bool is_index = false;
};

struct operand {
  bool is_key = false;
  json literal;
  scope_id scope = scope_id::implicit;
  std::vector<step> path;
};

std::optional<scope_id> scope_named(std::string_view name) {
  if (name == "task") return scope_id::task;
  if (name == "worker") return scope_id::worker;
  if (name == "workers") return scope_id::workers;
  if (name == "taskrouter") return scope_id::taskrouter;
  return std::nullopt;
}

std::string_view scope_name(scope_id id) {
  switch (id) {
    case scope_id::task: return "task";
    case scope_id::worker: return "worker";
    case scope_id::workers: return "workers";
    case scope_id::taskrouter: return "taskrouter";
    case scope_id::implicit: break;
  }
  return {};
}

} // namespace

struct expression::node {
  op kind = op::eq;
  operand lhs;
  operand rhs;
  std::vector<node> children;  // operands of all_of / any_of
};

namespace {

using node = expression::node;

enum class tok : std::uint8_t {
  end, lparen, rparen, lbracket, rbracket, comma, string, number, key,
  compare, kw_and, kw_or, kw_not, kw_in, kw_has, kw_contains, kw_true, kw_false,
};

struct token {
  tok kind = tok::end;
  std::size_t pos = 0;
  std::string_view raw;
  op comparison = op::eq;
  json value;               // decoded string or number
  scope_id scope = scope_id::implicit;
  std::vector<step> path;
};

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string quoted(std::string_view raw) {
  if (raw.size() > max_quoted_token) return "'" + std::string(raw.substr(0, max_quoted_token)) + "...'";
  return "'" + std::string(raw) + "'";
}

error fail(std::string what, std::size_t pos) {
  return invalid_parameter("Invalid expression: " + what + " at position " + std::to_string(pos), 20001);
}

class lexer {
 public:
  explicit lexer(std::string_view src) : src_(src) {}

  expected<std::vector<token>> run() {
    std::vector<token> out;
    for (;;) {
      while (i_ < src_.size() && space(src_[i_])) ++i_;
      if (i_ == src_.size()) {
        token t;
        t.pos = i_;
        t.raw = src_.substr(i_, 0);
        out.push_back(std::move(t));
        return out;
      }
      auto t = next();
      if (!t) return t.err();
      out.push_back(std::move(*t));
    }
  }

 private:
  expected<token> next() {
    token t;
    t.pos = i_;
    char c = src_[i_];
    auto single = [&](tok kind) {
      t.kind = kind;
      t.raw = src_.substr(i_, 1);
      ++i_;
      return t;
    };
    switch (c) {
      case '(': return single(tok::lparen);
      case ')': return single(tok::rparen);
      case '[': return single(tok::lbracket);
      case ']': return single(tok::rbracket);
      case ',': return single(tok::comma);
      case '"':
      case '\'': return string_literal(t);
      default: break;
    }
    if (c == '=' || c == '!' || c == '<' || c == '>') return comparison(t);
    if (digit(c) || (c == '-' && i_ + 1 < src_.size() && digit(src_[i_ + 1]))) return number(t);
    if (ident_start(c)) return word(t);
    return fail("unexpected character " + quoted(src_.substr(i_, 1)), i_);
  }

  expected<token> comparison(token& t) {
    char c = src_[i_];
    bool eq_next = i_ + 1 < src_.size() && src_[i_ + 1] == '=';
    std::size_t len = eq_next ? 2 : 1;
    switch (c) {
      case '=': t.comparison = op::eq; break;
      case '!':
        if (!eq_next) return fail("unexpected character '!'", i_);
        t.comparison = op::ne;
        break;
      case '<': t.comparison = eq_next ? op::le : op::lt; break;
      default: t.comparison = eq_next ? op::ge : op::gt; break;
    }
    t.kind = tok::compare;
    t.raw = src_.substr(i_, len);
    i_ += len;
    return t;
  }

  expected<token> string_literal(token& t) {
    char quote = src_[i_];
    std::string text;
    std::size_t j = i_ + 1;
    for (;;) {
      if (j >= src_.size()) return fail("unterminated string", t.pos);
      char c = src_[j];
      if (c == quote) break;
      if (c == '\\' && j + 1 < src_.size() && (src_[j + 1] == quote || src_[j + 1] == '\\')) {
        text.push_back(src_[j + 1]);
        j += 2;
        continue;
      }
      text.push_back(c);
      ++j;
    }
    t.kind = tok::string;
    t.value = std::move(text);
    t.raw = src_.substr(i_, j + 1 - i_);
    i_ = j + 1;
    return t;
  }

  expected<token> number(token& t) {
    std::size_t j = i_;
    if (src_[j] == '-') ++j;
    while (j < src_.size() && digit(src_[j])) ++j;
    bool decimal = false;
    if (j < src_.size() && src_[j] == '.') {
      decimal = true;
      ++j;
      std::size_t frac = j;
      while (j < src_.size() && digit(src_[j])) ++j;
      if (j == frac) return fail("invalid number " + quoted(src_.substr(i_, j - i_)), i_);
    }
    std::string_view raw = src_.substr(i_, j - i_);
    const char* first = raw.data();
    const char* last = raw.data() + raw.size();
    std::int64_t as_int = 0;
    if (!decimal && std::from_chars(first, last, as_int).ec == std::errc{} ) {
      t.value = as_int;
    } else {
      double as_double = 0;
      auto r = std::from_chars(first, last, as_double);
      if (r.ec != std::errc{} || r.ptr != last)
        return fail("invalid number " + quoted(raw), i_);
      t.value = as_double;
    }
    t.kind = tok::number;
    t.raw = raw;
    i_ = j;
    return t;
  }

  std::size_t ident_end(std::size_t j, bool allow_digit_start) const {
    if (j >= src_.size() || !(ident_start(src_[j]) || (allow_digit_start && digit(src_[j])))) return j;
    while (j < src_.size() && ident_char(src_[j])) ++j;
    return j;
  }

  expected<token> word(token& t) {
    std::size_t j = ident_end(i_, false);
    std::string_view first = src_.substr(i_, j - i_);
    static constexpr std::pair<std::string_view, tok> keywords[] = {
        {"AND", tok::kw_and}, {"OR", tok::kw_or},   {"NOT", tok::kw_not},
        {"IN", tok::kw_in},   {"HAS", tok::kw_has}, {"CONTAINS", tok::kw_contains},
        {"TRUE", tok::kw_true}, {"FALSE", tok::kw_false},
    };
    for (const auto& [name, kind] : keywords) {
      if (iequals(first, name)) {
        t.kind = kind;
        t.raw = first;
        i_ = j;
        return t;
      }
    }
    std::vector<step> path;
    path.push_back({std::string(first), 0, false});
    while (j < src_.size() && (src_[j] == '.' || src_[j] == '[')) {
      if (src_[j] == '.') {
        std::size_t end = ident_end(j + 1, true);
        if (end == j + 1) return fail("invalid key " + quoted(src_.substr(i_, end - i_)), end);
        path.push_back({std::string(src_.substr(j + 1, end - j - 1)), 0, false});
        j = end;
      } else {
        std::size_t k = j + 1;
        while (k < src_.size() && digit(src_[k])) ++k;
        std::size_t index = 0;
        auto r = std::from_chars(src_.data() + j + 1, src_.data() + k, index);
        if (k == j + 1 || k >= src_.size() || src_[k] != ']' || r.ec != std::errc{})
          return fail("invalid index in key " + quoted(src_.substr(i_, k - i_ + 1)), k);
        path.push_back({std::string(), index, true});
        j = k + 1;
      }
    }
    if (auto scope = scope_named(first)) {
      t.scope = *scope;
      path.erase(path.begin());
    }
    t.kind = tok::key;
    t.raw = src_.substr(i_, j - i_);
    t.path = std::move(path);
    i_ = j;
    return t;
  }

  std::string_view src_;
  std::size_t i_ = 0;
};

class parser {
 public:
  explicit parser(std::vector<token> tokens) : t_(std::move(tokens)) {}

  expected<node> run() {
    auto root = parse_or(0);
    if (!root) return root;
    if (peek().kind != tok::end) return unexpected(peek());
    return root;
  }

 private:
  const token& peek() const { return t_[k_]; }
  token& take() { return t_[k_ == t_.size() - 1 ? k_ : k_++]; }

  static error unexpected(const token& t) {
    if (t.kind == tok::end) return fail("unexpected end of expression", t.pos);
    return fail("unexpected token " + quoted(t.raw), t.pos);
  }

  expected<node> parse_or(int depth) { return parse_chain(depth, tok::kw_or, op::any_of); }

  expected<node> parse_chain(int depth, tok joiner, op kind) {
    std::vector<node> terms;
    for (;;) {
      auto term = joiner == tok::kw_or ? parse_chain(depth, tok::kw_and, op::all_of) : parse_primary(depth);
      if (!term) return term;
      terms.push_back(std::move(*term));
      if (peek().kind != joiner) break;
      take();
    }
    if (terms.size() == 1) return std::move(terms.front());
    node n;
    n.kind = kind;
    n.children = std::move(terms);
    return n;
  }

  expected<node> parse_primary(int depth) {
    if (peek().kind == tok::lparen) {
      const token& open = take();
      if (depth + 1 > max_nesting_depth)
        return fail("parentheses nested deeper than " + std::to_string(max_nesting_depth), open.pos);
      auto inner = parse_or(depth + 1);
      if (!inner) return inner;
      if (peek().kind == tok::end) return fail("unclosed '('", open.pos);
      if (peek().kind != tok::rparen) return unexpected(peek());
      take();
      return inner;
    }
    node n;
    const char* lhs_begin = peek().raw.data();
    auto lhs = parse_operand();
    if (!lhs) return lhs.err();
    const token& lhs_last = t_[k_ - 1];
    std::string_view lhs_raw(lhs_begin, lhs_last.raw.data() + lhs_last.raw.size() - lhs_begin);
    auto kind = parse_operator(lhs_raw, lhs_last.pos + lhs_last.raw.size());
    if (!kind) return kind.err();
    auto rhs = parse_operand();
    if (!rhs) return rhs.err();
    n.kind = *kind;
    n.lhs = std::move(*lhs);
    n.rhs = std::move(*rhs);
    return n;
  }

  expected<op> parse_operator(std::string_view lhs_raw, std::size_t lhs_end) {
    const token& t = peek();
    switch (t.kind) {
      case tok::compare: take(); return t.comparison;
      case tok::kw_contains: take(); return op::contains;
      case tok::kw_has: take(); return op::has;
      case tok::kw_in: take(); return op::in;
      case tok::kw_not: {
        take();
        if (peek().kind != tok::kw_in) return unexpected(peek());
        take();
        return op::not_in;
      }
      default:
        return fail("missing operator after " + quoted(lhs_raw), t.kind == tok::end ? lhs_end : t.pos);
    }
  }

  expected<operand> parse_operand() {
    token& t = take();
    operand o;
    switch (t.kind) {
      case tok::string:
      case tok::number:
        o.literal = std::move(t.value);
        return o;
      case tok::kw_true: o.literal = true; return o;
      case tok::kw_false: o.literal = false; return o;
      case tok::key:
        o.is_key = true;
        o.scope = t.scope;
        o.path = std::move(t.path);
        return o;
      case tok::lbracket: return parse_array(t);
      default: return unexpected(t);
    }
  }

  expected<operand> parse_array(const token& open) {
    operand o;
    o.literal = json::array();
    if (peek().kind == tok::rbracket) {
      take();
      return o;
    }
    for (;;) {
      token& t = take();
      switch (t.kind) {
        case tok::string:
        case tok::number: o.literal.push_back(std::move(t.value)); break;
        case tok::kw_true: o.literal.push_back(true); break;
        case tok::kw_false: o.literal.push_back(false); break;
        case tok::end: return fail("unclosed '['", open.pos);
        default: return unexpected(t);
      }
      const token& sep = take();
      if (sep.kind == tok::rbracket) return o;
      if (sep.kind == tok::end) return fail("unclosed '['", open.pos);
      if (sep.kind != tok::comma) return unexpected(sep);
    }
  }

  std::vector<token> t_;
  std::size_t k_ = 0;
};

struct scopes {
  const json* task;
  const json* worker;
  const json* workers;
  const json* taskrouter;
  const json* implicit;

  const json* get(scope_id id) const {
    switch (id) {
      case scope_id::task: return task;
      case scope_id::worker: return worker;
      case scope_id::workers: return workers;
      case scope_id::taskrouter: return taskrouter;
      case scope_id::implicit: break;
    }
    return implicit;
  }
};

const json* resolve(const operand& o, const scopes& s) {
  if (!o.is_key) return &o.literal;
  const json* cur = s.get(o.scope);
  for (const step& st : o.path) {
    if (cur == nullptr) return nullptr;
    if (st.is_index) {
      if (!cur->is_array() || st.index >= cur->size()) return nullptr;
      cur = &(*cur)[st.index];
    } else {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(st.field);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  if (cur != nullptr && cur->is_null()) return nullptr;
  return cur;
}

struct number {
  bool integral = false;
  bool negative = false;
  std::uint64_t magnitude = 0;  // |value| when integral
  double real = 0;
};

std::optional<number> integral_number(std::int64_t v) {
  number n;
  n.integral = true;
  n.negative = v < 0;
  n.magnitude = v < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  n.real = static_cast<double>(v);
  return n;
}

std::optional<number> numeric_string(std::string_view s) {
  std::size_t start = !s.empty() && s[0] == '-' ? 1 : 0;
  if (s.size() <= start || !digit(s[start])) return std::nullopt;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  std::int64_t i = 0;
  auto ri = std::from_chars(first, last, i);
  if (ri.ec == std::errc{} && ri.ptr == last) return integral_number(i);
  double d = 0;
  auto rd = std::from_chars(first, last, d, std::chars_format::fixed);
  if (rd.ec != std::errc{} || rd.ptr != last) return std::nullopt;
  number n;
  n.real = d;
  return n;
}

std::optional<number> as_number(const json& j) {
  switch (j.type()) {
    case json::value_t::number_integer: return integral_number(j.get_ref<const json::number_integer_t&>());
    case json::value_t::number_unsigned: {
      number n;
      n.integral = true;
      n.magnitude = j.get_ref<const json::number_unsigned_t&>();
      n.real = static_cast<double>(n.magnitude);
      return n;
    }
    case json::value_t::number_float: {
      number n;
      n.real = j.get_ref<const json::number_float_t&>();
      return n;
    }
    default: return std::nullopt;
  }
}

std::partial_ordering compare_numbers(const number& a, const number& b) {
  if (a.integral && b.integral) {
    if (a.negative != b.negative) return a.negative ? std::partial_ordering::less : std::partial_ordering::greater;
    auto ord = a.magnitude <=> b.magnitude;
    return a.negative ? 0 <=> ord : ord;
  }
  return a.real <=> b.real;
}

// Ordering of two non-NULL scalars: numerically when both are numbers or one
// is a number and the other a numeric string, lexically when both are strings,
// otherwise unordered.
std::partial_ordering order(const json& a, const json& b) {
  if (a.is_string() && b.is_string())
    return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>()) <=> 0;
  std::optional<number> x, y;
  if (a.is_number()) {
    x = as_number(a);
    y = b.is_number() ? as_number(b) : b.is_string() ? numeric_string(b.get_ref<const std::string&>()) : std::nullopt;
  } else if (b.is_number() && a.is_string()) {
    x = numeric_string(a.get_ref<const std::string&>());
    y = as_number(b);
  }
  if (!x || !y) return std::partial_ordering::unordered;
  return compare_numbers(*x, *y);
}

bool equal(const json& a, const json& b) {
  if (a.is_boolean() || b.is_boolean()) return a.is_boolean() && b.is_boolean() && a.get<bool>() == b.get<bool>();
  if (a.is_array() || b.is_array()) {
    if (!a.is_array() || !b.is_array() || a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object() || b.is_object()) return a == b;
  if (a.is_null() || b.is_null()) return false;
  return order(a, b) == std::partial_ordering::equivalent;
}

bool element_of(const json& value, const json& list) {
  if (!list.is_array()) return equal(value, list);
  for (const json& e : list)
    if (equal(value, e)) return true;
  return false;
}

bool in(const json& a, const json& b) {
  if (!a.is_array()) return element_of(a, b);
  for (const json& e : a)
    if (element_of(e, b)) return true;
  return false;
}

bool apply(op kind, const json* a, const json* b) {
  if (a == nullptr || b == nullptr) return kind == op::ne && (a != nullptr || b != nullptr);
  switch (kind) {
    case op::eq: return equal(*a, *b);
    case op::ne: return !equal(*a, *b);
    case op::gt: return is_gt(order(*a, *b));
    case op::ge: return is_gteq(order(*a, *b));
    case op::lt: return is_lt(order(*a, *b));
    case op::le: return is_lteq(order(*a, *b));
    case op::contains:
      if (a->is_string())
        return b->is_string() &&
               a->get_ref<const std::string&>().find(b->get_ref<const std::string&>()) != std::string::npos;
      return a->is_array() && element_of(*b, *a);
    case op::has: return element_of(*b, *a);
    case op::in: return in(*a, *b);
    case op::not_in: return !in(*a, *b);
    case op::all_of:
    case op::any_of: break;
  }
  return false;
}

bool eval(const node& n, const scopes& s) {
  switch (n.kind) {
    case op::all_of:
      for (const node& c : n.children)
        if (!eval(c, s)) return false;
      return true;
    case op::any_of:
      for (const node& c : n.children)
        if (eval(c, s)) return true;
      return false;
    default: return apply(n.kind, resolve(n.lhs, s), resolve(n.rhs, s));
  }
}

bool operand_in_scope(const operand& o, std::string_view scope, std::string_view default_scope) {
  if (!o.is_key) return false;
  return (o.scope == scope_id::implicit ? default_scope : scope_name(o.scope)) == scope;
}

bool node_in_scope(const node& n, std::string_view scope, std::string_view default_scope) {
  if (n.kind == op::all_of || n.kind == op::any_of) {
    for (const node& c : n.children)
      if (node_in_scope(c, scope, default_scope)) return true;
    return false;
  }
  return operand_in_scope(n.lhs, scope, default_scope) || operand_in_scope(n.rhs, scope, default_scope);
}

} // namespace

std::string_view scope_of(std::string_view key) {
  return key.substr(0, key.find_first_of(".["));
}

expression::expression(std::string text, std::shared_ptr<const node> root)
    : text_(std::move(text)), root_(std::move(root)) {}

expected<expression> expression::parse(std::string_view text) {
  auto tokens = lexer(text).run();
  if (!tokens) return tokens.err();
  auto root = parser(std::move(*tokens)).run();
  if (!root) return root.err();
  return expression(std::string(text), std::make_shared<const node>(std::move(*root)));
}

bool expression::evaluate(const expression_context& ctx) const {
  if (!root_) return false;
  scopes s{ctx.task, ctx.worker, ctx.workers, ctx.taskrouter, nullptr};
  if (auto id = scope_named(ctx.default_scope)) s.implicit = s.get(*id);
  return eval(*root_, s);
}

bool expression::references_scope(std::string_view scope, std::string_view default_scope) const {
  return root_ && node_in_scope(*root_, scope, default_scope);
}

} // namespace sb::model
