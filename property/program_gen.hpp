// rapidcheck generators of operation programs (sim/program.hpp) and the
// program property shared by the tests: generate the whole program first
// (rapidcheck generators are not thread-safe and must not run inside the
// simulated world), then run it on the simulator and judge it with the
// reference model and the oracle.
//
// Generation is tuned so that the default 100 runs reach the admitted races:
// idle timeouts of 10-40 us with sleeps of 0-3 idle timeouts, delays around
// the idle timeout, creation faults, bursts to non-core CPUs on lazy queues,
// callbacks that take virtual time, several callers.
//
// And every knob a user can set (issue #13, docs/KNOBS.md): each one keeps
// the engine's default (or the tuned value above) in most programs and
// takes each of its other classes now and then: 1 and 5-8 CPUs, another
// core CPU, idle timeout and cooldown 0, tiny, an hour or never,
// DependencyCheck off and error, a stall watchdog off, small or never,
// pools capped at 1-8 threads, creation faults before the queue (some of
// which the queue's creation cannot survive: Error(spawn_failed)) and
// after it (next N, the Nth, a probability, for good), the shared kind's
// options and max_active (1, 2, 3-8: more works queued than it), busy
// time spent in Engine::sleep_for, delays of 0, under 10 us, an hour, and
// near or at Duration::max(). A knob draw of 0 is the default, so
// shrinking goes back to defaults.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sim/isolate.hpp"
#include "sim/program.hpp"

namespace lazywq::sim {
// rapidcheck prints counterexamples with this (found by ADL): the program
// in its text format, ready for `wqcheck run-program`.
inline void showValue(const Program& p, std::ostream& os) { os << "\n" << write_program(p); }
}  // namespace lazywq::sim

namespace lazywq::prop {

using sim::Op;
using sim::OpKind;
using sim::Program;

// Scalars are generated at full size: rapidcheck's size only scales the
// program length, not the knobs (inRange at size 0 always gives its minimum).
template <class G>
auto full(G g) {
  return rc::gen::resize(100, std::move(g));
}

// The knob draws of a header, each in 0..999 (0 .. a threshold: the default).
enum Knob : size_t {
  kKnobNcpus,
  kKnobCore,
  kKnobIdle,
  kKnobCooldown,
  kKnobCheck,
  kKnobStall,
  kKnobCap,
  kKnobFaults,
  kKnobHighpri,
  kKnobUnbound,
  kKnobOrdered,
  kKnobMaxActive,
  kKnobBusy,
  kKnobCount
};

struct RawHeader {
  WqKind kind;
  int ncpus, works, callers;
  int64_t idle_us, cooldown_us, busy_us;  // idle_us, cooldown_us: the tuned "normal" values (scales of sleeps, delays)
  uint64_t seed;
  std::string strategy;
  int wait_bits;  // shared: which pairs wI>wJ (I < J) wait, in pair order
  std::vector<int> knobs;  // kKnobCount draws in 0..999
};

struct RawOp {
  OpKind kind;
  int caller, cpu, work, value;
  bool shared;
};

// `only`: programs of that kind alone (a kind's own property, or a planted
// bug that lives in one kind).
inline rc::Gen<RawHeader> gen_header(int min_callers, int max_callers, std::optional<WqKind> only = std::nullopt) {
  using namespace rc;
  return gen::map(gen::tuple(only ? gen::just(*only)
                                  : gen::weightedElement<WqKind>({{8, WqKind::lazy},
                                                                  {2, WqKind::per_cpu},
                                                                  {1, WqKind::single_thread},
                                                                  {1, WqKind::ordered},
                                                                  {4, WqKind::shared}}),
                             gen::weightedElement<int>({{2, 2}, {2, 3}, {1, 4}}),  // ncpus
                             full(gen::inRange(1, 5)),                       // works 1..4
                             full(gen::inRange(min_callers, max_callers + 1)),  // callers
                             gen::element<int64_t>(10, 10, 20, 40),          // idle_us
                             gen::element<int64_t>(5, 10, 30),               // cooldown_us
                             gen::element<int64_t>(0, 5, 20, 20),            // busy_us
                             full(gen::arbitrary<uint64_t>()),               // scheduler seed
                             gen::weightedElement<std::string>({{6, "random"}, {2, "pct:3:400"}, {1, "preempt:4:200"}}),
                             gen::weightedOneOf<int>({{1, gen::just(0)}, {2, gen::just(63)}, {2, full(gen::inRange(1, 64))}}),  // wait_bits: none, all pairs, some
                             gen::container<std::vector<int>>(kKnobCount, full(gen::inRange(0, 1000)))),  // knobs
                  [](const auto& t) {
                    return RawHeader{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t), std::get<4>(t),
                                     std::get<5>(t), std::get<6>(t), std::get<7>(t), std::get<8>(t), std::get<9>(t),
                                     std::get<10>(t)};
                  });
}

