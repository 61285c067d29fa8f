// Scenarios whose callbacks wait inside the engine while clients keep
// going: the configurations a real client hit and no other scenario drew
// (issue #13).
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::check_knob;
using kit::kind_knob;
using kit::knob;

// Callbacks (the waiters, all queued for one CPU) flush, cancel_sync and
// queue-then-flush leaf works that clients keep queueing, on that CPU too,
// in every DependencyCheck mode. A leaf queued behind its waiter must be
// refused (Error(deadlock)) or not waited for, never waited for (C10); a
// leaf elsewhere is waited for and runs. Leaves never wait and the waiters
// share one executor, so no wait-for cycle exists: a reported cycle is a
// false one (C16), and a hang is the engine's (hang rule C10).
void callback_waits(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 100us, 10us, /*min_ncpus=*/1);
  cfg.dependency_check = check_knob(ctx, ctx.rng);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const WqKind kind = kind_knob(ctx, WqKind::lazy, true);
  WqOptions opts;
  if (kind == WqKind::shared) {
    opts.ordered = ctx.rng.chance(0.5);  // its one slot: a leaf behind a waiter waits for it
    ctx.note("ordered", opts.ordered ? 1 : 0);
  }
  SimWorkqueue& wq = kit::create_queue(ctx, eng, "cw", kind, opts);
  const int ncpus = eng.ncpus();
  const int waiter_cpu = ncpus > 1 && ctx.rng.chance(0.5) ? kit::non_core_cpu(ctx, eng) : cfg.core_cpu;
  ctx.note("waiter_cpu", waiter_cpu);
  const int nwaiters = static_cast<int>(knob(ctx, "waiters", 1, 2));
  const int nleaves = static_cast<int>(knob(ctx, "leaves", 1, 3));
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };
  std::vector<std::unique_ptr<SimWork>> leaves;
  for (int i = 0; i < nleaves; ++i)
    leaves.push_back(std::make_unique<SimWork>(
        [&](SimWork&) {
          if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 3000));
        },
        "leaf" + std::to_string(i)));
  SimDelayedWork timer_leaf([](SimWork&) {}, "dleaf");
  int refused = 0;
  std::vector<std::unique_ptr<SimWork>> waiters;
  for (int i = 0; i < nwaiters; ++i)
    waiters.push_back(std::make_unique<SimWork>(
        [&](SimWork&) {
          const int nwaits = static_cast<int>(ctx.rng.range(1, 3));
          for (int k = 0; k < nwaits; ++k) {
            SimWork& leaf = *leaves[ctx.rng.below(leaves.size())];
            try {
              switch (ctx.rng.below(5)) {
                case 4: {  // an engine wait of another kind: sleep_for
                  const uint64_t c = ctx.rng.below(3);
                  const Duration d = c == 0 ? Duration::zero() : Duration(ctx.rng.range(c == 1 ? 1 : 10000, c == 1 ? 9999 : 50000));
                  kit::drew(ctx, "sleep_for", c == 0 ? "0" : c == 1 ? "tiny" : "normal");
                  const int64_t from = World::current()->now();
                  eng.sleep_for(d);
                  const int64_t slept = World::current()->now() - from;
                  ctx.expect(slept >= d.count(), "C17",
                             "sleep_for(" + std::to_string(d.count()) + "ns) returned after " + std::to_string(slept) + "ns");
                  break;
                }
                case 0: eng.flush_work(leaf); break;
                case 1: eng.cancel_work_sync(leaf); break;
                case 2:
                  wq.queue_work_on(waiter_cpu, leaf);  // behind ourselves
                  eng.flush_work(leaf);
                  break;
                case 3: eng.flush_delayed_work(timer_leaf); break;
              }
            } catch (const Error& e) {
              if (e.code() == Errc::deadlock) ++refused;
            }
          }
        },
        "waiter" + std::to_string(i)));
  const int nops = static_cast<int>(knob(ctx, "ops", 8, 24));
  ctx.clients(static_cast<int>(knob(ctx, "clients", 1, 3)), [&](int) {
    for (int k = 0; k < nops; ++k) {
      const uint64_t pick = ctx.rng.below(10);
      if (pick < 3) {
        wq.queue_work_on(waiter_cpu, *waiters[ctx.rng.below(waiters.size())]);
      } else if (pick < 9) {
        // Bursts on the waiters' CPU: queueings land behind a running waiter.
        const int cpu = ctx.rng.chance(0.6) ? waiter_cpu : any_cpu();
        const int burst = static_cast<int>(ctx.rng.range(1, 3));
        for (int b = 0; b < burst; ++b) wq.queue_work_on(cpu, *leaves[ctx.rng.below(leaves.size())]);
      } else {
        wq.queue_delayed_work_on(ctx.rng.chance(0.6) ? waiter_cpu : any_cpu(), timer_leaf, kit::delay(ctx, 20000));
      }
      if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 5000));
    }
  });
  wq.flush();
  wq.destroy();
  ctx.note("refused", refused);
  const auto cycles = eng.dependency_cycles();
  ctx.expect(cycles.empty(), "C16",
             "a false wait-for cycle: leaves never wait and the waiters share one executor, yet: " +
                 (cycles.empty() ? std::string() : cycles[0].describe()));
}

}  // namespace lazywq::sim
