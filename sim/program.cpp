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

#include "sim/oracle.hpp"
#include "sim/scenario.hpp"
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
    case OpKind::flush_work: return true;
    default: return false;
  }
}

bool op_uses_value(OpKind k) {
  switch (k) {
    case OpKind::queue_delayed_work_on:
    case OpKind::mod_delayed_work:
    case OpKind::sleep:
    case OpKind::fail_spawns: return true;
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
    case OpKind::flush_work: return "C10";
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

std::string write_op(const Op& op) {
  std::string s = "c" + std::to_string(op.caller) + " " + to_string(op.kind);
  if (op_uses_cpu(op.kind)) s += " " + std::to_string(op.cpu);
  if (op_uses_work(op.kind)) s += " w" + std::to_string(op.work);
  if (op_uses_value(op.kind)) s += " " + std::to_string(op.value);
  return s;
}

// "w0>w2,w1>w2"
std::string waits_text(const Program& p) {
  std::string w;
  for (auto [i, j] : p.waits) w += (w.empty() ? "" : ",") + std::string("w") + std::to_string(i) + ">w" + std::to_string(j);
  return w;
}

std::string write_program(const Program& p) {
  std::string s = "# lazywq operation program (wqcheck run-program FILE)\n";
  s += "kind " + std::string(to_string(p.kind)) + "\n";
  s += "ncpus " + std::to_string(p.ncpus) + "\n";
  s += "works " + std::to_string(p.works) + "\n";
  s += "callers " + std::to_string(p.callers) + "\n";
  s += "idle_us " + std::to_string(p.idle_us) + "\n";
  s += "cooldown_us " + std::to_string(p.cooldown_us) + "\n";
  s += "busy_us " + std::to_string(p.busy_us) + "\n";
  s += "seed " + std::to_string(p.seed) + "\n";
  s += "strategy " + p.strategy + "\n";
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

}  // namespace

Program parse_program(const std::string& text) {
  Program p;
  p.ops.clear();
  std::vector<int> op_lines;
  std::vector<std::string> seen_keys;
  int waits_line = 0;  // the line of the waits header, for errors found after the header
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
      std::string usage = std::string(to_string(op.kind)) + (op_uses_cpu(op.kind) ? " CPU" : "") +
                          (op_uses_work(op.kind) ? " wN" : "") +
                          (op.kind == OpKind::sleep ? " US" : op.kind == OpKind::fail_spawns ? " N"
                                                              : op_uses_value(op.kind)       ? " DELAY_US"
                                                                                             : "");
      const size_t want = 2 + (op_uses_cpu(op.kind) ? 1 : 0) + (op_uses_work(op.kind) ? 1 : 0) +
                          (op_uses_value(op.kind) ? 1 : 0);
      if (t.size() != want)
        fail_line(line, "'" + std::string(to_string(op.kind)) + "' takes " + std::to_string(want - 2) +
                            " argument(s): c" + std::to_string(op.caller) + " " + usage);
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
        else op.value = parse_int(line, "delay (us)", v, -1'000'000'000, 1'000'000'000);
      }
      p.ops.push_back(op);
      op_lines.push_back(line);
      continue;
    }
    if (t.size() != 2) fail_line(line, "expected 'key value' or an operation like 'c0 queue_work_on 1 w0', got '" + raw + "'");
    if (std::find(seen_keys.begin(), seen_keys.end(), head) != seen_keys.end())
      fail_line(line, "'" + head + "' given twice");
    seen_keys.push_back(head);
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
      p.idle_us = parse_int(line, "idle_us", v, 0, 1'000'000'000);
    } else if (head == "cooldown_us") {
      p.cooldown_us = parse_int(line, "cooldown_us", v, 0, 1'000'000'000);
    } else if (head == "busy_us") {
      p.busy_us = parse_int(line, "busy_us", v, 0, 1'000'000'000);
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
    } else if (head == "waits") {
      waits_line = line;
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
                          "' (known: kind, ncpus, works, callers, idle_us, cooldown_us, busy_us, seed, strategy, waits; "
                          "operations start with a caller, e.g. 'c0 queue_work_on 1 w0')");
    }
  }
  if (!p.waits.empty()) {
    if (p.kind != WqKind::shared)
      fail_line(waits_line, "waits needs kind shared: the other kinds run a CPU's works on one thread, where a wait "
                            "for a work queued behind is a cycle");
    for (auto [i, j] : p.waits)
      if (j >= p.works)
        fail_line(waits_line, "waits: w" + std::to_string(j) + " but the program has works " + std::to_string(p.works));
  }
  for (size_t i = 0; i < p.ops.size(); ++i) {
    if (p.ops[i].caller >= p.callers)
      fail_line(op_lines[i], "caller c" + std::to_string(p.ops[i].caller) + " but the program has callers " +
                                 std::to_string(p.callers) + " (c0..c" + std::to_string(p.callers - 1) + ")");
    if (op_uses_work(p.ops[i].kind) && p.ops[i].work >= p.works)
      fail_line(op_lines[i], "work w" + std::to_string(p.ops[i].work) + " but the program has works " +
                                 std::to_string(p.works) + " (w0..w" + std::to_string(p.works - 1) + ")");
  }
  return p;
}

