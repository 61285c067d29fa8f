// Tearing queues down while everything else goes on: the pairs of
// operations no other scenario overlapped (issue #13's pairwise coverage:
// drain with everything, destroy with destroy, cancel and hotplug).
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::check_knob;
using kit::drawn_queue;
using kit::knob;
using kit::knob_p;

// C6 as a client sees it: every CPU q.cpus_with_worker() names had a live
// worker of q (spawned, neither idle_exit nor thread_exit yet) at some
// point of the event stream while the call ran. The converse does not
// hold: hotplug and destroy take a worker off its CPU before they join it
// and record its thread_exit.
void check_cpus_with_worker(ScenarioContext& ctx, SimEngine& eng, SimWorkqueue& q) {
  const uint64_t before = eng.event_count();
  const std::vector<int> got = q.cpus_with_worker();
  const std::vector<Event> ev = eng.events();
  std::map<uint32_t, int> live;  // thread -> CPU
  std::set<int> seen;            // CPUs with a live worker somewhere in the window
  auto note_live = [&] {
    for (auto& [thread, cpu] : live) seen.insert(cpu);
  };
  for (const Event& e : ev) {
    if (e.seq == before) note_live();
    if (e.queue != q.id()) continue;
    if (e.type == EventType::spawn) live[e.thread] = e.cpu;
    if (e.type == EventType::idle_exit || e.type == EventType::thread_exit) live.erase(e.thread);
    if (e.seq >= before) note_live();
  }
  if (before >= ev.size()) note_live();
  for (int c : got)
    ctx.expect(seen.count(c) != 0, "C6",
               "cpus_with_worker() of " + q.name() + " named cpu " + std::to_string(c) +
                   ", which had no live worker of that queue while the call ran (events #" + std::to_string(before) +
                   "..#" + std::to_string(ev.size()) + ")");
}

// Queues of drawn kinds, each with works that requeue themselves a few
// times and a delayed work. Clients queue, arm, cancel (sync or not),
// flush works, flush and drain queues and ask a queue which CPUs have a
// worker; one does hotplug; two destroyers destroy queues, sometimes the
// same one. A call on a destroyed queue is
// Error(queue_destroyed) (C14), a second destroy too; a queueing during a
// drain from outside the queue returns false (C11). Nothing else may
// fail; the oracle checks the stream (C11, C13, C14 above all).
void teardown(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 50us, 10us, /*min_ncpus=*/1);
  cfg.dependency_check = check_knob(ctx, ctx.rng);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();
  const int nq = static_cast<int>(knob(ctx, "queues", 2, 3));
  struct Q {
    SimWorkqueue* wq = nullptr;
    std::vector<std::unique_ptr<SimWork>> works;
    std::unique_ptr<SimDelayedWork> timer;
    std::vector<int> requeues;
  };
  std::vector<Q> qs(static_cast<size_t>(nq));
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };
  int destroyed_errors = 0;
  for (int i = 0; i < nq; ++i) {
    Q& q = qs[static_cast<size_t>(i)];
    q.wq = &drawn_queue(ctx, eng, "q" + std::to_string(i));
    const int nw = static_cast<int>(ctx.rng.range(1, 3));
    q.requeues.assign(static_cast<size_t>(nw), 2);
    for (int k = 0; k < nw; ++k)
      q.works.push_back(std::make_unique<SimWork>(
          [&, i, k](SimWork& self) {
            Q& me = qs[static_cast<size_t>(i)];
            if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 3000));
            if (me.requeues[static_cast<size_t>(k)] > 0 && ctx.rng.chance(0.5)) {
              --me.requeues[static_cast<size_t>(k)];
              try {
                me.wq->queue_work_on(any_cpu(), self);  // chained: accepted even while draining
              } catch (const Error& e) {
                if (e.code() != Errc::queue_destroyed) throw;
              }
            }
          },
          "q" + std::to_string(i) + "w" + std::to_string(k)));
    q.timer = std::make_unique<SimDelayedWork>([](SimWork&) {}, "q" + std::to_string(i) + "d");
  }
  kit::set_faults(ctx, eng, {.fail_probability = knob_p(ctx, "fail_p", {0.0, 0.0, 0.3}), .seed = ctx.rng.next()});
  const int nops = static_cast<int>(knob(ctx, "ops", 6, 16));
  const int nclients = static_cast<int>(knob(ctx, "clients", 1, 2));
  // Clients, then the hotplug thread, then two destroyers.
  ctx.clients(nclients + 3, [&](int who) {
    auto on_queue = [&](const std::function<void(Q&)>& op) {
      Q& q = qs[ctx.rng.below(qs.size())];
      try {
        op(q);
      } catch (const Error& e) {
        if (e.code() != Errc::queue_destroyed) throw;
        ++destroyed_errors;
      }
    };
    if (who < nclients) {
      for (int k = 0; k < nops; ++k) {
        switch (ctx.rng.below(9)) {
          case 0:
          case 1: on_queue([&](Q& q) { q.wq->queue_work_on(any_cpu(), *q.works[ctx.rng.below(q.works.size())]); }); break;
          case 2: on_queue([&](Q& q) { q.wq->queue_delayed_work_on(any_cpu(), *q.timer, kit::delay(ctx, 20000)); }); break;
          case 3: on_queue([&](Q& q) { eng.cancel_work(*q.works[ctx.rng.below(q.works.size())]); }); break;
          case 4: on_queue([&](Q& q) { eng.cancel_work_sync(ctx.rng.chance(0.5) ? *q.works[0] : *q.timer); }); break;
          case 5: on_queue([&](Q& q) { eng.flush_work(*q.works[ctx.rng.below(q.works.size())]); }); break;
          case 6: on_queue([&](Q& q) { q.wq->flush(); }); break;
          case 7: on_queue([&](Q& q) { check_cpus_with_worker(ctx, eng, *q.wq); }); break;
          default: on_queue([&](Q& q) { q.wq->drain(); }); break;
        }
        if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 10000));
      }
    } else if (who == nclients) {  // hotplug
      for (int k = 0; k < 4 && ncpus > 1; ++k) {
        const int c = kit::non_core_cpu(ctx, eng);
        if (eng.cpu_is_online(c)) eng.cpu_offline(c);
        else eng.cpu_online(c);
        ScenarioContext::sleep_ns(ctx.rng.range(0, 15000));
      }
    } else {  // destroyers: each destroys one or two queues, maybe the other's
      ScenarioContext::sleep_ns(ctx.rng.range(0, 30000));
      const int n = static_cast<int>(ctx.rng.range(1, 2));
      for (int k = 0; k < n; ++k) on_queue([&](Q& q) { q.wq->destroy(); });
    }
  });
  for (int c = 0; c < ncpus; ++c)
    if (c != eng.config().core_cpu) eng.cpu_online(c);
  kit::set_faults(ctx, eng, {});
  for (Q& q : qs)
    if (!q.wq->destroyed()) q.wq->destroy();
  ctx.note("queue_destroyed_errors", destroyed_errors);
}

}  // namespace lazywq::sim