inline rc::Gen<RawOp> gen_raw_op() {
  using namespace rc;
  // Weights: destroy is rare (it ends most of what a program can still
  // do), CPUs come back online twice as often as they go offline (an
  // offline CPU has no workers to race with).
  return gen::map(gen::tuple(gen::weightedElement<OpKind>({{36, OpKind::queue_work_on},
                                                           {12, OpKind::queue_delayed_work_on},
                                                           {9, OpKind::mod_delayed_work},
                                                           {9, OpKind::cancel_work},
                                                           {9, OpKind::cancel_work_sync},
                                                           {3, OpKind::cancel_delayed_work_sync},
                                                           {12, OpKind::flush_work},
                                                           {6, OpKind::flush_workqueue},
                                                           {3, OpKind::drain_workqueue},
                                                           {3, OpKind::cpu_offline},
                                                           {6, OpKind::cpu_online},
                                                           {36, OpKind::sleep},
                                                           {6, OpKind::fail_spawns},
                                                           {1, OpKind::destroy},
                                                           {4, OpKind::flush_delayed_work},
                                                           {2, OpKind::fail_spawns_nth},
                                                           {2, OpKind::fail_spawns_pct},
                                                           {1, OpKind::fail_spawns_always}}),
                             full(gen::inRange(0, 16)),    // caller (mod callers)
                             full(gen::inRange(0, 100)),   // cpu (mostly mod ncpus, a few invalid)
                             full(gen::inRange(0, 64)),    // work
                             full(gen::inRange(0, 1000)),  // value
                             gen::weightedElement<bool>({{1, true}, {3, false}})),  // shared with other callers
                  [](const auto& t) {
                    return RawOp{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t), std::get<4>(t),
                                 std::get<5>(t)};
                  });
}

// Known issues (reported; property/test_program_props.cpp, KnownIssue.*),
// all about a destroy racing another caller: a destroy racing a cpu_offline
// returns before the worker the offline retires is joined; a flush_workqueue
// racing a destroy returns after destroy_end; a queue_work_on that claims
// PENDING and then finds the queue dead releases it without an event, so a
// concurrent queue_busy looks like C2 to the oracle. While they are open,
// concurrent programs drain instead of destroying mid-program (the
// executor's final destroy, after every caller has finished, still runs);
// single-caller programs keep their destroys. Set to false to hunt them.
inline constexpr bool kAvoidConcurrentDestroy = false;

// A duration knob (idle timeout, cooldown): the tuned value most of the
// time (the idle exit race needs it), else 0, tiny (1-9 us), an hour, or
// never (Duration::max()), 3% each.
inline int64_t drawn_duration_us(int v, int64_t normal) {
  if (v < 880) return normal;
  if (v < 910) return 0;
  if (v < 940) return 1 + v % 9;
  if (v < 970) return 3'600'000'000;  // an hour: fires, after the clock jumps
  return sim::kUsMax;                  // never
}

