// Properties of the engine's argument checking and of its creation faults,
// each against a model written from the documentation (docs/CONTRACT.md's
// Errors, types.hpp's SpawnFaults), with values drawn at the boundaries.
// The unit tests pin single cases; these search every combination, so an
// argument check or a fault rule that drifts is caught by a second
// technique (issue #14: mutants of the constructor's and create_workqueue's
// checks and of decide_spawn_failure were killed by one unit test each).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <climits>
#include <initializer_list>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"

using namespace lazywq;

namespace {

// One of `values`, uniformly: rapidcheck scales its ranges with the size,
// which would leave the last values to the last cases.
template <class T>
T one_of(std::initializer_list<T> values) {
  const int i = *rc::gen::resize(100, rc::gen::inRange(0, static_cast<int>(values.size())));
  return *(values.begin() + i);
}

// What docs/CONTRACT.md (Errors) and types.hpp say an EngineConfig must be.
bool engine_config_valid(const EngineConfig& c) {
  return c.ncpus >= 1 && c.core_cpu >= 0 && c.core_cpu < c.ncpus && c.idle_timeout >= Duration::zero() &&
         c.spawn_cooldown >= Duration::zero() && c.stall_timeout >= Duration::zero() && c.max_workers_per_pool >= 1;
}

// What create_workqueue accepts: a WqKind; options only for shared queues;
// max_active in [0, 2^20]; an ordered queue's max_active 0 or 1.
bool queue_args_valid(uint8_t kind, const WqOptions& o) {
  const bool any_option = o.highpri || o.unbound || o.ordered || o.max_active != 0;
  return kind <= static_cast<uint8_t>(WqKind::shared) && (kind == static_cast<uint8_t>(WqKind::shared) || !any_option) &&
         o.max_active >= 0 && o.max_active <= (1 << 20) && !(o.ordered && o.max_active > 1);
}

// SpawnFaults' documented rule, one creation attempt at a time (attempts
// counted from set_spawn_faults): fail_always; else the next fail_next;
// else the fail_nth-th; else with fail_probability, drawn by splitmix64
// from `seed` in creation order (each draw only when the probability
// rule is reached).
struct FaultModel {
  SpawnFaults f;
  uint64_t attempts = 0;
  uint64_t rng = 0;
  explicit FaultModel(const SpawnFaults& faults) : f(faults), rng(faults.seed) {}
  static double draw(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  }
  bool fails() {
    ++attempts;
    if (f.fail_always) return true;
    if (f.fail_next > 0) {
      --f.fail_next;
      return true;
    }
    if (f.fail_nth != 0 && attempts == f.fail_nth) return true;
    if (f.fail_probability > 0.0) return draw(rng) < f.fail_probability;
    return false;
  }
};

// One creation attempt on a real engine: a lazy queue starts exactly one
// thread (its core); the call throws spawn_failed when that fails.
bool creation_fails(Engine& eng, int i) {
  try {
    eng.create_workqueue("q" + std::to_string(i), WqKind::lazy).destroy();
    return false;
  } catch (const Error& e) {
    RC_ASSERT(e.code() == Errc::spawn_failed);
    return true;
  }
}

}  // namespace

// The constructor accepts exactly the valid configurations and refuses the
// others with Error(invalid_argument). A valid configuration with at most
// one field moved to an edge, valid or not: a check that drifts by one
// value or forgets a field is found in a few cases.
RC_GTEST_PROP(Config, EngineAcceptsExactlyTheValidConfigs, ()) {
  EngineConfig c;
  c.ncpus = one_of({1, 2, 3, 8});
  c.core_cpu = *rc::gen::resize(100, rc::gen::inRange(0, c.ncpus));
  c.idle_timeout = one_of({Duration::zero(), Duration(1), Duration(1000000), Duration::max()});
  c.spawn_cooldown = one_of({Duration::zero(), Duration(1), Duration(1000000), Duration::max()});
  c.stall_timeout = one_of({Duration::zero(), Duration(1), Duration(1000000), Duration::max()});
  c.max_workers_per_pool = one_of({1, 2, 64});
  const Duration bad_or_edge = one_of({Duration(-1), Duration(-1000000), Duration::min(), Duration::zero()});
  switch (one_of({0, 1, 2, 3, 4, 5, 6})) {
    case 0: c.ncpus = one_of({INT_MIN, -1, 0, 1}); break;
    case 1: c.core_cpu = one_of({INT_MIN, -1, 0, c.ncpus - 1, c.ncpus, c.ncpus + 1, INT_MAX}); break;
    case 2: c.idle_timeout = bad_or_edge; break;
    case 3: c.spawn_cooldown = bad_or_edge; break;
    case 4: c.stall_timeout = bad_or_edge; break;
    case 5: c.max_workers_per_pool = one_of({INT_MIN, -1, 0, 1}); break;
    default: break;  // valid as drawn
  }
  const bool valid = engine_config_valid(c);
  RC_TAG(valid ? "valid" : "invalid");
  std::optional<Errc> got;
  try {
    Engine eng(c);
  } catch (const Error& e) {
    got = e.code();
  }
  if (valid)
    RC_ASSERT(!got.has_value());
  else
    RC_ASSERT(got == std::optional<Errc>(Errc::invalid_argument));
}

