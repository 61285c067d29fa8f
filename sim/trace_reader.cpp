#include "sim/trace_reader.hpp"

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace lazywq::sim {
namespace {


std::string quote(const std::string& s) {
  std::string shown = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  std::string out = "'";
  for (unsigned char c : shown) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "'";
}

// A cursor over one line; every error carries the line and column.
class LineParser {
 public:
  LineParser(const std::string& text, size_t line_no) : s_(text), line_(line_no) {}

  [[noreturn]] void fail(const std::string& msg) const { throw TraceError(line_, pos_ + 1, msg); }

  bool at_end() const { return pos_ >= s_.size(); }

  // The next token: tokens are separated by exactly one space (empty at
  // the end of the line).
  std::string token() {
    if (pos_ > 0 && pos_ < s_.size()) ++pos_;  // the separator
    if (pos_ < s_.size() && s_[pos_] == ' ') fail("unexpected space");
    if (pos_ > 0 && pos_ == s_.size() && s_.back() == ' ') fail("trailing space");
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ') ++pos_;
    tok_start_ = start;
    return s_.substr(start, pos_ - start);
  }
  [[noreturn]] void fail_token(const std::string& msg) const { throw TraceError(line_, tok_start_ + 1, msg); }

  // Canonical decimal in [lo, hi].
  template <typename T>
  T number(const std::string& text, const char* field) const {
    const bool neg = !text.empty() && text[0] == '-';
    const std::string digits = neg ? text.substr(1) : text;
    if (digits.empty()) fail_token(std::string(field) + ": expected a number, got " + quote(text));
    for (char c : digits)
      if (c < '0' || c > '9') fail_token(std::string(field) + ": expected a number, got " + quote(text));
    if (digits.size() > 1 && digits[0] == '0') fail_token(std::string(field) + ": leading zero in " + quote(text));
    if (neg && (digits == "0" || !std::numeric_limits<T>::is_signed))
      fail_token(std::string(field) + ": " + quote(text) + " must not be negative");
    // Accumulate as an unsigned magnitude with overflow checks.
    unsigned long long limit = static_cast<unsigned long long>(std::numeric_limits<T>::max());
    if constexpr (std::numeric_limits<T>::is_signed)
      if (neg) limit += 1;  // |min| = max + 1
    unsigned long long v = 0;
    for (char c : digits) {
      const unsigned d = static_cast<unsigned>(c - '0');
      if (v > (limit - d) / 10) fail_token(std::string(field) + ": " + quote(text) + " is out of range");
      v = v * 10 + d;
    }
    if constexpr (std::numeric_limits<T>::is_signed) {
      if (neg) return v == limit ? std::numeric_limits<T>::min() : static_cast<T>(-static_cast<long long>(v));
    }
    return static_cast<T>(v);
  }

  // "key=VALUE" -> VALUE, or fail.
  std::string field(const std::string& tok, const char* key) const {
    const std::string k = std::string(key) + "=";
    if (tok.compare(0, k.size(), k) != 0) fail_token("expected " + k + "..., got " + quote(tok));
    return tok.substr(k.size());
  }

 private:
  const std::string& s_;
  size_t line_;
  size_t pos_ = 0;
  size_t tok_start_ = 0;
};

EventType event_type(LineParser& p, const std::string& name) {
  for (int i = 0; i < kEventTypes; ++i)
    if (to_string(static_cast<EventType>(i)) == name) return static_cast<EventType>(i);
  p.fail_token("unknown event type " + quote(name));
}

Event parse_line(const std::string& text, size_t line_no) {
  LineParser p(text, line_no);
  Event e;
  std::string tok = p.token();
  if (tok.empty() || tok[0] != '#') p.fail_token("expected #SEQ, got " + quote(tok));
  e.seq = p.number<uint64_t>(tok.substr(1), "seq");

  tok = p.token();
  std::string t = p.field(tok, "t");
  if (t.size() < 2 || t.compare(t.size() - 2, 2, "ns") != 0) p.fail_token("time must end in ns, got " + quote(tok));
  e.time_ns = p.number<int64_t>(t.substr(0, t.size() - 2), "time");

  tok = p.token();
  std::string thr = p.field(tok, "thr");
  if (thr.compare(0, 3, "ext") == 0) {
    uint32_t tag = p.number<uint32_t>(thr.substr(3), "thr");
    if (tag & kExternalThread) p.fail_token("thr: external tag " + quote(thr) + " is out of range");
    e.thread = kExternalThread | tag;
  } else if (!thr.empty() && thr[0] == 'w') {
    e.thread = p.number<uint32_t>(thr.substr(1), "thr");
    if (e.thread & kExternalThread) p.fail_token("thr: engine thread id " + quote(thr) + " is out of range");
  } else {
    p.fail_token("thr: expected wID or extTAG, got " + quote(thr));
  }

  tok = p.token();
  e.cpu = p.number<int32_t>(p.field(tok, "cpu"), "cpu");

  tok = p.token();
  e.type = event_type(p, tok);

  tok = p.token();
  if (tok.compare(0, 3, "wq=") == 0) {
    e.queue = p.number<uint32_t>(tok.substr(3), "wq");
    if (e.queue == 0) p.fail_token("wq=0 is written by omitting wq=");
    tok = p.token();
  }
  if (tok.compare(0, 5, "work=") == 0) {
    e.work = p.number<uint64_t>(tok.substr(5), "work");
    if (e.work == 0) p.fail_token("work=0 is written by omitting work=");
    tok = p.token();
  }
  if (tok.empty()) p.fail_token("missing arg=");
  e.arg = p.number<int32_t>(p.field(tok, "arg"), "arg");
  if (!p.at_end()) {
    tok = p.token();
    if (tok.compare(0, 5, "upto=") != 0) p.fail_token("unexpected " + quote(tok) + " after arg=");
    e.upto = p.number<uint64_t>(tok.substr(5), "upto");
    if (e.upto == 0) p.fail_token("upto=0 is written by omitting upto=");
  }
  if (!p.at_end()) {
    tok = p.token();
    p.fail_token("unexpected " + quote(tok) + " after upto=");
  }
  return e;
}

}  // namespace

TraceError::TraceError(size_t line, size_t column, const std::string& message, const std::string& source)
    : std::invalid_argument(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
      line_(line),
      column_(column),
      message_(message) {}

Event parse_event_line(const std::string& line) { return parse_line(line, 1); }

std::vector<Event> read_trace(const std::string& text) {
  std::vector<Event> events;
  size_t line_no = 0, start = 0;
  bool have_header = false;
  uint64_t header_count = 0;
  size_t header_line = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] == '#' && (line.size() == 1 || line[1] == ' ')) {
      // A comment; "# N events: ..." is the header.
      const size_t sp = line.find(' ', 2);
      if (!have_header && events.empty() && sp != std::string::npos && line.compare(sp, 8, " events:") == 0) {
        LineParser p(line, line_no);
        (void)p.token();
        std::string n = p.token();
        header_count = p.number<uint64_t>(n, "header event count");
        have_header = true;
        header_line = line_no;
      }
      continue;
    }
    events.push_back(parse_line(line, line_no));
  }
  if (have_header && header_count != events.size())
    throw TraceError(header_line, 1,
                     "the header announces " + std::to_string(header_count) + " events but the trace has " +
                         std::to_string(events.size()) + " (truncated file?)");
  return events;
}

std::vector<Event> read_trace_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument("cannot read trace file '" + path + "'");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  try {
    return read_trace(text);
  } catch (const TraceError& e) {
    throw TraceError(e.line(), e.column(), e.message(), path);
  }
}

}  // namespace lazywq::sim
