// The shared pools when no thread can be had: creation fails for good
// once the queues exist (or after a few pool threads), so the rescuer runs
// the shared works, nested in the waits of the works it runs. The
// rescuer's paths (its wait chains, max_active slots freed by running
// their holders, refusals of a wait on its own stack and what a refused
// cancel gives back) were reached only by the hand-written shapes of
// tests/sim/test_client_hangs.cpp (issue #14: their mutants were killed
// by one unit test each). Here the shapes are drawn.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::knob;

// Works 0..n-1 on one or two shared queues (the pools capped at 1 or 64
// threads). On its first run (or, after requeueing itself once, its
// second) a work may queue fillers and flush a later work (which then
// waits inactive behind them), flush or cancel_work_sync a later work, or
// requeue itself. Waits go to later works only (no cycle can close),
// except with DependencyCheck `error`, with no pool thread ever, or with
// one pool of one thread, where a work may also wait for an earlier one:
// a wait that closes a cycle is then refused, Error(deadlock), never a
// hang. Checks: every wait returns; Error(deadlock) only where a cycle was
// possible, every refusal recorded (and judged by the oracle, C16);
// afterwards every work can be queued again (a refused cancel gives the
// work back, C7/C12) and has run when its flush returns (C10).
void rescue(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(2, 50us, 10us, /*min_ncpus=*/2);
  cfg.dependency_check = kit::check_knob(ctx, ctx.rng);
  cfg.max_workers_per_pool = static_cast<int>(knob(ctx, "cap", 1, 2)) == 1 ? 1 : 64;
  // One pool of one thread: every work is queued for CPU 0, whose pool may
  // have one thread. Its thread and the rescuer are then the only ones
  // that run works, so every wait-for cycle passes through the rescuer and
  // cycles may be drawn while pool threads exist: a wait of the rescuer
  // whose chain runs through that thread back to the rescuer's own stack
  // is refused (RefusalReason::rescuer_chain), and the thread's wait ends
  // once the refused callback returns. Other pools' threads would close
  // cycles among themselves and hang, as the contract allows.
  const bool one_pool = knob(ctx, "one_pool", 1, 2) == 2;
  if (one_pool) cfg.max_workers_per_pool = 1;
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();

  const int nq = static_cast<int>(knob(ctx, "queues", 1, 2));
  std::vector<SimWorkqueue*> qs;
  // The default max_active: with a small one, blocked waiters holding
  // every slot make a queue-level cycle that later-only waits do not rule
  // out (shared_deps and ClientHangs cover waits behind max_active).
  for (int i = 0; i < nq; ++i) qs.push_back(&kit::create_queue(ctx, eng, "s" + std::to_string(i), WqKind::shared));
  // A single_thread queue for flush_single (below), made before creation
  // fails: its core thread is made with it.
  SimWorkqueue* single = ctx.rng.chance(0.4) ? &kit::create_queue(ctx, eng, "st", WqKind::single_thread) : nullptr;
  // Creation fails for good now, or after a few pool threads were made.
  const bool some_threads_first = ctx.rng.chance(0.5);
  if (some_threads_first) kit::set_faults(ctx, eng, {.fail_probability = 0.5, .seed = ctx.rng.next()});
  else kit::set_faults(ctx, eng, {.fail_always = true});
  // A wait may close a cycle where the engine must refuse it: with
  // DependencyCheck error, or when no pool thread can ever exist (creation
  // failed for good before any): every run is then on the rescuer's stack,
  // where a wait for a run below it is refused in every mode (C7).
  const bool may_cycle = cfg.dependency_check == DependencyCheck::error || !some_threads_first || one_pool;
  ctx.note("may_cycle", may_cycle ? 1 : 0);

  enum class Act { nothing, fill_and_flush, flush, cancel_sync, requeue, flush_queue, flush_single };
  struct W {
    std::unique_ptr<SimWork> work;
    SimWorkqueue* q = nullptr;
    Act act = Act::nothing;
    int other = -1;  // the work it waits for
    // Acts on its second run: the first requeues the work and ends, which
    // satisfies a flush of that first run while its flusher has not yet
    // run again (ClientHangs.RescuerCancelOfAWorkWhoseFlushIsSatisfied...).
    bool second_run = false;
    bool late = false;  // its client sleeps before queueing it
    std::unique_ptr<SimWork> leaf;  // flush_single: its work on the single_thread queue
    bool drain_single = false;
    int runs = 0;
    std::vector<std::unique_ptr<SimWork>> fillers;
  };
  const int n = static_cast<int>(knob(ctx, "works", 3, 6));
  std::vector<W> ws(static_cast<size_t>(n));
  int refusals = 0, unexpected_refusals = 0;
  auto any_cpu = [&] { return one_pool ? 0 : static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };
  for (int i = 0; i < n; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    w.q = qs[ctx.rng.below(qs.size())];
    w.act = static_cast<Act>(ctx.rng.below(5));
    const bool later = i + 1 < n && (!may_cycle || ctx.rng.chance(0.7));
    if (w.act == Act::fill_and_flush || w.act == Act::flush || w.act == Act::cancel_sync) {
      if (later) w.other = static_cast<int>(ctx.rng.range(i + 1, n - 1));
      else if (may_cycle && n > 1) w.other = static_cast<int>((i + 1 + ctx.rng.below(static_cast<uint64_t>(n - 1))) % n);
      else w.act = Act::nothing;
    }
    w.second_run = (w.act == Act::flush || w.act == Act::cancel_sync) && ctx.rng.chance(0.3);
    if (w.act == Act::fill_and_flush)
      for (int f = 0; f < 2; ++f) w.fillers.push_back(std::make_unique<SimWork>([](SimWork&) {}, "f"));
    w.work = std::make_unique<SimWork>(
        [&, i](SimWork& self) {
          W& me = ws[static_cast<size_t>(i)];
          const int acting_run = me.second_run ? 2 : 1;
          if (++me.runs != acting_run) {  // acts on one run only
            if (me.runs < acting_run) me.q->queue_work_on(any_cpu(), self);
            return;
          }
          try {
            switch (me.act) {
              case Act::nothing: break;
              case Act::fill_and_flush: {
                W& o = ws[static_cast<size_t>(me.other)];
                for (auto& f : me.fillers) o.q->queue_work_on(any_cpu(), *f);
                o.q->queue_work_on(any_cpu(), *o.work);
                eng.flush_work(*o.work);
                break;
              }
              case Act::flush: eng.flush_work(*ws[static_cast<size_t>(me.other)].work); break;
              case Act::cancel_sync: eng.cancel_work_sync(*ws[static_cast<size_t>(me.other)].work); break;
              case Act::requeue: me.q->queue_work_on(any_cpu(), self); break;
              case Act::flush_queue: (me.q == qs[0] ? qs[1] : qs[0])->flush(); break;
              case Act::flush_single:
                single->queue_work(*me.leaf);
                if (me.drain_single) single->drain();
                else single->flush();
                break;
            }
          } catch (const Error& e) {
            if (e.code() != Errc::deadlock) throw;
            ++refusals;
            if (!may_cycle) ++unexpected_refusals;
          }
        },
        "w" + std::to_string(i));
  }
  // Where cycles may close, often a pair that closes one: i flushes j,
  // which cancels (or flushes) i back (ClientHangs.RescuerRefusedCancel...).
  if (may_cycle && n >= 2 && ctx.rng.chance(0.5)) {
    const int i = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(n - 1)));
    const int j = static_cast<int>(ctx.rng.range(i + 1, n - 1));
    ws[static_cast<size_t>(i)].act = Act::flush;
    ws[static_cast<size_t>(i)].other = j;
    ws[static_cast<size_t>(j)].act = ctx.rng.chance(0.7) ? Act::cancel_sync : Act::flush;
    ws[static_cast<size_t>(j)].other = i;
    ws[static_cast<size_t>(j)].fillers.clear();
    ctx.note("cycle_pair", std::to_string(i) + "<->" + std::to_string(j));
  }
  // Where cycles may close, with two queues: a work flushes the other
  // queue. The rescuer then runs nested only that queue's works queued
  // before the flush began (C7, judged by the oracle), not those after,
  // and refuses the flush when a run of that queue waits for its own
  // stack (C16).
  if (may_cycle && nq == 2 && ctx.rng.chance(0.5)) {
    const int i = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(n)));
    ws[static_cast<size_t>(i)].act = Act::flush_queue;
    ws[static_cast<size_t>(i)].second_run = false;
    ctx.note("flush_queue", i);
    // Often a work of the flushed queue waits back for i, queued late: if
    // its queueing came before the flush began, the flush counts its run
    // and the cycle closes through the rescuer (refused); if after, the
    // flush does not wait for it (C10) and must not be refused (the
    // oracle judges each refusal). A late one on a pool thread while the
    // flush still waits needs a second pool thread busy with an earlier
    // run: rare here (ClientHangs.RescuerFlushIgnoresARunQueuedAfterIt).
    if (ctx.rng.chance(0.5)) {
      SimWorkqueue* other = ws[static_cast<size_t>(i)].q == qs[0] ? qs[1] : qs[0];
      const int j = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(n)));
      W& late = ws[static_cast<size_t>(j)];
      if (j != i) {
        late.q = other;
        late.act = ctx.rng.chance(0.5) ? Act::flush : Act::cancel_sync;
        late.other = i;
        late.second_run = false;
        late.fillers.clear();
        late.late = true;
        ctx.note("late_waiter", j);
      }
    }
  }
  // Often a work flushes (or drains) a single_thread queue, whose work
  // waits for a later shared work: the rescuer, running it or waiting for
  // the pool thread that does, waits for a thread that is not a pool's
  // and must run what that thread waits for (both hung: the rescuer's own
  // flush of a queue that is not shared never looked for rescues, and a
  // pool thread's ended its chains; issue #14). Later works only: that
  // thread would close a cycle with a pool thread that the contract lets
  // hang.
  // No work may wait for it (a cycle through the single_thread queue's
  // thread): it is one nobody waits for.
  const int i_single = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(std::max(1, n - 1))));
  const bool awaited_by_some = std::any_of(ws.begin(), ws.end(), [&](const W& o) { return o.other == i_single; });
  if (single && n >= 2 && !awaited_by_some) {
    const int i = i_single;
    W& w = ws[static_cast<size_t>(i)];
    w.act = Act::flush_single;
    w.other = static_cast<int>(ctx.rng.range(i + 1, n - 1));
    w.second_run = false;
    w.late = false;
    w.fillers.clear();
    w.drain_single = ctx.rng.chance(0.3);
    SimWork* awaited = ws[static_cast<size_t>(w.other)].work.get();
    w.leaf = std::make_unique<SimWork>(
        [&, awaited](SimWork&) {
          try {
            eng.flush_work(*awaited);
          } catch (const Error& e) {
            if (e.code() != Errc::deadlock) throw;
            ++refusals;  // DependencyCheck::error: the graph keeps every edge
            if (!may_cycle) ++unexpected_refusals;
          }
        },
        "leaf");
    ctx.note("flush_single", i);
  }
  const int nclients = static_cast<int>(knob(ctx, "clients", 1, 2));
  ctx.clients(nclients, [&](int who) {
    for (int i = who; i < n; i += nclients) {
      W& w = ws[static_cast<size_t>(i)];
      if (w.late) ScenarioContext::sleep_ns(ctx.rng.range(5'000, 60'000));
      w.q->queue_work_on(any_cpu(), *w.work);
      if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
    }
    for (int i = who; i < n; i += nclients) eng.flush_work(*ws[static_cast<size_t>(i)].work);
  });
  // A run may queue works after a flush began, and a cancel may have taken
  // a work's queueing before its acting run: queue every work that has not
  // acted yet and flush until nothing is pending (each acts once: a few
  // rounds settle it), so that the checks below meet no act.
  auto any_pending = [&] {
    for (const W& w : ws) {
      if (w.work->pending()) return true;
      for (const auto& f : w.fillers)
        if (f->pending()) return true;
    }
    return false;
  };
  auto any_to_act = [&] {
    bool any = false;
    for (W& w : ws)
      if (w.runs < (w.second_run ? 2 : 1)) any |= w.q->queue_work_on(any_cpu(), *w.work) || w.work->pending();
    return any;
  };
  for (int round = 0; round < 8 && (round == 0 || any_pending() || any_to_act()); ++round) {
    for (SimWorkqueue* q : qs) q->flush();
    for (W& w : ws) eng.flush_work(*w.work);  // a run its own requeueing started after the flush began
  }
  ctx.expect(unexpected_refusals == 0, "C16",
             std::to_string(unexpected_refusals) +
                 " wait(s) refused with Error(deadlock) although every wait went to a later work: no cycle could close");
  ctx.note("refusals", refusals);
  // Every refusal is in the stream (the oracle judges each wait_refused
  // event, C16), and nothing else was refused.
  int recorded = 0;
  for (const Event& e : eng.events()) recorded += e.type == EventType::wait_refused;
  ctx.expect(recorded == refusals, "C16",
             std::to_string(refusals) + " wait(s) refused with Error(deadlock), but " + std::to_string(recorded) +
                 " wait_refused event(s) recorded");
  // Everything is given back: each work can be queued again and runs once more.
  for (int i = 0; i < n; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    // A run still in progress (a work's first run, nested in a wait) may
    // queue it meanwhile: then wait for that queueing and try again. A
    // work left PENDING for ever stays so (or its flush hangs).
    const int before = w.runs;  // before the queueing: the run may end before the next statement
    bool queued = w.q->queue_work_on(any_cpu(), *w.work);
    if (!queued) {
      eng.flush_work(*w.work);
      queued = w.q->queue_work_on(any_cpu(), *w.work);
    }
    ctx.expect(queued, "C12",
               w.work->name() + ": queue_work_on returned false twice, before and after a flush_work of it, once "
                                "every client's wait had returned: the work was left PENDING (a refused cancel must "
                                "give it back)");
    if (!queued) continue;
    eng.flush_work(*w.work);
    ctx.expect(w.runs >= before + 1, "C10",
               w.work->name() + " had not run since its queueing when flush_work returned");
  }
  kit::set_faults(ctx, eng, {});
  for (SimWorkqueue* q : qs) q->destroy();
  if (single) single->destroy();
}

}  // namespace lazywq::sim
