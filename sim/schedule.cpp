#include "sim/schedule.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>

namespace lazywq::sim {

uint32_t default_pick(const std::vector<uint32_t>& r, uint32_t cur, bool cur_runnable, bool yielding) {
  const bool cur_in = std::binary_search(r.begin(), r.end(), cur);
  if (yielding && cur_in) {
    for (uint32_t id : r)
      if (id > cur) return id;
    return r[0] == cur && r.size() > 1 ? r[1] : r[0];
  }
  if (cur_runnable && cur_in) return cur;
  return r[0];
}

Schedule normalized(const Schedule& s) {
  std::map<std::pair<uint32_t, uint64_t>, size_t> last;
  for (size_t i = 0; i < s.size(); ++i) last[{s[i].thread, s[i].step}] = i;
  Schedule out;
  for (size_t i = 0; i < s.size(); ++i)
    if (last[{s[i].thread, s[i].step}] == i) out.push_back(s[i]);
  return out;
}

std::string schedule_to_text(const Schedule& s) {
  std::string out;
  for (const Decision& d : s) {
    if (!out.empty()) out += ' ';
    out += std::to_string(d.thread) + "@" + std::to_string(d.step) + ">" + std::to_string(d.to);
  }
  return out;
}

Schedule schedule_from_text(const std::string& text) {
  Schedule s;
  auto sep = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == ','; };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && sep(text[i])) ++i;
    if (i >= text.size()) break;
    size_t end = i;
    while (end < text.size() && !sep(text[end])) ++end;
    const std::string tok = text.substr(i, end - i);
    auto bad = [&] {
      return std::invalid_argument("schedule: '" + tok +
                                   "' is not THREAD@STEP>THREAD (whole numbers: when thread T reaches its step N, "
                                   "run thread U)");
    };
    const size_t at = tok.find('@'), gt = tok.find('>');
    if (at == std::string::npos || gt == std::string::npos || at == 0 || gt < at + 2 || gt + 1 == tok.size()) throw bad();
    for (size_t k = 0; k < tok.size(); ++k)
      if (k != at && k != gt && (tok[k] < '0' || tok[k] > '9')) throw bad();
    Decision d;
    try {
      const unsigned long t = std::stoul(tok.substr(0, at)), u = std::stoul(tok.substr(gt + 1));
      if (t > 0xffffffffu || u > 0xffffffffu) throw bad();
      d.thread = static_cast<uint32_t>(t);
      d.to = static_cast<uint32_t>(u);
      d.step = std::stoull(tok.substr(at + 1, gt - at - 1));
    } catch (const std::out_of_range&) {
      throw bad();
    }
    s.push_back(d);
    i = end;
  }
  return s;
}

}  // namespace lazywq::sim