// The header's knobs (RawHeader::knobs) into the program.
inline void draw_knobs(Program& p, const RawHeader& h) {
  auto k = [&](Knob i) { return h.knobs[static_cast<size_t>(i)]; };
  if (const int v = k(kKnobNcpus); v >= 940) p.ncpus = v < 970 ? 1 : 5 + v % 4;  // 1 CPU: no lazy worker to race with
  if (const int v = k(kKnobCore); v >= 800 && p.ncpus > 1) p.core_cpu = 1 + v % (p.ncpus - 1);
  p.idle_us = drawn_duration_us(k(kKnobIdle), h.idle_us);
  p.cooldown_us = drawn_duration_us(k(kKnobCooldown), h.cooldown_us);
  if (const int v = k(kKnobCheck); v >= 600) p.dependency_check = v < 800 ? DependencyCheck::off : DependencyCheck::error;
  if (const int v = k(kKnobStall); v >= 600)  // off, small (the watchdog fires in busy callbacks), never
    p.stall_us = v < 800 ? 0 : v < 900 ? 50 + v % 451 : sim::kUsMax;
  if (const int v = k(kKnobCap); v >= 850) p.max_workers_per_pool = v < 925 ? 1 : 2 + v % 7;
  // Faults before the queue exists: mostly a later creation (a worker's);
  // now and then one that the queue's own first creations cannot survive
  // (Error(spawn_failed), and the program ends there).
  if (const int v = k(kKnobFaults); v >= 900) {
    using FK = sim::FaultSpec::Kind;
    const int first = p.kind == WqKind::shared ? 2 : 1;  // the core thread; the pools' manager and rescuer
    if (v < 960) p.faults = {FK::nth, first + 1 + v % 4};
    else if (v < 980) p.faults = {FK::pct, 10 + v % 81};
    else if (v < 990) p.faults = {FK::next, 1};
    else p.faults = {FK::always, 0};
  }
  if (p.kind == WqKind::shared) {
    p.highpri = k(kKnobHighpri) >= 800;
    p.unbound = k(kKnobUnbound) >= 800;
    p.ordered = k(kKnobOrdered) >= 900;
    const int v = k(kKnobMaxActive);
    if (p.ordered) p.max_active = v >= 800 ? 1 : 0;
    else if (v >= 600) p.max_active = v < 700 ? 1 : v < 800 ? 2 : 3 + v % 6;
  }
  p.busy_in_engine = k(kKnobBusy) >= 750;
}

