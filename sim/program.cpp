// Operation programs: text format, executor on the simulator, reference
// model of the contract (see program.hpp for what it checks and why).
#include "sim/program.hpp"
#include "sim/runner.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "sim/delay_bounds.hpp"
#include "sim/knobs.hpp"
#include "sim/oracle.hpp"
#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"
#include "sim/strategy.hpp"

namespace lazywq::sim {

// ---------------------------------------------------------------------------
// Operations

const char* to_string(OpKind k) {
  switch (k) {
    case OpKind::queue_work_on: return "queue_work_on";
    case OpKind::queue_delayed_work_on: return "queue_delayed_work_on";
    case OpKind::mod_delayed_work: return "mod_delayed_work";
    case OpKind::cancel_work: return "cancel_work";
    case OpKind::cancel_work_sync: return "cancel_work_sync";
    case OpKind::cancel_delayed_work_sync: return "cancel_delayed_work_sync";
    case OpKind::flush_work: return "flush_work";
    case OpKind::flush_workqueue: return "flush_workqueue";
    case OpKind::drain_workqueue: return "drain_workqueue";
    case OpKind::cpu_offline: return "cpu_offline";
    case OpKind::cpu_online: return "cpu_online";
    case OpKind::sleep: return "sleep";
    case OpKind::fail_spawns: return "fail_spawns";
    case OpKind::destroy: return "destroy";
    case OpKind::flush_delayed_work: return "flush_delayed_work";
    case OpKind::fail_spawns_nth: return "fail_spawns_nth";
    case OpKind::fail_spawns_pct: return "fail_spawns_pct";
    case OpKind::fail_spawns_always: return "fail_spawns_always";
    case OpKind::count: break;
  }
  return "?";
}

bool op_uses_cpu(OpKind k) {
  switch (k) {
    case OpKind::queue_work_on:
    case OpKind::queue_delayed_work_on:
    case OpKind::mod_delayed_work:
    case OpKind::cpu_offline:
    case OpKind::cpu_online: return true;
    default: return false;
  }
}

bool op_uses_work(OpKind k) {
  switch (k) {
    case OpKind::queue_work_on:
    case OpKind::queue_delayed_work_on:
    case OpKind::mod_delayed_work:
    case OpKind::cancel_work:
    case OpKind::cancel_work_sync:
    case OpKind::cancel_delayed_work_sync:
    case OpKind::flush_work:
    case OpKind::flush_delayed_work: return true;
    default: return false;
  }
}

bool op_uses_value(OpKind k) {
  switch (k) {
    case OpKind::queue_delayed_work_on:
    case OpKind::mod_delayed_work:
    case OpKind::sleep:
    case OpKind::fail_spawns:
    case OpKind::fail_spawns_nth:
    case OpKind::fail_spawns_pct: return true;
    default: return false;
  }
}

namespace {

bool is_queue_op(OpKind k) {
  return k == OpKind::queue_work_on || k == OpKind::queue_delayed_work_on || k == OpKind::mod_delayed_work;
}
bool is_delayed_op(OpKind k) { return k == OpKind::queue_delayed_work_on || k == OpKind::mod_delayed_work; }

// The rule an unexpected result of this call breaks.
const char* rule_of(OpKind k) {
  switch (k) {
    case OpKind::queue_work_on:
    case OpKind::queue_delayed_work_on: return "C1";
    case OpKind::mod_delayed_work:
    case OpKind::cancel_work:
    case OpKind::cancel_work_sync:
    case OpKind::cancel_delayed_work_sync: return "C12";
    case OpKind::flush_work:
    case OpKind::flush_delayed_work: return "C10";
    case OpKind::flush_workqueue:
    case OpKind::drain_workqueue: return "C11";
    case OpKind::cpu_offline:
    case OpKind::cpu_online: return "C13";
    case OpKind::destroy: return "C14";
    default: return "C15";
  }
}

constexpr WqKind kKinds[] = {WqKind::per_cpu, WqKind::lazy, WqKind::single_thread, WqKind::ordered, WqKind::shared};

}  // namespace

// ---------------------------------------------------------------------------
// Text format

Duration us_duration(int64_t us) {
  if (us > kUsLargest) return Duration::max();
  return Duration(std::max(us, -kUsLargest) * 1000);
}

std::string us_text(int64_t us) { return us == kUsMax ? "max" : std::to_string(us); }

std::string to_string(const FaultSpec& f) {
  switch (f.kind) {
    case FaultSpec::Kind::none: return "none";
    case FaultSpec::Kind::always: return "always";
    case FaultSpec::Kind::next: return "next:" + std::to_string(f.n);
    case FaultSpec::Kind::nth: return "nth:" + std::to_string(f.n);
    case FaultSpec::Kind::pct: return "pct:" + std::to_string(f.n);
  }
  return "?";
}

FaultSpec parse_fault_spec(const std::string& text) {
  const std::string usage = "faults must be none, always, next:N, nth:N (N in 1..1000000) or pct:P (P in 0..100), got '" +
                            text + "'";
  FaultSpec f;
  if (text == "none") return f;
  if (text == "always") {
    f.kind = FaultSpec::Kind::always;
    return f;
  }
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw std::invalid_argument(usage);
  const std::string name = text.substr(0, colon), num = text.substr(colon + 1);
  int64_t lo = 1, hi = 1'000'000;
  if (name == "next") f.kind = FaultSpec::Kind::next;
  else if (name == "nth") f.kind = FaultSpec::Kind::nth;
  else if (name == "pct") f.kind = FaultSpec::Kind::pct, lo = 0, hi = 100;
  else throw std::invalid_argument(usage);
  bool ok = !num.empty() && num.size() <= 7;
  for (char ch : num) ok = ok && std::isdigit(static_cast<unsigned char>(ch));
  if (!ok) throw std::invalid_argument(usage);
  f.n = std::stoll(num);
  if (f.n < lo || f.n > hi) throw std::invalid_argument(usage);
  return f;
}

SpawnFaults spawn_faults_of(const FaultSpec& f, uint64_t seed) {
  SpawnFaults s;
  switch (f.kind) {
    case FaultSpec::Kind::none: break;
    case FaultSpec::Kind::always: s.fail_always = true; break;
    case FaultSpec::Kind::next: s.fail_next = static_cast<uint64_t>(f.n); break;
    case FaultSpec::Kind::nth: s.fail_nth = static_cast<uint64_t>(f.n); break;
    case FaultSpec::Kind::pct:
      s.fail_probability = static_cast<double>(f.n) / 100.0;
      s.seed = seed;
      break;
  }
  return s;
}

std::string write_op(const Op& op) {
  std::string s = "c" + std::to_string(op.caller) + " " + to_string(op.kind);
  if (op_uses_cpu(op.kind)) s += " " + std::to_string(op.cpu);
  if (op_uses_work(op.kind)) s += " w" + std::to_string(op.work);
  if (op_uses_value(op.kind)) s += " " + (is_delayed_op(op.kind) ? us_text(op.value) : std::to_string(op.value));
  return s;
}

// "w0>w2,w1>w2"
std::string waits_text(const Program& p) {
  std::string w;
  for (auto [i, j] : p.waits) w += (w.empty() ? "" : ",") + std::string("w") + std::to_string(i) + ">w" + std::to_string(j);
  return w;
}

namespace {

const char* check_name(DependencyCheck c) {
  switch (c) {
    case DependencyCheck::off: return "off";
    case DependencyCheck::report: return "report";
    case DependencyCheck::error: return "error";
  }
  return "?";
}

std::string options_text(const Program& p) {
  std::string s;
  if (p.highpri) s += ",highpri";
  if (p.unbound) s += ",unbound";
  if (p.ordered) s += ",ordered";
  return s.empty() ? "none" : s.substr(1);
}

}  // namespace

std::string write_program(const Program& p) {
  const Program d;  // the defaults: a key at its default is not written (older programs stay as they were)
  std::string s = "# lazywq operation program (wqcheck run-program FILE)\n";
  s += "kind " + std::string(to_string(p.kind)) + "\n";
  s += "ncpus " + std::to_string(p.ncpus) + "\n";
  if (p.core_cpu != d.core_cpu) s += "core_cpu " + std::to_string(p.core_cpu) + "\n";
  s += "works " + std::to_string(p.works) + "\n";
  s += "callers " + std::to_string(p.callers) + "\n";
  s += "idle_us " + us_text(p.idle_us) + "\n";
  s += "cooldown_us " + us_text(p.cooldown_us) + "\n";
  s += "busy_us " + std::to_string(p.busy_us) + "\n";
  if (p.busy_in_engine != d.busy_in_engine) s += "busy_sleep engine\n";
  s += "seed " + std::to_string(p.seed) + "\n";
  s += "strategy " + p.strategy + "\n";
  if (p.dependency_check != d.dependency_check)
    s += "dependency_check " + std::string(check_name(p.dependency_check)) + "\n";
  if (p.stall_us != d.stall_us) s += "stall_us " + us_text(p.stall_us) + "\n";
  if (p.max_workers_per_pool != d.max_workers_per_pool)
    s += "max_workers_per_pool " + std::to_string(p.max_workers_per_pool) + "\n";
  if (p.faults != d.faults) s += "faults " + to_string(p.faults) + "\n";
  if (p.highpri || p.unbound || p.ordered) s += "options " + options_text(p) + "\n";
  if (p.max_active != d.max_active) s += "max_active " + std::to_string(p.max_active) + "\n";
  if (!p.waits.empty()) s += "waits " + waits_text(p) + "\n";
  for (const Op& op : p.ops) s += write_op(op) + "\n";
  return s;
}

namespace {

[[noreturn]] void fail_line(int line, const std::string& msg) {
  throw std::invalid_argument("line " + std::to_string(line) + ": " + msg);
}

int64_t parse_int(int line, const std::string& what, const std::string& text, int64_t lo, int64_t hi) {
  bool ok = !text.empty();
  size_t start = (text.size() > 1 && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  for (size_t i = start; i < text.size(); ++i) ok = ok && std::isdigit(static_cast<unsigned char>(text[i]));
  int64_t v = 0;
  if (ok) {
    try {
      v = std::stoll(text);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || v < lo || v > hi)
    fail_line(line, what + " must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" +
                        text + "'");
  return v;
}

// A duration in microseconds: a number in lo..kUsLargest, or `max`.
int64_t parse_us(int line, const std::string& what, const std::string& text, int64_t lo) {
  if (text == "max") return kUsMax;
  try {
    return parse_int(line, what, text, lo, kUsLargest);
  } catch (const std::invalid_argument&) {
    fail_line(line, what + " must be a whole number in " + std::to_string(lo) + ".." + std::to_string(kUsLargest) +
                        " or max, got '" + text + "'");
  }
}

std::vector<std::string> tokens(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

std::string known_ops() {
  std::string s;
  for (int i = 0; i < kOpKinds; ++i) s += std::string(i ? ", " : "") + to_string(static_cast<OpKind>(i));
  return s;
}

std::string op_usage(OpKind k) {
  std::string u = std::string(to_string(k)) + (op_uses_cpu(k) ? " CPU" : "") + (op_uses_work(k) ? " wN" : "");
  if (k == OpKind::sleep) u += " US";
  else if (k == OpKind::fail_spawns || k == OpKind::fail_spawns_nth) u += " N";
  else if (k == OpKind::fail_spawns_pct) u += " P";
  else if (op_uses_value(k)) u += " DELAY_US";
  return u;
}

// The checks that span several keys or operations (parse_program and
// validate_program): where (a header key, or an operation) and why.
struct SemanticError {
  std::string key;  // the header key to blame, or empty: operation `op`
  size_t op = 0;
  std::string message;
};

std::optional<SemanticError> semantic_error(const Program& p) {
  if (p.core_cpu >= p.ncpus)
    return SemanticError{"core_cpu", 0,
                         "core_cpu " + std::to_string(p.core_cpu) + " but the program has ncpus " + std::to_string(p.ncpus)};
  if (p.kind != WqKind::shared && (p.highpri || p.unbound || p.ordered))
    return SemanticError{"options", 0, "options need kind shared (the engine refuses WqOptions on other kinds)"};
  if (p.kind != WqKind::shared && p.max_active != 0)
    return SemanticError{"max_active", 0, "max_active needs kind shared (the engine refuses WqOptions on other kinds)"};
  if (p.ordered && p.max_active > 1)
    return SemanticError{"max_active", 0, "an ordered queue has max_active 1 (0 or 1 here; the engine refuses more)"};
  if (!p.waits.empty() && p.kind != WqKind::shared)
    return SemanticError{"waits", 0,
                         "waits needs kind shared: the other kinds run a CPU's works on one thread, where a wait for a "
                         "work queued behind is a cycle"};
  for (auto [i, j] : p.waits)
    if (j >= p.works)
      return SemanticError{"waits", 0, "waits: w" + std::to_string(j) + " but the program has works " + std::to_string(p.works)};
  if (!p.waits.empty() && !p.ordered && p.max_active >= 2 && p.max_active < 2 * p.works)
    return SemanticError{"waits", 0,
                         "waits with max_active " + std::to_string(p.max_active) + " (2 or more, below twice the works: " +
                             std::to_string(2 * p.works) +
                             "): the contract does not promise such a wait graph completes (C16's known limit: a work "
                             "behind a max_active whose slot holders all wait); use max_active 0, 1 or at least " +
                             std::to_string(2 * p.works)};
  // A work armed with a delay that may never fire: flush_work waits for it
  // forever (C10 waits for an armed queueing), and so does a callback's wait.
  for (int w = 0; w < p.works; ++w) {
    size_t armed = p.ops.size();
    for (size_t i = 0; i < p.ops.size() && armed == p.ops.size(); ++i)
      if (is_delayed_op(p.ops[i].kind) && p.ops[i].work == w && p.ops[i].value >= kNeverFiresUs) armed = i;
    if (armed == p.ops.size()) continue;
    const int64_t d = p.ops[armed].value;
    const std::string why = " with a delay that may never fire (" + (d == kUsMax ? "max" : us_text(d) + " us") +
                            "): only flush_delayed_work, drain, destroy or a cancel fire or remove such a timer "
                            "(docs/CONTRACT.md, Durations)";
    for (size_t i = 0; i < p.ops.size(); ++i)
      if (p.ops[i].kind == OpKind::flush_work && p.ops[i].work == w)
        return SemanticError{"", i,
                             "flush_work w" + std::to_string(w) + " waits for an armed queueing (C10), and operation #" +
                                 std::to_string(armed) + " arms w" + std::to_string(w) + why +
                                 ": it would wait forever; use flush_delayed_work"};
    for (auto [i, j] : p.waits)
      if (j == w)
        return SemanticError{"", armed,
                             "w" + std::to_string(w) + " is waited for by w" + std::to_string(i) +
                                 "'s callback (waits), and this operation arms it" + why + ": the wait would never end"};
  }
  return std::nullopt;
}

}  // namespace

Program parse_program(const std::string& text) {
  Program p;
  p.ops.clear();
  std::vector<int> op_lines;
  std::vector<std::pair<std::string, int>> seen_keys;  // key, line
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    if (size_t hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
    auto t = tokens(raw);
    if (t.empty()) continue;
    const std::string& head = t[0];
    if (head.size() >= 2 && head[0] == 'c' && std::isdigit(static_cast<unsigned char>(head[1]))) {
      Op op;
      op.caller = static_cast<int>(parse_int(line, "caller", head.substr(1), 0, 15));
      if (t.size() < 2) fail_line(line, "'" + head + "' needs an operation (one of: " + known_ops() + ")");
      int kind = -1;
      for (int i = 0; i < kOpKinds; ++i)
        if (t[1] == to_string(static_cast<OpKind>(i))) kind = i;
      if (kind < 0) fail_line(line, "unknown operation '" + t[1] + "' (known: " + known_ops() + ")");
      op.kind = static_cast<OpKind>(kind);
      const size_t want = 2 + (op_uses_cpu(op.kind) ? 1 : 0) + (op_uses_work(op.kind) ? 1 : 0) +
                          (op_uses_value(op.kind) ? 1 : 0);
      if (t.size() != want)
        fail_line(line, "'" + std::string(to_string(op.kind)) + "' takes " + std::to_string(want - 2) +
                            " argument(s): c" + std::to_string(op.caller) + " " + op_usage(op.kind));
      size_t i = 2;
      if (op_uses_cpu(op.kind)) op.cpu = static_cast<int>(parse_int(line, "CPU", t[i++], -1000000, 1000000));
      if (op_uses_work(op.kind)) {
        const std::string& w = t[i++];
        if (w.size() < 2 || w[0] != 'w') fail_line(line, "expected a work like w0, got '" + w + "'");
        op.work = static_cast<int>(parse_int(line, "work index", w.substr(1), 0, 63));
      }
      if (op_uses_value(op.kind)) {
        const std::string& v = t[i++];
        if (op.kind == OpKind::sleep) op.value = parse_int(line, "sleep (us)", v, 0, 1'000'000'000);
        else if (op.kind == OpKind::fail_spawns) op.value = parse_int(line, "fail_spawns count", v, 0, 1'000'000);
        else if (op.kind == OpKind::fail_spawns_nth) op.value = parse_int(line, "fail_spawns_nth N", v, 0, 1'000'000);
        else if (op.kind == OpKind::fail_spawns_pct) op.value = parse_int(line, "fail_spawns_pct percent", v, 0, 100);
        else op.value = parse_us(line, "delay (us)", v, -1'000'000'000);
      }
      p.ops.push_back(op);
      op_lines.push_back(line);
      continue;
    }
    if (t.size() != 2) fail_line(line, "expected 'key value' or an operation like 'c0 queue_work_on 1 w0', got '" + raw + "'");
    for (auto& [k, l] : seen_keys)
      if (k == head) fail_line(line, "'" + head + "' given twice");
    seen_keys.emplace_back(head, line);
    const std::string& v = t[1];
    if (head == "kind") {
      bool found = false;
      for (WqKind k : kKinds)
        if (v == to_string(k)) {
          p.kind = k;
          found = true;
        }
      if (!found) fail_line(line, "unknown kind '" + v + "' (known: per_cpu, lazy, single_thread, ordered, shared)");
    } else if (head == "ncpus") {
      p.ncpus = static_cast<int>(parse_int(line, "ncpus", v, 1, 64));
    } else if (head == "works") {
      p.works = static_cast<int>(parse_int(line, "works", v, 1, 64));
    } else if (head == "callers") {
      p.callers = static_cast<int>(parse_int(line, "callers", v, 1, 16));
    } else if (head == "idle_us") {
      p.idle_us = parse_us(line, "idle_us", v, 0);
    } else if (head == "cooldown_us") {
      p.cooldown_us = parse_us(line, "cooldown_us", v, 0);
    } else if (head == "busy_us") {
      p.busy_us = parse_int(line, "busy_us", v, 0, 1'000'000'000);
    } else if (head == "busy_sleep") {
      if (v != "plain" && v != "engine") fail_line(line, "busy_sleep must be plain or engine, got '" + v + "'");
      p.busy_in_engine = v == "engine";
    } else if (head == "seed") {
      try {
        p.seed = parse_seed(v);
      } catch (const std::invalid_argument& e) {
        fail_line(line, e.what());
      }
    } else if (head == "strategy") {
      try {
        (void)make_strategy(v, 0);
      } catch (const std::invalid_argument& e) {
        fail_line(line, e.what());
      }
      if (v == "bytes") fail_line(line, "strategy 'bytes' needs a byte buffer: programs use random, pct or preempt");
      p.strategy = v;
    } else if (head == "core_cpu") {
      p.core_cpu = static_cast<int>(parse_int(line, "core_cpu", v, 0, 63));
    } else if (head == "dependency_check") {
      bool found = false;
      for (DependencyCheck c : {DependencyCheck::off, DependencyCheck::report, DependencyCheck::error})
        if (v == check_name(c)) {
          p.dependency_check = c;
          found = true;
        }
      if (!found) fail_line(line, "dependency_check must be off, report or error, got '" + v + "'");
    } else if (head == "stall_us") {
      p.stall_us = parse_us(line, "stall_us", v, 0);
    } else if (head == "max_workers_per_pool") {
      p.max_workers_per_pool = static_cast<int>(parse_int(line, "max_workers_per_pool", v, 1, 1'000'000));
    } else if (head == "faults") {
      try {
        p.faults = parse_fault_spec(v);
      } catch (const std::invalid_argument& e) {
        fail_line(line, e.what());
      }
    } else if (head == "options") {
      if (v != "none") {
        size_t at = 0;
        while (at <= v.size()) {
          const size_t comma = std::min(v.find(',', at), v.size());
          const std::string flag = v.substr(at, comma - at);
          bool* field = flag == "highpri" ? &p.highpri : flag == "unbound" ? &p.unbound : flag == "ordered" ? &p.ordered : nullptr;
          if (!field) fail_line(line, "options: expected highpri, unbound, ordered (comma-separated) or none, got '" + flag + "'");
          if (*field) fail_line(line, "options: '" + flag + "' given twice");
          *field = true;
          at = comma + 1;
        }
      }
    } else if (head == "max_active") {
      p.max_active = static_cast<int>(parse_int(line, "max_active", v, 0, 1'000'000));
    } else if (head == "waits") {
      size_t at = 0;
      while (at <= v.size()) {
        const size_t comma = std::min(v.find(',', at), v.size());
        const std::string pair = v.substr(at, comma - at);
        const size_t gt = pair.find('>');
        if (gt == std::string::npos || pair.size() < 4 || pair[0] != 'w' || pair[gt + 1] != 'w')
          fail_line(line, "waits: expected pairs like 'w0>w2,w1>w2' (the callback of w0 flushes w2), got '" + pair + "'");
        const int i = static_cast<int>(parse_int(line, "waits (waiting work)", pair.substr(1, gt - 1), 0, 63));
        const int j = static_cast<int>(parse_int(line, "waits (awaited work)", pair.substr(gt + 2), 0, 63));
        if (i >= j) fail_line(line, "waits: " + pair + " must wait for a higher-numbered work (an acyclic graph)");
        p.waits.emplace_back(i, j);
        at = comma + 1;
      }
    } else {
      fail_line(line, "unknown key '" + head +
                          "' (known: kind, ncpus, works, callers, idle_us, cooldown_us, busy_us, seed, strategy, waits, "
                          "core_cpu, dependency_check, stall_us, max_workers_per_pool, faults, options, max_active, "
                          "busy_sleep; operations start with a caller, e.g. 'c0 queue_work_on 1 w0')");
    }
  }
  for (size_t i = 0; i < p.ops.size(); ++i) {
    if (p.ops[i].caller >= p.callers)
      fail_line(op_lines[i], "caller c" + std::to_string(p.ops[i].caller) + " but the program has callers " +
                                 std::to_string(p.callers) + " (c0..c" + std::to_string(p.callers - 1) + ")");
    if (op_uses_work(p.ops[i].kind) && p.ops[i].work >= p.works)
      fail_line(op_lines[i], "work w" + std::to_string(p.ops[i].work) + " but the program has works " +
                                 std::to_string(p.works) + " (w0..w" + std::to_string(p.works - 1) + ")");
  }
  if (auto e = semantic_error(p)) {
    int at = 0;
    if (e->key.empty()) at = op_lines[e->op];
    for (auto& [k, l] : seen_keys)
      if (k == e->key) at = l;
    fail_line(at, e->message);
  }
  return p;
}

void validate_program(const Program& p) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("program: " + m); };
  if (p.ncpus < 1 || p.ncpus > 64) bad("ncpus must be in 1..64");
  if (p.works < 1 || p.works > 64) bad("works must be in 1..64");
  if (p.callers < 1 || p.callers > 16) bad("callers must be in 1..16");
  if (p.idle_us < 0 || p.cooldown_us < 0 || p.busy_us < 0 || p.stall_us < 0)
    bad("idle_us, cooldown_us, stall_us and busy_us must not be negative");
  if (p.core_cpu < 0) bad("core_cpu must not be negative");
  if (p.max_workers_per_pool < 1) bad("max_workers_per_pool must be at least 1");
  if (p.max_active < 0) bad("max_active must not be negative");
  {
    const FaultSpec& f = p.faults;
    const bool counted = f.kind == FaultSpec::Kind::next || f.kind == FaultSpec::Kind::nth;
    if ((counted && (f.n < 1 || f.n > 1'000'000)) || (f.kind == FaultSpec::Kind::pct && (f.n < 0 || f.n > 100)))
      bad("faults: " + to_string(f) + " is out of range");
  }
  (void)make_strategy(p.strategy, 0);
  if (p.strategy == "bytes") bad("strategy 'bytes' is not available for programs");
  for (auto [i, j] : p.waits)
    if (i < 0 || i >= j || j >= p.works) bad("waits: each pair must be wI>wJ with I < J < works");
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    const std::string at = "operation #" + std::to_string(i) + " (" + write_op(op) + "): ";
    if (op.kind >= OpKind::count) bad(at + "unknown kind");
    if (op.caller < 0 || op.caller >= p.callers) bad(at + "caller out of range");
    if (op_uses_work(op.kind) && (op.work < 0 || op.work >= p.works)) bad(at + "work out of range");
    if (op.kind == OpKind::sleep && op.value < 0) bad(at + "negative sleep");
    if ((op.kind == OpKind::fail_spawns || op.kind == OpKind::fail_spawns_nth) && (op.value < 0 || op.value > 1'000'000))
      bad(at + "count out of range");
    if (op.kind == OpKind::fail_spawns_pct && (op.value < 0 || op.value > 100)) bad(at + "percent out of range");
  }
  if (auto e = semantic_error(p))
    bad((e->key.empty() ? "operation #" + std::to_string(e->op) + " (" + write_op(p.ops[e->op]) + ")" : e->key) + ": " +
        e->message);
}

// ---------------------------------------------------------------------------
// Executor

namespace {

struct WorkModel {
  int64_t acc_lo = 0;  // accepted queueings, certainly
  int64_t acc_hi = 0;  // accepted queueings, at most
  int64_t cancelled = 0;
  bool maybe_pending = false;  // false: certainly not pending
  bool maybe_armed = false;    // the pending queueing may be an armed timer
  bool quiet = true;           // nothing queued or running since the last flush_work / cancel_work_sync
};

struct ModelViolation {
  std::string rule;
  std::string message;
  uint64_t work_id = 0;      // engine id of the work concerned (0: none)
  uint64_t event_count = 0;  // events recorded when it was detected
};

// Everything the run shares with the outside: lives outside the world, so a
// run that hangs leaves it intact.
struct Exec {
  const Program& p;
  std::vector<int64_t> runs;
  std::vector<WorkModel> model;
  std::vector<int> owner;                           // the only caller touching the work, or -1
  std::vector<char> drain_by_other;                 // [caller]: another caller drains or destroys
  std::vector<char> destroy_by_other;               // [caller]: another caller destroys
  std::vector<std::vector<char>> cancel_sync_other;  // [caller][work]: another caller cancel_work_syncs it
  bool single_hotplug = true;                       // at most one caller does hotplug
  std::vector<char> online;
  std::vector<char> destroyed_by;  // [caller]: its destroy returned
  int destroys_ok = 0;
  std::vector<std::string> log;
  std::vector<ModelViolation> violations;
  // Errors thrown by the callbacks' waits (waits).
  struct WaitError {
    int work;  // the waiting one
    Errc code;
    std::string message;
  };
  std::vector<WaitError> wait_errors;
  // C17 for delays: every call on a work and every drain or destroy,
  // checked against the event stream at the end (sim/delay_bounds.hpp).
  DelayBounds delay_bounds;
  SimEngine* eng = nullptr;
  ScenarioContext* ctx = nullptr;  // knob recording
  std::vector<std::unique_ptr<SimDelayedWork>>* works = nullptr;

  explicit Exec(const Program& prog)
      : p(prog),
        runs(static_cast<size_t>(prog.works), 0),
        model(static_cast<size_t>(prog.works)),
        owner(static_cast<size_t>(prog.works), -2),
        drain_by_other(static_cast<size_t>(prog.callers), 0),
        destroy_by_other(static_cast<size_t>(prog.callers), 0),
        cancel_sync_other(static_cast<size_t>(prog.callers), std::vector<char>(static_cast<size_t>(prog.works), 0)),
        online(static_cast<size_t>(prog.ncpus), 1),
        destroyed_by(static_cast<size_t>(prog.callers), 0),
        delay_bounds(static_cast<size_t>(prog.works)) {
    int hotplugger = -1;
    for (const Op& op : p.ops) {
      if (op_uses_work(op.kind)) {
        int& o = owner[static_cast<size_t>(op.work)];
        o = (o == -2 || o == op.caller) ? op.caller : -1;
      }
      for (int c = 0; c < p.callers; ++c) {
        if (c == op.caller) continue;
        if (op.kind == OpKind::drain_workqueue || op.kind == OpKind::destroy) drain_by_other[static_cast<size_t>(c)] = 1;
        if (op.kind == OpKind::destroy) destroy_by_other[static_cast<size_t>(c)] = 1;
        if (op.kind == OpKind::cancel_work_sync || op.kind == OpKind::cancel_delayed_work_sync)
          cancel_sync_other[static_cast<size_t>(c)][static_cast<size_t>(op.work)] = 1;
      }
      if (op.kind == OpKind::cpu_offline || op.kind == OpKind::cpu_online) {
        if (hotplugger >= 0 && hotplugger != op.caller) single_hotplug = false;
        hotplugger = op.caller;
      }
    }
  }

  void violate(const std::string& rule, const std::string& msg, int work) {
    ModelViolation v;
    v.rule = rule;
    v.message = msg;
    if (work >= 0 && works) v.work_id = (*works)[static_cast<size_t>(work)]->id();
    if (eng) v.event_count = eng->event_count();
    violations.push_back(std::move(v));
  }

  std::string wname(int w) const { return "w" + std::to_string(w); }

  // After a call that resolves every queueing of `w`: runs must equal
  // accepted - cancelled.
  void check_settled(int w, const std::string& rule, const std::string& after) {
    const WorkModel& m = model[static_cast<size_t>(w)];
    const int64_t r = runs[static_cast<size_t>(w)];
    const int64_t lo = m.acc_lo - m.cancelled, hi = m.acc_hi - m.cancelled;
    std::string counts = " (" + std::to_string(m.acc_lo) + (m.acc_hi != m.acc_lo ? ".." + std::to_string(m.acc_hi) : "") +
                         " accepted queueing(s), " + std::to_string(m.cancelled) + " cancelled)";
    if (r < lo)
      violate(rule, "after " + after + " returned, " + wname(w) + " had run " + std::to_string(r) +
                        " time(s), expected " + std::to_string(lo) + counts + ": a queueing never ran",
              w);
    else if (r > hi)
      violate("C1", "after " + after + " returned, " + wname(w) + " had run " + std::to_string(r) +
                        " time(s), at most " + std::to_string(hi) + " expected" + counts + ": a queueing ran twice",
              w);
  }

  void accepted(int w, bool certain, bool armed) {
    WorkModel& m = model[static_cast<size_t>(w)];
    if (certain) ++m.acc_lo;
    ++m.acc_hi;
    m.maybe_pending = true;
    m.maybe_armed = armed;
    m.quiet = false;
  }

  void run_op(int c, size_t index, const Op& op, SimWorkqueue& wq);
  void queue_level_settle(int c, const std::string& rule, const std::string& after, bool skip_armed);
};

void Exec::queue_level_settle(int c, const std::string& rule, const std::string& after, bool skip_armed) {
  for (int w = 0; w < p.works; ++w) {
    if (owner[static_cast<size_t>(w)] != c) continue;
    WorkModel& m = model[static_cast<size_t>(w)];
    if (skip_armed && m.maybe_armed) {
      // The timer may not have fired yet: flush_workqueue does not wait for it.
      if (m.acc_lo == m.acc_hi && runs[static_cast<size_t>(w)] >= m.acc_lo - m.cancelled) {
        m.maybe_pending = false;
        m.maybe_armed = false;
      }
      continue;
    }
    check_settled(w, rule, after);
    m.maybe_pending = false;
    m.maybe_armed = false;
  }
}

void Exec::run_op(int c, size_t index, const Op& op, SimWorkqueue& wq) {
  SimEngine& e = *eng;
  const size_t cu = static_cast<size_t>(c);
  const bool cpu_bad = op_uses_cpu(op.kind) && (op.cpu < 0 || op.cpu >= p.ncpus);
  const bool delay_bad = is_delayed_op(op.kind) && op.value < 0;
  const bool mine_destroyed = destroyed_by[cu] != 0;
  const bool destroy_possible = mine_destroyed || destroy_by_other[cu];
  const bool queue_call = is_queue_op(op.kind) || op.kind == OpKind::flush_workqueue ||
                          op.kind == OpKind::drain_workqueue || op.kind == OpKind::destroy;

  // The errors this call may throw, and whether it must throw one.
  std::vector<Errc> allowed;
  bool must_throw = false;
  if (queue_call && destroy_possible) allowed.push_back(Errc::queue_destroyed);
  if (queue_call && mine_destroyed) must_throw = true;
  if (cpu_bad) {
    allowed.push_back(Errc::invalid_cpu);
    must_throw = true;
  }
  if (delay_bad) {
    allowed.push_back(Errc::invalid_argument);
    must_throw = true;
  }
  if (op.kind == OpKind::cpu_offline && op.cpu == p.core_cpu) {
    allowed.push_back(Errc::cpu_state);
    must_throw = true;
  }

  SimDelayedWork* work = op_uses_work(op.kind) ? (*works)[static_cast<size_t>(op.work)].get() : nullptr;
  const int w = op.work;
  const bool exclusive = op_uses_work(op.kind) && owner[static_cast<size_t>(w)] == c;
  WorkModel* m = op_uses_work(op.kind) ? &model[static_cast<size_t>(w)] : nullptr;
  // C2: PENDING is cleared before the callback starts, and the run counter
  // is bumped inside the callback: once every queueing that may have been
  // accepted has started (or was cancelled), an exclusive work is certainly
  // not pending.
  const bool all_started = m && runs[static_cast<size_t>(w)] >= m->acc_hi - m->cancelled;
  const bool surely_idle = m && exclusive && (!m->maybe_pending || all_started);
  const char* idle_rule = m && !m->maybe_pending ? nullptr : "C2";
  const std::string call = write_op(op).substr(write_op(op).find(' ') + 1);
  std::string result;
  std::optional<Errc> thrown;
  bool r = false;
  if (is_delayed_op(op.kind) && op.value >= 0) kit::drew(*ctx, "delay", duration_class(us_duration(op.value)));
  auto faults = [&](FaultSpec f) { kit::set_faults(*ctx, e, spawn_faults_of(f, p.seed ^ (0xfa175eedULL + index))); };
  // C17 for delays: the call's window, and whether it may fire timers.
  const int64_t call_ns = e.now_ns();
  const bool fires_all = op.kind == OpKind::drain_workqueue || op.kind == OpKind::destroy;
  DelayBounds::Token delay_token;
  if (fires_all) delay_bounds.drain_begin(call_ns);
  if (work) delay_token = delay_bounds.call_begin(static_cast<size_t>(w), call_ns);
  try {
    switch (op.kind) {
      case OpKind::queue_work_on: r = wq.queue_work_on(op.cpu, *work); break;
      case OpKind::queue_delayed_work_on: r = wq.queue_delayed_work_on(op.cpu, *work, us_duration(op.value)); break;
      case OpKind::mod_delayed_work: r = wq.mod_delayed_work_on(op.cpu, *work, us_duration(op.value)); break;
      case OpKind::cancel_work: r = e.cancel_work(*work); break;
      case OpKind::cancel_work_sync: r = e.cancel_work_sync(*work); break;
      case OpKind::cancel_delayed_work_sync: r = e.cancel_delayed_work_sync(*work); break;
      case OpKind::flush_work: r = e.flush_work(*work); break;
      case OpKind::flush_delayed_work: r = e.flush_delayed_work(*work); break;
      case OpKind::flush_workqueue: r = wq.flush(); break;
      case OpKind::drain_workqueue: wq.drain(); break;
      case OpKind::cpu_offline: r = e.cpu_offline(op.cpu); break;
      case OpKind::cpu_online: r = e.cpu_online(op.cpu); break;
      case OpKind::sleep: ScenarioContext::sleep_ns(op.value * 1000); break;
      case OpKind::fail_spawns: faults({op.value > 0 ? FaultSpec::Kind::next : FaultSpec::Kind::none, op.value}); break;
      case OpKind::fail_spawns_nth: faults({op.value > 0 ? FaultSpec::Kind::nth : FaultSpec::Kind::none, op.value}); break;
      case OpKind::fail_spawns_pct: faults({FaultSpec::Kind::pct, op.value}); break;
      case OpKind::fail_spawns_always: faults({FaultSpec::Kind::always, 0}); break;
      case OpKind::destroy: wq.destroy(); break;
      case OpKind::count: break;
    }
    result = r ? "true" : "false";
    if (op.kind == OpKind::drain_workqueue || op.kind == OpKind::destroy || op.kind == OpKind::sleep ||
        op.kind == OpKind::fail_spawns || op.kind == OpKind::fail_spawns_nth || op.kind == OpKind::fail_spawns_pct ||
        op.kind == OpKind::fail_spawns_always)
      result = "done";
  } catch (const Error& err) {
    thrown = err.code();
    result = "Error(" + std::string(to_string(err.code())) + ")";
  }
  if (fires_all) delay_bounds.drain_end();
  if (work) {
    // Armed: an accepted delayed queueing, or a mod_delayed_work that did
    // not throw (a rejected one, on a draining queue, runs nothing).
    const bool armed = !thrown && ((op.kind == OpKind::queue_delayed_work_on && r) || op.kind == OpKind::mod_delayed_work);
    delay_bounds.call_end(static_cast<size_t>(w), delay_token, e.now_ns(), armed, call_ns,
                          armed ? us_duration(op.value).count() : 0);
  }
  log.push_back("t=" + std::to_string(World::current()->now() / 1000) + "us c" + std::to_string(c) + " #" +
                std::to_string(index) + " " + call + " -> " + result);

  const std::string what = "c" + std::to_string(c) + " #" + std::to_string(index) + " " + call;
  if (thrown) {
    if (std::find(allowed.begin(), allowed.end(), *thrown) == allowed.end()) {
      std::string want;
      for (Errc a : allowed) want += (want.empty() ? "" : " or ") + std::string(to_string(a));
      violate(*thrown == Errc::queue_destroyed ? "C14" : rule_of(op.kind),
              what + " threw Error(" + std::string(to_string(*thrown)) + ")" +
                  (want.empty() ? ", expected no error" : ", expected " + want),
              op_uses_work(op.kind) ? w : -1);
    }
    return;  // an error changes nothing
  }
  if (must_throw) {
    std::string want;
    for (Errc a : allowed)
      if (a != Errc::queue_destroyed || mine_destroyed) want += (want.empty() ? "" : " or ") + std::string(to_string(a));
    const bool destroyed_case = mine_destroyed && queue_call;
    violate(destroyed_case ? "C14" : rule_of(op.kind),
            what + " returned " + result + ", expected Error(" + want + ")" +
                (destroyed_case ? " (this caller destroyed the queue before)" : ""),
            op_uses_work(op.kind) ? w : -1);
    return;
  }

  const bool drain_other = drain_by_other[cu] != 0;
  switch (op.kind) {
    case OpKind::queue_work_on:
    case OpKind::queue_delayed_work_on:
      if (r) {
        accepted(w, true, op.kind == OpKind::queue_delayed_work_on && op.value > 0);
      } else if (surely_idle && !drain_other) {
        violate(idle_rule ? idle_rule : "C1",
                what + " returned false, but " + wname(w) + " was not pending (" +
                    (idle_rule ? "every accepted queueing had started its callback, and PENDING is cleared before it"
                               : "nothing queued it since it ran, was cancelled or flushed") +
                    "): the queueing was refused",
                w);
      }
      break;
    case OpKind::mod_delayed_work: {
      if (r) {
        if (surely_idle)
          violate(idle_rule ? idle_rule : "C12",
                  what + " returned true (was pending), but " + wname(w) + " was certainly not pending" +
                      (idle_rule ? " (every accepted queueing had started its callback)" : ""),
                  w);
        ++m->cancelled;
      }
      const bool certain = !drain_other && (r || !cancel_sync_other[cu][static_cast<size_t>(w)]);
      accepted(w, certain, op.value > 0);
      break;
    }
    case OpKind::cancel_work:
    case OpKind::cancel_work_sync:
    case OpKind::cancel_delayed_work_sync:
      if (r) {
        if (surely_idle)
          violate(idle_rule ? idle_rule : "C12",
                  what + " returned true (was pending), but " + wname(w) + " was certainly not pending" +
                      (idle_rule ? " (every accepted queueing had started its callback)" : ""),
                  w);
        ++m->cancelled;
      }
      if (exclusive) {
        m->maybe_pending = false;
        m->maybe_armed = false;
        if (op.kind != OpKind::cancel_work) {
          m->quiet = true;
          check_settled(w, "C12", what);
        }
      }
      break;
    case OpKind::flush_work:
    case OpKind::flush_delayed_work:
      // flush_delayed_work fires an armed timer first, whatever its delay:
      // afterwards every queueing has run, as after flush_work (C10, C12).
      if (exclusive) {
        if (m->quiet && r)
          violate("C10", what + " returned true (it waited), but nothing of " + wname(w) +
                             " was queued or running since its last flush_work / flush_delayed_work / cancel_work_sync",
                  w);
        check_settled(w, "C10", what);
        m->maybe_pending = false;
        m->maybe_armed = false;
        m->quiet = true;
      }
      break;
    case OpKind::flush_workqueue: queue_level_settle(c, "C11", what, /*skip_armed=*/true); break;
    case OpKind::drain_workqueue: queue_level_settle(c, "C11", what, /*skip_armed=*/false); break;
    case OpKind::destroy:
      if (++destroys_ok > 1) violate("C14", what + " returned, but the queue had already been destroyed", -1);
      destroyed_by[cu] = 1;
      queue_level_settle(c, "C14", what, /*skip_armed=*/false);
      break;
    case OpKind::cpu_offline:
    case OpKind::cpu_online: {
      const bool want_online = op.kind == OpKind::cpu_online;
      char& on = online[static_cast<size_t>(op.cpu)];
      if (single_hotplug && r != ((on != 0) != want_online))
        violate("C13", what + " returned " + result + ", but cpu " + std::to_string(op.cpu) + " was " +
                           (on ? "online" : "offline"),
                -1);
      on = want_online ? 1 : 0;
      break;
    }
    default: break;
  }
}


}  // namespace

int64_t program_horizon_ns(const Program& p) {
  // Everything a caller may legitimately wait for, added up: each
  // queueing's run (busy_us), a creation retried after its cooldown, every
  // timer's delay, every caller's sleep, and the shared pools' watchdog
  // (a work stuck behind a blocked pool thread waits for it; 64 stall
  // timeouts, as the shared_deps scenario allows). A busy time, cooldown,
  // stall timeout or sleep that may never end (kNeverFiresUs or more)
  // leaves the program no horizon.
  auto never = [](int64_t us) { return us >= kNeverFiresUs; };
  if (never(p.busy_us) || never(p.cooldown_us) || never(p.stall_us)) return 0;
  int64_t us = 0;
  auto add = [&us](int64_t more) { us = more > INT64_MAX / 2 - us ? INT64_MAX / 2 : us + more; };
  int64_t queueings = p.works;
  for (const Op& op : p.ops) {
    // A delay that never fires by itself is never waited for (only
    // flush_delayed_work, drain and destroy fire it, at once:
    // validate_program refuses a wait for it).
    if (is_delayed_op(op.kind) && !never(op.value) && op.value > 0) add(op.value);
    if (op.kind == OpKind::sleep) {
      if (never(op.value)) return 0;
      if (op.value > 0) add(op.value);
    }
    if (is_queue_op(op.kind)) ++queueings;
  }
  for (int64_t i = 0; i < queueings; ++i) add(p.busy_us + p.cooldown_us);
  if (p.stall_us > 0) add(64 * p.stall_us);
  if (us >= (INT64_MAX / 2 - kDefaultHorizonNs) / 1000) return 0;
  return kDefaultHorizonNs + us * 1000;
}

ProgramOutcome run_program(const Program& p, const ProgramOptions& opt) {
  validate_program(p);
  WorldConfig wc;
  wc.seed = opt.override_seed ? opt.seed : p.seed;
  wc.strategy = opt.strategy.empty() ? p.strategy : opt.strategy;
  wc.max_steps = opt.max_steps;
  // A caller that waits, untimed, longer than the program could ever make
  // it wait ends the run (RunStatus::horizon, C15), rather than after the
  // 2M-step limit, seconds of wall clock, while timers keep the clock going.
  wc.max_virtual_ns = program_horizon_ns(p);
  const bool coarse_clock = draw_clock_and_wakeup_faults(wc, wc.seed);
  ProgramOutcome out;
  World world(wc);  // throws std::invalid_argument on a bad strategy
  Params params;
  ScenarioContext ctx(world, wc.seed, params, opt.bug);
  Exec x(p);
  x.ctx = &ctx;
  std::vector<std::unique_ptr<SimDelayedWork>>* works_alive = nullptr;

  out.run = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = p.ncpus;
    cfg.core_cpu = p.core_cpu;
    cfg.idle_timeout = us_duration(p.idle_us);
    cfg.spawn_cooldown = us_duration(p.cooldown_us);
    cfg.stall_timeout = us_duration(p.stall_us);
    cfg.max_workers_per_pool = p.max_workers_per_pool;
    cfg.dependency_check = p.dependency_check;
    cfg.spawn_faults = spawn_faults_of(p.faults, wc.seed ^ 0xfa175eedULL);
    cfg.record_events = true;
    cfg.planted_bug = opt.bug;
    ScopedEngine scoped(ctx, cfg);
    SimEngine& eng = *scoped;
    x.eng = &eng;
    // The queue's first creations (its core thread; the shared pools'
    // manager and rescuer) fail if the header's faults say so, and then
    // only with Error(spawn_failed) (C7, docs/CONTRACT.md "Errors").
    SimWorkqueue* wqp = nullptr;
    {
      const FaultSpec& f = p.faults;
      const int64_t first = p.kind == WqKind::shared ? 2 : 1;
      const bool must_fail = f.kind == FaultSpec::Kind::always || f.kind == FaultSpec::Kind::next ||
                             (f.kind == FaultSpec::Kind::nth && f.n <= first) ||
                             (f.kind == FaultSpec::Kind::pct && f.n >= 100);
      const bool may_fail = must_fail || (f.kind == FaultSpec::Kind::pct && f.n > 0);
      std::string result;
      try {
        wqp = &kit::create_queue(ctx, eng, "prog", p.kind, p.options());
      } catch (const Error& err) {
        result = "Error(" + std::string(to_string(err.code())) + ")";
        if (err.code() != Errc::spawn_failed || !may_fail)
          x.violate(err.code() == Errc::spawn_failed ? "C7" : "C14",
                    "create_workqueue threw " + result + " (faults " + to_string(f) + ")" +
                        (err.code() == Errc::spawn_failed ? ": no injected fault could fail its first creations"
                                                          : ", expected success or Error(spawn_failed)"),
                    -1);
      }
      if (wqp && must_fail)
        x.violate("C7", "create_workqueue returned, but faults " + to_string(f) +
                            " fail the queue's first creations: expected Error(spawn_failed)",
                  -1);
      if (!wqp)
        x.log.push_back("t=" + std::to_string(World::current()->now() / 1000) + "us create_workqueue " +
                        std::string(to_string(p.kind)) + " -> " + result + " (nothing else runs)");
    }
    const int64_t busy_ns = p.busy_us * 1000;
    std::vector<std::unique_ptr<SimDelayedWork>> works;
    for (int i = 0; i < p.works; ++i)
      works.push_back(std::make_unique<SimDelayedWork>(
          [&x, &ctx, &eng, &p, &works, i, busy_ns](SimWork&) {
            ++x.runs[static_cast<size_t>(i)];
            if (p.busy_in_engine) {
              // An engine wait: a pool thread stops counting as running.
              const Duration d(busy_ns > 0 ? ctx.rng.range(0, busy_ns) : 0);
              kit::drew(ctx, "sleep_for", duration_class(d));
              const int64_t from = World::current()->now();
              eng.sleep_for(d);
              const int64_t slept = World::current()->now() - from;
              if (slept < d.count())
                x.violate("C17", "work " + std::to_string(i) + ": sleep_for(" + std::to_string(d.count()) +
                                     "ns) returned after " + std::to_string(slept) + "ns", i);
            } else if (busy_ns > 0) {
              ScenarioContext::sleep_ns(ctx.rng.range(0, busy_ns));
            }
            for (auto [a, b] : p.waits)
              if (a == i) {
                try {
                  eng.flush_work(*works[static_cast<size_t>(b)]);
                } catch (const Error& err) {
                  // Judged after the run (C16; one-slot queues: C10).
                  x.log.push_back("t=" + std::to_string(World::current()->now() / 1000) + "us w" + std::to_string(i) +
                                  " (callback) flush_work w" + std::to_string(b) + " -> Error(" +
                                  std::string(to_string(err.code())) + ")");
                  x.wait_errors.push_back({i, err.code(),
                                           "w" + std::to_string(i) + "'s flush_work(w" + std::to_string(b) +
                                               ") threw Error(" + std::string(to_string(err.code())) + "): " +
                                               err.what()});
                  if (err.code() != Errc::deadlock) throw;
                }
              }
          },
          "w" + std::to_string(i)));
    x.works = &works;
    works_alive = &works;
    if (!wqp) {  // the queue could not be created: nothing to run
      x.works = nullptr;
      works_alive = nullptr;
      return;
    }
    SimWorkqueue& wq = *wqp;
    ctx.clients(p.callers, [&](int c) {
      for (size_t i = 0; i < p.ops.size(); ++i)
        if (p.ops[i].caller == c) x.run_op(c, i, p.ops[i], wq);
    });
    // Epilogue: every CPU back, no more faults, destroy (drains): from here
    // every accepted queueing must have run or been cancelled.
    for (int c = 0; c < p.ncpus; ++c)
      if (c != p.core_cpu) eng.cpu_online(c);
    eng.set_spawn_faults({});
    x.delay_bounds.drain_begin(eng.now_ns());  // destroy fires every armed timer (C17 allows it)
    if (!wq.destroyed()) wq.destroy();
    x.delay_bounds.drain_end();
    for (const std::string& v : x.delay_bounds.check(
             eng.events(), [&](size_t i) { return works[i]->id(); }, [](size_t i) { return "w" + std::to_string(i); }))
      x.violate("C17", v, -1);
    for (int w = 0; w < p.works; ++w) {
      const WorkModel& m = x.model[static_cast<size_t>(w)];
      const int64_t r = x.runs[static_cast<size_t>(w)];
      const int64_t lo = m.acc_lo - m.cancelled, hi = m.acc_hi - m.cancelled;
      if (r < lo || r > hi)
        x.violate("C1",
                  "at the end (queue destroyed, so drained) w" + std::to_string(w) + " had run " + std::to_string(r) +
                      " time(s), expected " + std::to_string(lo) + (hi != lo ? ".." + std::to_string(hi) : "") + " (" +
                      std::to_string(m.acc_lo) + (m.acc_hi != m.acc_lo ? ".." + std::to_string(m.acc_hi) : "") +
                      " accepted queueing(s), " + std::to_string(m.cancelled) + " cancelled)" +
                      (r < lo ? ": a queueing was lost" : ": a queueing ran twice"),
                  w);
    }
    // C16: the program's wait graph is acyclic (works wait for higher
    // works only; callers hold nothing): no wait may be refused and no
    // cycle reported, but for a queue with one active slot, where a wait
    // for a work behind the slot is Error(deadlock) in every mode (C10).
    if (!p.one_slot()) {
      for (auto& we : x.wait_errors)
        x.violate("C16", we.message + ", although the program's wait graph is acyclic (and no wait is behind its caller)",
                  we.work);
      if (eng.stats().dependency_cycles > 0)
        x.violate("C16",
                  "the engine reported " + std::to_string(eng.stats().dependency_cycles) +
                      " dependency cycle(s) although the program's wait graph is acyclic: " +
                      (eng.dependency_cycles().empty() ? std::string("?") : eng.dependency_cycles().front().describe()),
                  -1);
    } else {
      for (auto& we : x.wait_errors)
        if (we.code != Errc::deadlock) x.violate("C10", we.message + ", expected success or Error(deadlock)", we.work);
    }
    // Every wait in a program is an engine wait (callbacks flush, callers
    // call the engine, busy time is far below stall_timeout): the shared
    // pools' stall watchdog must never have been needed (C16). A small
    // stall_timeout (under 100 ms) may fire during a callback's plain busy
    // time, which the engine cannot see: not checked then.
    const bool watchdog_checked = p.stall_us == 0 || p.stall_us >= 100'000;
    if (p.kind == WqKind::shared && watchdog_checked && eng.stats().watchdog_rescues > 0)
      x.violate("C16",
                "the stall watchdog rescued a pool " + std::to_string(eng.stats().watchdog_rescues) +
                    " time(s) although every wait was an engine wait: a blocked thread was still counted as running",
                -1);
    x.works = nullptr;
    works_alive = nullptr;
  });
  (void)works_alive;

  out.config_lines = {"kind=" + std::string(to_string(p.kind)), "ncpus=" + std::to_string(p.ncpus),
                      "works=" + std::to_string(p.works), "callers=" + std::to_string(p.callers),
                      "idle_us=" + us_text(p.idle_us), "cooldown_us=" + us_text(p.cooldown_us),
                      "busy_us=" + std::to_string(p.busy_us), "ops=" + std::to_string(p.ops.size())};
  if (!p.waits.empty()) out.config_lines.push_back("waits=" + waits_text(p));
  {
    // The other header keys, when not at their defaults (as written).
    const std::string text = write_program(p);
    for (const char* key : {"core_cpu", "busy_sleep", "dependency_check", "stall_us", "max_workers_per_pool", "faults",
                            "options", "max_active"}) {
      const size_t at = text.find("\n" + std::string(key) + " ");
      if (at == std::string::npos) continue;
      const size_t end = text.find('\n', at + 1);
      std::string kv = text.substr(at + 1, end - at - 1);
      kv[kv.find(' ')] = '=';
      out.config_lines.push_back(kv);
    }
  }
  note_clock_and_wakeup_faults(out.config_lines, wc, world, coarse_clock);
  out.knobs = ctx.knobs;
  out.events = ctx.engine ? ctx.engine->events() : ctx.events;
  out.trace_hash = hash_events(out.events, out.run.schedule_hash);
  out.log = x.log;

  check::OracleOptions oo;
  oo.ncpus = p.ncpus;
  oo.core_cpu = p.core_cpu;
  oo.max_workers_per_pool = p.max_workers_per_pool;
  oo.idle_timeout_ns = ctx.idle_timeout_ns;
  oo.stall_timeout_ns = ctx.stall_timeout_ns;
  oo.spawn_cooldown_ns = ctx.spawn_cooldown_ns;
  oo.quiescent_end = out.run.status == RunStatus::ok || out.run.status == RunStatus::deadlock;
  out.violations = check::check_events(out.events, oo);
  for (const ModelViolation& mv : x.violations) {
    check::Violation v{mv.rule, "model: " + mv.message, {}};
    // The last few events of the work concerned before the check (or of
    // the run, for a queue-level call).
    for (auto it = out.events.rbegin(); it != out.events.rend() && v.events.size() < 3; ++it)
      if (it->seq < mv.event_count && (mv.work_id == 0 || it->work == mv.work_id)) v.events.push_back(it->seq);
    std::reverse(v.events.begin(), v.events.end());
    out.violations.push_back(std::move(v));
    ++out.model_violations;
  }

  Verdict verdict = judge(out.run, out.violations);
  out.failed = verdict.failed;
  out.rule = std::move(verdict.rule);
  out.headline = std::move(verdict.headline);
  return out;
}

std::string program_replay_command(const ProgramOptions& opt) {
  std::string cmd = "wqcheck run-program " + (opt.path.empty() ? std::string("PROGRAM") : opt.path);
  if (opt.override_seed) cmd += " --seed " + std::to_string(opt.seed);
  if (!opt.strategy.empty()) cmd += " --strategy " + opt.strategy;
  if (opt.bug != PlantedBug::none) cmd += " --planted " + std::string(to_string(opt.bug));
  if (opt.max_steps != ProgramOptions{}.max_steps) cmd += " --max-steps " + std::to_string(opt.max_steps);
  return cmd;
}

namespace {
void indent_lines(std::string& r, const std::string& text, const std::string& pad) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) r += pad + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}
}  // namespace

