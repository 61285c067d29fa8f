// The shared pools' concurrency management under the stall watchdog (C19,
// C16): works block where the engine cannot see (busy for a while of
// virtual time, or waiting for a later work's signal), wait in the engine
// (flush_work, sleep_for), and do both in sequence, so that a thread the
// watchdog uncounted waits in the engine and then blocks unseen again with
// works queued behind it; other works are short and keep their pool making
// progress. Before it the watchdog ran only in shared_deps, where a work
// waits at most twice and never blocks unseen after an engine wait: the
// bookkeeping that keeps an uncounted thread uncounted through a later
// engine wait (worker_waking's mutants, issue #14) was reached by no
// scenario.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::knob;

// Works 0..n-1 on one or two shared queues (plain, high priority or
// unbound; never ordered nor a small max_active: a work blocked unseen
// would hold the one slot its signaller needs). Each work runs a plan of
// steps; a step that names another work names a later one, so no wait
// closes a cycle. Checks: every wait ends and every work a client queued
// has run when its queue's flush returns (a hang is C16: a blocked thread
// kept counting, or the watchdog never came); the oracle checks C19 on
// the events (one running thread per pool, the watchdog only after
// stall_timeout without a run ending).
void watchdog(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(2, 200us, 10us, /*min_ncpus=*/1);
  const int64_t stall_ns = knob(ctx, "stall", 1, 2) == 1 ? 200'000 : 1'000'000;
  ctx.note("stall_ns", stall_ns);
  cfg.stall_timeout = std::chrono::nanoseconds(stall_ns);
  // A wait may last a watchdog stall per unseen block of the works ahead
  // of it (clean runs: up to 18 ms at 1 ms over 14,000 seeds).
  ctx.world.extend_horizon(256 * stall_ns);
  cfg.max_workers_per_pool = 64;  // the watchdog can always have another thread
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();

  const int nq = static_cast<int>(knob(ctx, "queues", 1, 2));
  std::vector<SimWorkqueue*> qs;
  for (int i = 0; i < nq; ++i) {
    WqOptions opts;
    const uint64_t o = ctx.rng.below(3);
    opts.highpri = o == 1;
    opts.unbound = o == 2;
    ctx.note("q" + std::to_string(i), o == 0 ? "plain" : o == 1 ? "highpri" : "unbound");
    qs.push_back(&kit::create_queue(ctx, eng, "s" + std::to_string(i), WqKind::shared, opts));
  }

  enum class Step { busy_short, busy_long, signal_wait, flush, engine_sleep, queue_behind };
  static const char* const kStepNames[] = {"busy", "BUSY", "?", ">", "zz", "+"};
  struct Action {
    Step step;
    int other = -1;    // the later work it names
    int64_t ns = 0;    // how long, for busy and sleep steps
  };
  struct W {
    std::unique_ptr<SimWork> work;
    SimWorkqueue* q = nullptr;
    std::vector<Action> plan;
    int runs = 0;
    bool signalled = false;  // under signal_lock
  };
  const int n = static_cast<int>(knob(ctx, "works", 3, 7));
  std::vector<W> ws(static_cast<size_t>(n));
  auto later = [&](int i) { return static_cast<int>(ctx.rng.range(i + 1, n - 1)); };
  std::string plans;
  for (int i = 0; i < n; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    w.q = qs[ctx.rng.below(qs.size())];
    const bool last = i + 1 >= n;
    auto add = [&](Step s) {
      Action a{s};
      if (!last && (s == Step::signal_wait || s == Step::flush || s == Step::queue_behind)) a.other = later(i);
      if (last && (s == Step::signal_wait || s == Step::flush || s == Step::queue_behind)) a.step = Step::busy_short;
      if (a.step == Step::busy_short) a.ns = ctx.rng.range(1'000, stall_ns / 4);
      if (a.step == Step::busy_long) a.ns = ctx.rng.range(stall_ns, 3 * stall_ns);
      if (a.step == Step::engine_sleep) a.ns = ctx.rng.range(1'000, stall_ns);
      w.plan.push_back(a);
    };
    if (ctx.rng.chance(0.4)) {
      // The shape the watchdog's bookkeeping needs: blocked unseen (the
      // watchdog uncounts it), an engine wait, a work queued behind it,
      // blocked unseen again.
      add(ctx.rng.chance(0.5) ? Step::signal_wait : Step::busy_long);
      add(ctx.rng.chance(0.5) ? Step::flush : Step::engine_sleep);
      add(Step::queue_behind);
      add(Step::busy_long);
    } else {
      const int steps = static_cast<int>(ctx.rng.range(0, 3));
      for (int k = 0; k < steps; ++k) add(static_cast<Step>(ctx.rng.below(6)));
    }
    for (const Action& a : w.plan)
      plans += " w" + std::to_string(i) + kStepNames[static_cast<int>(a.step)] +
               (a.other >= 0 ? std::to_string(a.other) : std::to_string(a.ns / 1000) + "us");
  }
  ctx.note("plans", plans.empty() ? "none" : plans.substr(1));

  SimPlatform::Mutex signal_lock;
  SimPlatform::CondVar signal_cv;
  for (int i = 0; i < n; ++i) {
    ws[static_cast<size_t>(i)].work = std::make_unique<SimWork>(
        [&, i](SimWork&) {
          W& me = ws[static_cast<size_t>(i)];
          const bool first = me.runs++ == 0;
          if (first) {
            for (const Action& a : me.plan) {
              W* other = a.other >= 0 ? &ws[static_cast<size_t>(a.other)] : nullptr;
              switch (a.step) {
                case Step::busy_short:
                case Step::busy_long: ScenarioContext::sleep_ns(a.ns); break;  // unseen by the engine
                case Step::engine_sleep: eng.sleep_for(std::chrono::nanoseconds(a.ns)); break;
                case Step::queue_behind: other->q->queue_work(*other->work); break;  // on our CPU
                case Step::flush:
                  other->q->queue_work(*other->work);
                  eng.flush_work(*other->work);
                  break;
                case Step::signal_wait: {
                  other->q->queue_work(*other->work);  // behind us, if on our pool
                  detail::Guard g(signal_lock);
                  while (!other->signalled) signal_cv.wait(signal_lock);
                  break;
                }
              }
            }
          }
          {
            detail::Guard g(signal_lock);
            me.signalled = true;
          }
          signal_cv.notify_all();
        },
        "w" + std::to_string(i));
  }

  // Clients queue on a hot CPU mostly, so that works stack on one pool.
  const int hot = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus)));
  std::vector<int> queued(static_cast<size_t>(n), 0);
  ctx.clients(static_cast<int>(knob(ctx, "clients", 1, 2)), [&](int) {
    const int ops = static_cast<int>(ctx.rng.range(2, 8));
    for (int k = 0; k < ops; ++k) {
      const int i = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(n)));
      const int cpu = ctx.rng.chance(0.75) ? hot : static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus)));
      W& w = ws[static_cast<size_t>(i)];
      w.q->queue_work_on(cpu, *w.work);
      queued[static_cast<size_t>(i)] = 1;
      if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, stall_ns / 2));
    }
  });
  for (SimWorkqueue* q : qs) q->flush();
  for (int i = 0; i < n; ++i)
    ctx.expect(!queued[static_cast<size_t>(i)] || ws[static_cast<size_t>(i)].runs > 0, "C11",
               "w" + std::to_string(i) + " was queued by a client but had not run when its queue's flush returned");
  for (SimWorkqueue* q : qs) q->destroy();
}

}  // namespace lazywq::sim