void validate_program(const Program& p) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("program: " + m); };
  if (p.ncpus < 1 || p.ncpus > 64) bad("ncpus must be in 1..64");
  if (p.works < 1 || p.works > 64) bad("works must be in 1..64");
  if (p.callers < 1 || p.callers > 16) bad("callers must be in 1..16");
  if (p.idle_us < 0 || p.cooldown_us < 0 || p.busy_us < 0) bad("idle_us, cooldown_us and busy_us must not be negative");
  (void)make_strategy(p.strategy, 0);
  if (p.strategy == "bytes") bad("strategy 'bytes' is not available for programs");
  if (!p.waits.empty() && p.kind != WqKind::shared) bad("waits needs kind shared");
  for (auto [i, j] : p.waits)
    if (i < 0 || i >= j || j >= p.works) bad("waits: each pair must be wI>wJ with I < J < works");
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    const std::string at = "operation #" + std::to_string(i) + " (" + write_op(op) + "): ";
    if (op.kind >= OpKind::count) bad(at + "unknown kind");
    if (op.caller < 0 || op.caller >= p.callers) bad(at + "caller out of range");
    if (op_uses_work(op.kind) && (op.work < 0 || op.work >= p.works)) bad(at + "work out of range");
    if (op.kind == OpKind::sleep && op.value < 0) bad(at + "negative sleep");
    if (op.kind == OpKind::fail_spawns && (op.value < 0 || op.value > 1'000'000)) bad(at + "count out of range");
  }
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
  SimEngine* eng = nullptr;
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
        destroyed_by(static_cast<size_t>(prog.callers), 0) {
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
  if (op.kind == OpKind::cpu_offline && op.cpu == 0) {
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
  try {
    switch (op.kind) {
      case OpKind::queue_work_on: r = wq.queue_work_on(op.cpu, *work); break;
      case OpKind::queue_delayed_work_on:
        r = wq.queue_delayed_work_on(op.cpu, *work, std::chrono::microseconds(op.value));
        break;
      case OpKind::mod_delayed_work: r = wq.mod_delayed_work_on(op.cpu, *work, std::chrono::microseconds(op.value)); break;
      case OpKind::cancel_work: r = e.cancel_work(*work); break;
      case OpKind::cancel_work_sync: r = e.cancel_work_sync(*work); break;
      case OpKind::cancel_delayed_work_sync: r = e.cancel_delayed_work_sync(*work); break;
      case OpKind::flush_work: r = e.flush_work(*work); break;
      case OpKind::flush_workqueue: r = wq.flush(); break;
      case OpKind::drain_workqueue: wq.drain(); break;
      case OpKind::cpu_offline: r = e.cpu_offline(op.cpu); break;
      case OpKind::cpu_online: r = e.cpu_online(op.cpu); break;
      case OpKind::sleep: ScenarioContext::sleep_ns(op.value * 1000); break;
      case OpKind::fail_spawns: e.set_spawn_faults({.fail_next = static_cast<uint64_t>(op.value)}); break;
      case OpKind::destroy: wq.destroy(); break;
      case OpKind::count: break;
    }
    result = r ? "true" : "false";
    if (op.kind == OpKind::drain_workqueue || op.kind == OpKind::destroy || op.kind == OpKind::sleep ||
        op.kind == OpKind::fail_spawns)
      result = "done";
  } catch (const Error& err) {
    thrown = err.code();
    result = "Error(" + std::string(to_string(err.code())) + ")";
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
      if (exclusive) {
        if (m->quiet && r)
          violate("C10", what + " returned true (it waited), but nothing of " + wname(w) +
                             " was queued or running since its last flush_work / cancel_work_sync",
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

ProgramOutcome run_program(const Program& p, const ProgramOptions& opt) {
  validate_program(p);
  WorldConfig wc;
  wc.seed = opt.override_seed ? opt.seed : p.seed;
  wc.strategy = opt.strategy.empty() ? p.strategy : opt.strategy;
  wc.max_steps = opt.max_steps;
  ProgramOutcome out;
  World world(wc);  // throws std::invalid_argument on a bad strategy
  Params params;
  ScenarioContext ctx(world, wc.seed, params, opt.bug);
  Exec x(p);
  std::vector<std::unique_ptr<SimDelayedWork>>* works_alive = nullptr;

  out.run = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = p.ncpus;
    cfg.idle_timeout = std::chrono::microseconds(p.idle_us);
    cfg.spawn_cooldown = std::chrono::microseconds(p.cooldown_us);
    cfg.record_events = true;
    cfg.planted_bug = opt.bug;
    ScopedEngine scoped(ctx, cfg);
    SimEngine& eng = *scoped;
    x.eng = &eng;
    SimWorkqueue& wq = eng.create_workqueue("prog", p.kind);
    const int64_t busy_ns = p.busy_us * 1000;
    std::vector<std::unique_ptr<SimDelayedWork>> works;
    for (int i = 0; i < p.works; ++i)
      works.push_back(std::make_unique<SimDelayedWork>(
          [&x, &ctx, &eng, &p, &works, i, busy_ns](SimWork&) {
            ++x.runs[static_cast<size_t>(i)];
            if (busy_ns > 0) ScenarioContext::sleep_ns(ctx.rng.range(0, busy_ns));
            for (auto [a, b] : p.waits)
              if (a == i) eng.flush_work(*works[static_cast<size_t>(b)]);
          },
          "w" + std::to_string(i)));
    x.works = &works;
    works_alive = &works;
    ctx.clients(p.callers, [&](int c) {
      for (size_t i = 0; i < p.ops.size(); ++i)
        if (p.ops[i].caller == c) x.run_op(c, i, p.ops[i], wq);
    });
    // Epilogue: every CPU back, no more faults, destroy (drains): from here
    // every accepted queueing must have run or been cancelled.
    for (int c = 1; c < p.ncpus; ++c) eng.cpu_online(c);
    eng.set_spawn_faults({});
    if (!wq.destroyed()) wq.destroy();
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
    // Every wait in a program is an engine wait (callbacks flush, callers
    // call the engine, busy time is far below stall_timeout): the shared
    // pools' stall watchdog must never have been needed (C16).
    if (p.kind == WqKind::shared && eng.stats().watchdog_rescues > 0)
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
                      "idle_us=" + std::to_string(p.idle_us), "cooldown_us=" + std::to_string(p.cooldown_us),
                      "busy_us=" + std::to_string(p.busy_us), "ops=" + std::to_string(p.ops.size())};
  if (!p.waits.empty()) out.config_lines.push_back("waits=" + waits_text(p));
  out.events = ctx.engine ? ctx.engine->events() : ctx.events;
  out.trace_hash = hash_events(out.events, out.run.schedule_hash);
  out.log = x.log;

  check::OracleOptions oo;
  oo.ncpus = p.ncpus;
  oo.core_cpu = 0;
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
      out.run.status == RunStatus::crashed) {
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