// Maps raw draws into a valid program: every index in range, CPUs mostly
// valid, sleeps and delays scaled to the idle timeout, works mostly private
// to one caller (so the model can check them exactly).
inline Program normalize(const RawHeader& h, const std::vector<RawOp>& raw) {
  Program p;
  p.kind = h.kind;
  p.ncpus = h.ncpus;
  p.works = h.works;
  p.callers = h.callers;
  p.busy_us = h.busy_us;
  p.seed = h.seed;
  p.strategy = h.strategy;
  draw_knobs(p, h);
  // Sleeps and delays are scaled to the tuned idle timeout, whatever the
  // drawn one (0, tiny or huge ones would make them meaningless).
  const int64_t idle = h.idle_us;
  // Shared works wait for higher-numbered ones from their callbacks (an
  // acyclic graph: it must complete, C16); the other kinds would deadlock
  // on a CPU's one thread by design.
  if (p.kind == WqKind::shared) {
    int bit = 0;
    for (int i = 0; i < p.works; ++i)
      for (int j = i + 1; j < p.works; ++j, ++bit)
        if (h.wait_bits & (1 << bit)) p.waits.emplace_back(i, j);
    // A max_active of 2 or more that the works can fill: the contract does
    // not promise waits complete (validate_program); keep the max_active,
    // with more works queued than it, and drop the waits.
    if (!p.ordered && p.max_active >= 2 && p.max_active < 2 * p.works) p.waits.clear();
  }
  // CPUs other than the core (lazy workers): the core is 0 unless drawn.
  auto non_core = [&](int r) {
    if (p.ncpus == 1) return 0;
    const int c = r % (p.ncpus - 1);
    return c >= p.core_cpu ? c + 1 : c;
  };
  for (const RawOp& r : raw) {
    Op op;
    op.kind = r.kind;
    op.caller = r.caller % p.callers;
    if (kAvoidConcurrentDestroy && p.callers > 1 && op.kind == OpKind::destroy) op.kind = OpKind::drain_workqueue;
    if (sim::op_uses_cpu(op.kind)) {
      if (r.cpu >= 98) op.cpu = r.cpu == 99 ? -1 : p.ncpus;  // 2%: invalid
      else if (r.cpu >= 30) op.cpu = non_core(r.cpu);         // mostly not the core: lazy workers
      else op.cpu = r.cpu % p.ncpus;
    }
    if (sim::op_uses_work(op.kind)) {
      const int mine = (p.works - op.caller + p.callers - 1) / p.callers;  // works w with w % callers == caller
      if (r.shared || mine <= 0 || p.callers == 1) op.work = r.work % p.works;
      else op.work = op.caller + p.callers * (r.work % mine);
    }
    const int64_t v = r.value;
    switch (op.kind) {
      case OpKind::sleep:
        // Half of the sleeps end around a worker's idle timeout after the
        // previous queueing (idle - 25% .. idle + 60 us + busy: the idle
        // exit race), the others anywhere in 0..3 idle timeouts.
        if (v < 500) op.value = idle - idle / 4 + v * (idle / 4 + 60 + p.busy_us) / 500;
        else op.value = (v - 500) * 3 * idle / 500;
        break;
      case OpKind::fail_spawns: op.value = 1 + v % 3; break;
      case OpKind::fail_spawns_nth: op.value = 1 + v % 4; break;
      case OpKind::fail_spawns_pct: op.value = v < 100 ? 0 : v < 800 ? 10 + v % 81 : 100; break;
      case OpKind::queue_delayed_work_on:
      case OpKind::mod_delayed_work:
        if (v >= 985) op.value = -1;  // 1.5%: invalid
        else if (v < 220) op.value = 0;
        else if (v < 250) op.value = 1 + v % 9;  // tiny: under 10 us
        else if (v < 955) op.value = (v - 250) * 2 * idle / 705;  // 0..2 idle timeouts
        else if (v < 970) op.value = 3'600'000'000 + v;           // an hour: fires after the clock jumps
        else op.value = v % 2 ? sim::kUsMax : sim::kUsLargest - v;  // never fires by itself
        break;
      default: break;
    }
    p.ops.push_back(op);
    if (op.kind == OpKind::queue_work_on && v < 350) {
      // A third of the queueings are an attempt at the admitted idle exit
      // race: queue, sleep until around the worker's idle timeout after
      // this run (idle .. idle + 60 us + busy: a queueing takes up to ~50
      // us of scheduling points to create the worker, migrate and run),
      // queue for the same CPU again, a few scheduling points from the
      // worker's decision to exit.
      Op sl;
      sl.kind = OpKind::sleep;
      sl.caller = op.caller;
      sl.value = idle + v * (60 + p.busy_us) / 350;
      p.ops.push_back(sl);
      p.ops.push_back(op);
    }
  }
  // A huge delay on a work a callback waits for (waits) blocks that wait
  // for the delay: never (docs/CONTRACT.md, Durations: until a drain), or
  // an hour of virtual time, in which a rescuer waiting for it polls every
  // millisecond (rescue_poll_ns), far beyond a run's step budget. One idle
  // timeout instead. A work that may be armed with a delay that never
  // fires is flushed with flush_delayed_work, which fires it (flush_work
  // would wait forever, by contract): validate_program's rule.
  std::vector<char> never(static_cast<size_t>(p.works), 0);
  for (Op& op : p.ops) {
    if ((op.kind != OpKind::queue_delayed_work_on && op.kind != OpKind::mod_delayed_work) || op.value < 3'600'000'000)
      continue;
    bool awaited = false;
    for (auto [i, j] : p.waits) awaited = awaited || j == op.work;
    if (awaited) op.value = idle;
    else if (op.value >= sim::kNeverFiresUs) never[static_cast<size_t>(op.work)] = 1;
  }
  for (Op& op : p.ops)
    if (op.kind == OpKind::flush_work && never[static_cast<size_t>(op.work)]) op.kind = OpKind::flush_delayed_work;
  return p;
}

// Programs of 0..60 operations (at most 8 + size/2) as rapidcheck's size goes 0..100.
inline rc::Gen<Program> gen_program(int min_callers, int max_callers, std::optional<WqKind> only = std::nullopt) {
  using namespace rc;
  auto ops = gen::withSize([](int size) {
    return gen::resize(8 + std::min(size, 100) * 52 / 100, gen::container<std::vector<RawOp>>(gen_raw_op()));
  });
  return gen::map(gen::tuple(gen_header(min_callers, max_callers, only), ops),
                  [](const std::tuple<RawHeader, std::vector<RawOp>>& t) {
                    return normalize(std::get<0>(t), std::get<1>(t));
                  });
}

// Step budget of one program run: generous for 30 operations, small enough
// that a livelock is reported quickly.
inline constexpr uint64_t kMaxSteps = 400'000;

// Where a failing program is saved for `wqcheck run-program`
// (LAZYWQ_PROPERTY_OUT, default the working directory).
inline std::string failure_path(const std::string& name) {
  const char* dir = std::getenv("LAZYWQ_PROPERTY_OUT");
  std::error_code ec;
  auto base = std::filesystem::absolute(dir && *dir ? dir : ".", ec);
  return ((ec ? std::filesystem::path(".") : base) / (name + ".wqprog")).lexically_normal().string();
}

// The program property: the generated program passes the model and the
// oracle. `last` (if given) receives the outcome of the last run.
inline void program_property(int min_callers, int max_callers, PlantedBug bug, const std::string& name,
                             sim::ProgramOutcome* last = nullptr, std::optional<WqKind> only = std::nullopt) {
  const Program p = *gen_program(min_callers, max_callers, only);
  sim::ProgramOptions opt;
  opt.bug = bug;
  opt.max_steps = kMaxSteps;
  sim::ProgramOutcome out;
  {
    // A crash or a spin in the engine kills the test process before
    // rapidcheck can shrink or print its reproduce string: save the program
    // and say how to run it (sim/isolate.hpp).
    const std::string crash_path = failure_path(name + "-crash");
    sim::ProgramOptions cmd = opt;
    cmd.path = crash_path;
    const sim::CrashNote note("a program generated by the property (" + name + "), saved to " + crash_path +
                                  " (rapidcheck cannot shrink a crash or print its reproduce string); run it alone: " +
                                  sim::program_replay_command(cmd),
                              sim::run_timeout_from_env(), crash_path, write_program(p));
    sim::test_fault("program", p.seed);  // test hook: nothing unless LAZYWQ_TEST_FAULT arms it
    out = sim::run_program(p, opt);
  }
  if (last) *last = out;
  RC_TAG(std::string(to_string(p.kind)));
  if (!out.failed) return;
  std::string saved;
  if (bug == PlantedBug::none) {
    // Shrinking reruns failing programs: the last one saved is the minimal one.
    opt.path = failure_path(name);
    std::ofstream f(opt.path);
    if (f) {
      f << write_program(p);
      saved = "\nprogram saved to " + opt.path + "\n";
    }
  }
  RC_FAIL(sim::program_failure_report(p, opt, out) + saved + "\nthe program (save it as a file for `" +
          sim::program_replay_command(opt) + "`):\n" + write_program(p));
}

}  // namespace lazywq::prop