// create_workqueue accepts exactly the valid kinds and options and refuses
// the others with Error(invalid_argument); a refused call creates nothing.
RC_GTEST_PROP(Config, CreateWorkqueueAcceptsExactlyTheValidArguments, ()) {
  const auto kind = one_of<uint8_t>({0, 1, 2, 3, 4, 4, 4, 4, 5, 200});
  WqOptions o;
  o.highpri = one_of({false, false, false, true});
  o.unbound = one_of({false, false, false, true});
  o.ordered = one_of({false, false, false, true});
  o.max_active = one_of({0, 0, 1, 2, -1, (1 << 20) - 1, 1 << 20, 1 << 20, (1 << 20) + 1, INT_MAX, INT_MIN});
  const bool valid = queue_args_valid(kind, o);
  RC_TAG(valid ? "valid" : "invalid");
  EngineConfig c;
  c.ncpus = 2;
  Engine eng(c);
  std::optional<Errc> got;
  try {
    eng.create_workqueue("q", static_cast<WqKind>(kind), o).destroy();
  } catch (const Error& e) {
    got = e.code();
  }
  if (valid) {
    RC_ASSERT(!got.has_value());
  } else {
    RC_ASSERT(got == std::optional<Errc>(Errc::invalid_argument));
    RC_ASSERT(eng.stats().queues.empty());
  }
}

// Creation faults follow SpawnFaults' rule exactly, counted from the last
// set_spawn_faults (the same faults set again start the same pattern
// again, whatever failed before), including a probability equal to a draw
// (a draw fails only below it).
RC_GTEST_PROP(Config, SpawnFaultsFollowTheirRule, ()) {
  SpawnFaults f;
  f.fail_always = one_of({false, false, false, false, false, false, false, false, false, true});
  f.fail_next = one_of<uint64_t>({0, 0, 0, 1, 3});
  f.fail_nth = one_of<uint64_t>({0, 0, 1, 2, 5, 9});
  f.seed = *rc::gen::resize(100, rc::gen::arbitrary<uint64_t>());
  const int p_class = one_of({0, 1, 2, 3, 3});
  if (p_class == 1) f.fail_probability = 1.0;
  if (p_class == 2) f.fail_probability = one_of({0.25, 0.5, 0.75});
  if (p_class == 3) {
    // Exactly the value of one of the first draws: that draw must not fail.
    uint64_t state = f.seed;
    const int k = one_of({0, 1, 2, 3});
    double u = 0;
    for (int i = 0; i <= k; ++i) u = FaultModel::draw(state);
    f.fail_probability = u;
  }
  RC_TAG("p class " + std::to_string(p_class));
  // Before: some attempts under other faults, so the counter and the draws
  // have moved.
  SpawnFaults before;
  before.fail_probability = 0.5;
  before.seed = *rc::gen::resize(100, rc::gen::arbitrary<uint64_t>());
  const int warmup = one_of({0, 1, 2, 3});

  EngineConfig c;
  c.ncpus = 1;
  Engine eng(c);
  eng.set_spawn_faults(before);
  for (int i = 0; i < warmup; ++i) creation_fails(eng, 100 + i);
  for (int round = 0; round < 2; ++round) {
    eng.set_spawn_faults(f);
    FaultModel model(f);
    for (int i = 0; i < 10; ++i) {
      const bool want = model.fails();
      const bool got = creation_fails(eng, i);
      RC_ASSERT(got == want);
    }
  }
}

// C4 as a callback sees it: queue_work() without a CPU, from a work that
// runs on CPU c's worker of a per_cpu queue (or CPU c's pool of a bound
// shared queue), queues on c, whatever the core CPU: the second work runs
// there (no creation fails, every CPU online: no fallback). Real threads;
// the CPU of each run is read from its exec_begin event.
RC_GTEST_PROP(Placement, QueueWorkFromACallbackStaysOnItsCpu, ()) {
  EngineConfig c;
  c.ncpus = one_of({2, 3, 4});
  c.core_cpu = *rc::gen::resize(100, rc::gen::inRange(0, c.ncpus));
  c.record_events = true;
  c.stall_timeout = Duration::zero();  // no watchdog: a slow machine must not make the rescuer run `second`
  const WqKind kind = one_of({WqKind::per_cpu, WqKind::shared});
  const int cpu = *rc::gen::resize(100, rc::gen::inRange(0, c.ncpus));
  RC_TAG(std::string(to_string(kind)) + (cpu == c.core_cpu ? " on the core cpu" : " on another cpu"));
  Engine eng(c);
  Workqueue& q = eng.create_workqueue("q", kind);
  Work second([](Work&) {}, "second");
  Work first([&](Work&) { q.queue_work(second); }, "first");
  RC_ASSERT(q.queue_work_on(cpu, first));
  eng.flush_work(first);
  eng.flush_work(second);
  q.destroy();
  int ran_on = -2;
  for (const Event& e : eng.events())
    if (e.type == EventType::exec_begin && e.work == second.id()) ran_on = e.cpu;
  RC_ASSERT(ran_on == cpu);
}
