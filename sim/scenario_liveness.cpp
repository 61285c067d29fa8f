// Liveness under unbounded work (issue #13). Every other workload is
// finite, so an operation that waits too long still returns in the end and
// no rule sees it. Here producers keep queueing until the operation under
// test returns: if it waits for what came after it, it never returns, and
// the step limit fires with the rule of the promise it broke.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::drawn_queue;
using kit::knob;

// The operation under test and the rule that promises it returns:
//   flush_work(w)           C10: waits only for runs queued before it,
//                           while producers keep requeueing w (and w
//                           requeues itself from its callback);
//   flush_delayed_work(d)   C10, while d keeps being re-armed;
//   flush_workqueue         C11: later queueings do not extend it;
//   cancel_work_sync(w)     C12: returns, even if w requeues itself and
//                           producers keep queueing it;
//   drain_workqueue         C11: refuses outside queueing meanwhile, so the
//                           producers cannot keep it busy.
void liveness(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 100us, 10us, /*min_ncpus=*/1);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();
  SimWorkqueue& wq = drawn_queue(ctx, eng, "q");
  enum Op { flush_work, flush_delayed, flush_wq, cancel_sync, drain, ops };
  const char* names[] = {"flush_work", "flush_delayed_work", "flush_workqueue", "cancel_work_sync", "drain_workqueue"};
  const char* rules[] = {"C10", "C10", "C11", "C12", "C11"};
  const auto op = static_cast<Op>(ctx.params.has("op") ? ctx.params.get_int("op", 0) : static_cast<int64_t>(ctx.rng.below(ops)));
  ctx.params.get_int("op", op);
  if (op < 0 || op >= ops) throw std::invalid_argument("parameter op must be 0..4");
  ctx.note("op", names[op]);
  // Unbounded only under a fair scheduler. PCT, bounded preemption and the
  // fuzzer's bytes need not ever run a thread that stays runnable: with
  // work that never ends they starve the caller of the operation, a stall
  // of the strategy, not of the engine. There the producers stop after a
  // bound (the run is then a finite workload like the others).
  // Param `fair` says it outright: a schedule replayed from a random run
  // (sim/shrink.hpp) keeps that run's unbounded producers.
  const bool fair = ctx.params.get_int("fair", ctx.world.config().strategy == "random" ? 1 : 0) != 0;
  const int bound = fair ? -1 : 40;
  ctx.note("producers_bound", bound);
  int produced = 0, requeued = 0;
  bool done = false;  // the operation under test returned: producers stop
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };
  // The target requeues itself from its callback for as long as the test
  // runs (C2, C12); the others are plain.
  SimWork target(
      [&](SimWork& self) {
        // drain_workqueue accepts chained queueing and repeats until the
        // queue is empty (C11): a work that requeues itself for ever would
        // keep it busy by the contract, so under drain the chain stops.
        if (!done && op != drain && (bound < 0 || requeued++ < bound)) {
          try {
            wq.queue_work_on(any_cpu(), self);
          } catch (const Error&) {
          }
        }
      },
      "target");
  SimDelayedWork timer([](SimWork&) {}, "timer");
  std::vector<std::unique_ptr<SimWork>> others;
  for (int i = 0; i < 3; ++i) others.push_back(std::make_unique<SimWork>([](SimWork&) {}, "w" + std::to_string(i)));
  const int nproducers = static_cast<int>(knob(ctx, "producers", 1, 2));
  ctx.clients(nproducers + 1, [&](int who) {
    if (who < nproducers) {
      // Unbounded: until the operation under test has returned.
      while (!done && (bound < 0 || produced++ < bound)) {
        switch (ctx.rng.below(3)) {
          case 0: wq.queue_work_on(any_cpu(), target); break;
          case 1: wq.queue_delayed_work_on(any_cpu(), timer, kit::delay(ctx, 5000)); break;
          default: wq.queue_work_on(any_cpu(), *others[ctx.rng.below(others.size())]); break;
        }
        // Faster than the workers drain it (the queue never empties: an
        // operation that waits for that never returns) under a fair
        // scheduler; slower under the others, whose strict priorities
        // would let a backlog starve the caller for good.
        ScenarioContext::sleep_ns(fair ? ctx.rng.range(500, 5000) : ctx.rng.range(20000, 60000));
      }
      return;
    }
    ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));  // the producers get going first
    ctx.hang_rule = rules[op];
    switch (op) {
      case flush_work: eng.flush_work(target); break;
      case flush_delayed: eng.flush_delayed_work(timer); break;
      case flush_wq: wq.flush(); break;
      case cancel_sync: eng.cancel_work_sync(target); break;
      case drain: wq.drain(); break;
      case ops: break;
    }
    ctx.hang_rule.clear();
    done = true;
  });
  eng.cancel_work_sync(target);
  wq.flush();
  wq.destroy();
}

}  // namespace lazywq::sim
