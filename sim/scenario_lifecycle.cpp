// The engine's own threads coming and going while clients race each other:
// queues of every kind created at once by several clients while a CPU goes
// offline and online and thread creation fails (once, sometimes, or for
// good), then used, then destroyed by two clients at once. Every other
// scenario creates its queues one after another before anything else
// starts, so the creation paths (a queue's core and per_cpu workers, the
// pools' manager and rescuer made with the first shared queue) only ever
// ran alone there; the mutants of those paths were caught by the
// deterministic tests of tests/sim/test_thread_lifecycle.cpp alone
// (issue #14). Here the explorer searches the same races.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::first_helper_spawn;
using kit::helper_spawns;
using kit::knob;

namespace kit {

int helper_spawns(const SimEngine& eng, int32_t arg) {
  int n = 0;
  for (const Event& e : eng.events()) n += e.type == EventType::spawn && e.queue == 0 && e.arg == arg;
  return n;
}

int32_t first_helper_spawn(const SimEngine& eng) {
  for (const Event& e : eng.events())
    if (e.type == EventType::spawn && e.queue == 0 && (e.arg == 1 || e.arg == 2)) return e.arg;
  return 0;
}

}  // namespace kit

// C7 for the helpers: a shared queue's creation returns only once the
// manager and the rescuer both exist (its works need the rescuer when no
// pool thread can be had), and the engine never makes a second of either
// (they live until the engine stops). C10: a work queued on a queue just
// created and flushed has run when the flush returns, whatever creation
// failed meanwhile. C13: once the runs are over, an offline CPU has no
// worker and no pool thread. C14: a queue destroyed by two clients at once is
// destroyed once; the other gets Error(queue_destroyed). The oracle checks
// the stream (C4, C6, C7, C8, C13, C14 above all).
void lifecycle(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 20us, 10us, /*min_ncpus=*/2);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };

  // How creation fails: 1 never, 2 the Nth creation, 3 each with a
  // probability, 4 always; in some runs it starts failing for good halfway.
  const int64_t faults = knob(ctx, "faults", 1, 4);
  SpawnFaults f;
  if (faults == 2) f.fail_nth = static_cast<uint64_t>(ctx.rng.range(1, 5));
  if (faults == 3) f.fail_probability = 0.4, f.seed = ctx.rng.next();
  if (faults == 4) f.fail_always = true;
  kit::set_faults(ctx, eng, f);
  const bool fail_for_good_later = faults != 4 && ctx.rng.chance(0.3);
  ctx.note("fail_for_good_later", fail_for_good_later ? 1 : 0);

  const int ncreators = static_cast<int>(knob(ctx, "creators", 2, 3));
  const int per_creator = static_cast<int>(knob(ctx, "queues", 1, 2));
  std::vector<SimWorkqueue*> made;
  std::deque<int> runs;                        // runs[i]: how often works[i] ran
  std::deque<std::unique_ptr<SimWork>> works;  // destroyed before the engine (declared after it)
  int failed_creations = 0;

  auto check_helpers = [&](const std::string& when) {
    const int managers = helper_spawns(eng, 1), rescuers = helper_spawns(eng, 2);
    ctx.expect(managers <= 1 && rescuers <= 1, "C7",
               std::to_string(managers) + " managers and " + std::to_string(rescuers) + " rescuers created " + when +
                   ": the engine makes one of each, with the first shared queue, and keeps them");
  };
  // Queues a new work on `q` at a drawn CPU and flushes it: it must have
  // run. While `q` is being destroyed the queueing may be refused (a
  // queueing from outside during its drain, C11).
  auto queue_and_flush = [&](SimWorkqueue& q, const std::string& name, bool may_refuse = false) {
    const size_t i = works.size();
    runs.push_back(0);
    works.push_back(std::make_unique<SimWork>([&runs, i](SimWork&) { ++runs[i]; }, name));
    const int cpu = any_cpu();
    if (!q.queue_work_on(cpu, *works[i])) {
      ctx.expect(may_refuse, "C1", name + ": a new work's first queueing of " + q.name() + " returned false");
      return;
    }
    eng.flush_work(*works[i]);
    ctx.expect(runs[i] == 1, "C10",
               name + " (queued on cpu " + std::to_string(cpu) + " of " + q.name() + ") had run " +
                   std::to_string(runs[i]) + " times when flush_work returned: expected 1");
  };

  // In half the runs a CPU starts offline, so that the hotplug thread's
  // first move brings it online while queues are being created.
  if (ctx.rng.chance(0.5)) eng.cpu_offline(kit::non_core_cpu(ctx, eng));

  // Phase 1: the creators race each other and the hotplug thread.
  ctx.clients(ncreators + 1, [&](int who) {
    if (who == ncreators) {  // hotplug, and maybe permanent failure, while queues are created
      const int moves = static_cast<int>(ctx.rng.range(2, 6));
      for (int k = 0; k < moves; ++k) {
        ScenarioContext::sleep_ns(ctx.rng.range(0, 4000));
        const int c = kit::non_core_cpu(ctx, eng);
        if (eng.cpu_is_online(c)) eng.cpu_offline(c);
        else eng.cpu_online(c);
      }
      if (fail_for_good_later) kit::set_faults(ctx, eng, {.fail_always = true});
      return;
    }
    for (int k = 0; k < per_creator; ++k) {
      const std::string name = "c" + std::to_string(who) + "q" + std::to_string(k);
      const auto kind = static_cast<WqKind>(ctx.rng.below(5));
      SimWorkqueue* q = nullptr;
      try {
        q = &kit::create_queue(ctx, eng, name, kind);
      } catch (const Error& e) {
        if (e.code() != Errc::spawn_failed) throw;
        ++failed_creations;  // a failed creation is allowed to fail the call, never to hang
        continue;
      }
      made.push_back(q);
      if (kind == WqKind::shared) {
        ctx.expect(helper_spawns(eng, 1) >= 1 && helper_spawns(eng, 2) >= 1, "C7",
                   "create_workqueue(" + name +
                       ", shared) returned before the pools' manager and rescuer both existed: with no pool thread "
                       "to be had, its works would have nobody to run them");
        ctx.expect(first_helper_spawn(eng) != 2, "C7",
                   "the rescuer was created before the manager (docs/SHARED.md: the rescuer's creation waits for "
                   "the manager's)");
      }
      check_helpers("while queues were created");
      queue_and_flush(*q, name + "w0");
      if (ctx.rng.chance(0.5)) ScenarioContext::sleep_ns(ctx.rng.range(0, 30000));  // workers may go idle and exit
    }
  });
  // C13: an offline CPU keeps no worker of any queue and no pool thread,
  // whatever the idle timeout (huge in some runs), once the runs there
  // are over (none is in progress now: every work was flushed).
  auto offline_cpus_with_threads = [&] {
    std::string found;
    for (const PoolStats& p : eng.stats().pools)
      if (p.cpu >= 0 && !eng.cpu_is_online(p.cpu) && p.workers > 0)
        found += " cpu " + std::to_string(p.cpu) + (p.highpri ? " (highpri pool)" : " (pool)");
    for (SimWorkqueue* q : made)
      for (int c : q->cpus_with_worker())
        if (!eng.cpu_is_online(c)) found += " cpu " + std::to_string(c) + " (" + q->name() + ")";
    return found;
  };
  std::string left = offline_cpus_with_threads();
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    ScenarioContext::sleep_ns(10'000);
    left = offline_cpus_with_threads();
  }
  ctx.expect(left.empty(), "C13", "1 ms after the last run, offline CPUs still have threads:" + left);
  ctx.note("queues_created", static_cast<int64_t>(made.size()));
  ctx.note("creations_failed", failed_creations);

  // Phase 2: two destroyers take every queue down, one by one and in
  // their own orders, while a client keeps queueing on them.
  if (!made.empty()) {
    ctx.clients(3, [&](int who) {
      if (who == 2) {
        for (int k = 0; k < 4; ++k) {
          SimWorkqueue& q = *made[ctx.rng.below(made.size())];
          try {
            queue_and_flush(q, "late" + std::to_string(k), /*may_refuse=*/true);
          } catch (const Error& e) {
            if (e.code() != Errc::queue_destroyed) throw;
          }
          ScenarioContext::sleep_ns(ctx.rng.range(0, 5000));
        }
        return;
      }
      std::vector<SimWorkqueue*> order = made;
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[ctx.rng.below(i)]);
      for (SimWorkqueue* q : order) {
        if (ctx.rng.chance(0.5)) ScenarioContext::sleep_ns(ctx.rng.range(0, 10000));
        try {
          q->destroy();
        } catch (const Error& e) {
          if (e.code() != Errc::queue_destroyed) throw;  // the other destroyer was first
        }
      }
    });
  }
  check_helpers("by the end");
  kit::set_faults(ctx, eng, {});
}

}  // namespace lazywq::sim