std::string program_failure_report(const Program& p, const ProgramOptions& opt, const ProgramOutcome& out,
                                   size_t max_log_lines) {
  std::string r = "FAIL " + out.headline + "\n";
  r += "  program: " + std::to_string(p.ops.size()) + " operation(s), seed " +
       std::to_string(opt.override_seed ? opt.seed : p.seed) + ", strategy " +
       (opt.strategy.empty() ? p.strategy : opt.strategy);
  if (opt.bug != PlantedBug::none) r += ", planted bug " + std::string(to_string(opt.bug));
  r += "\n  config:";
  for (auto& c : out.config_lines) r += " " + c;
  r += "\n  run: " + std::string(to_string(out.run.status)) + " after " + std::to_string(out.run.steps) + " steps, " +
       std::to_string(out.run.virtual_ns / 1000) + " us virtual, " + std::to_string(out.run.threads) + " threads\n";
  if (!out.violations.empty()) {
    const auto& v = out.violations.front();
    r += "  trace (the events that show it; > marks the violating ones):\n";
    indent_lines(r, check::explain(out.events, v, 40), "    ");
    if (out.violations.size() > 1) {
      r += "  also:\n";
      for (size_t i = 1; i < out.violations.size() && i < 6; ++i)
        r += "    " + out.violations[i].rule + ": " + out.violations[i].message + "\n";
      if (out.violations.size() > 6) r += "    (" + std::to_string(out.violations.size() - 6) + " more)\n";
    }
  }
  if (out.run.status == RunStatus::deadlock || out.run.status == RunStatus::step_limit ||
      out.run.status == RunStatus::crashed || out.run.status == RunStatus::spin ||
      out.run.status == RunStatus::horizon) {
    r += "  threads at the end:\n";
    indent_lines(r, out.run.message, "    ");
  }
  r += "  operations as executed (time, caller, #index in the program, result):\n";
  size_t first = out.log.size() > max_log_lines ? out.log.size() - max_log_lines : 0;
  if (first) r += "    (" + std::to_string(first) + " earlier operation(s) not shown)\n";
  for (size_t i = first; i < out.log.size(); ++i) r += "    " + out.log[i] + "\n";
  r += "  replay: " + program_replay_command(opt) + "\n";
  return r;
}

}  // namespace lazywq::sim
