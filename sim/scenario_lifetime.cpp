// Works freed while their queues live, as real clients free them: the
// kernel's pattern is cancel_work_sync() then kfree(); here the work's
// destructor, which does both (it cancels, waits, and waits for the engine
// threads still holding the work). No other scenario frees a work before
// the end of its run.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::check_knob;
using kit::drawn_queue;
using kit::knob;
using kit::knob_p;

// Each client owns a few work slots and frees and reallocates their works
// while it queues them on other CPUs and queues, cancels them (so a copy
// queued for another CPU waits there for the run in progress, C3, and is
// then taken off its list while its worker still waits), flushes and
// cancels them synchronously. Runs are long and requeue themselves, so a
// work often has a run in progress and waiters on other CPUs when its
// owner frees it. The destructor must return only when nothing in the
// engine uses the work any more: a thread that touches its lock or
// condition variable afterwards ends the run as a crash (the simulated
// platform remembers destroyed ones), and a run of a freed work breaks C12.
void lifetime(ScenarioContext& ctx) {
  // Freed works' storage, kept until the engine is gone (declared before
  // it, so destroyed after it). A work the engine still runs after its
  // destructor returned (a C3 or C12 bug) then reads a dead work's bytes,
  // not memory malloc gave to something else: the run reports C12 by name
  // instead of crashing the harness at a random later point.
  struct KeepStorage {
    std::vector<SimWork*> dead;
    ~KeepStorage() {
      for (SimWork* w : dead) ::operator delete(w);
    }
  } graveyard;
  EngineConfig cfg = ctx.engine_config(4, 50us, 10us, /*min_ncpus=*/2);
  cfg.dependency_check = check_knob(ctx, ctx.rng);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();
  SimWorkqueue* qs[2] = {&drawn_queue(ctx, eng, "q0"), &drawn_queue(ctx, eng, "q1")};
  // Two queues in half the runs: a freed work may last have run elsewhere.
  const int nq = ctx.rng.chance(0.5) ? 2 : 1;
  ctx.note("queues_used", nq);
  kit::set_faults(ctx, eng, {.fail_probability = knob_p(ctx, "fail_p", {0.0, 0.0, 0.3}), .seed = ctx.rng.next()});
  const int nclients = static_cast<int>(knob(ctx, "clients", 1, 3));
  const int nslots = static_cast<int>(knob(ctx, "slots", 1, 2));
  const int nops = static_cast<int>(knob(ctx, "ops", 8, 24));
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };
  auto any_queue = [&]() -> SimWorkqueue& { return *qs[ctx.rng.below(static_cast<uint64_t>(nq))]; };

  // One generation per allocated work (a deque: callbacks keep references).
  struct Gen {
    std::string name;
    int requeues = 0;  // self-requeues left
    int inside = 0;    // runs in progress (C3: at most one)
    bool freed = false;
  };
  std::deque<Gen> gens;
  struct Slot {
    std::unique_ptr<SimWork> work;
    size_t gen = 0;
  };
  std::vector<std::vector<Slot>> slots(static_cast<size_t>(nclients));
  for (auto& mine : slots) mine.resize(static_cast<size_t>(nslots));

  // What a work's body reaches, through one pointer: the body's closure is
  // then a pointer and an index, trivially copyable and 16 bytes, which
  // std::function keeps inside the work itself (libstdc++'s local storage)
  // rather than in a heap block its destructor frees. With the work's
  // storage kept (graveyard), a run after the destructor still finds it.
  struct Shared {
    ScenarioContext& ctx;
    std::deque<Gen>& gens;
    std::function<SimWorkqueue&()> any_queue;
    std::function<int()> any_cpu;
  } shared{ctx, gens, any_queue, any_cpu};
  auto allocate = [&](Slot& s, const std::string& base) {
    const size_t g = gens.size();
    gens.push_back(Gen{base + "g" + std::to_string(g), static_cast<int>(ctx.rng.range(0, 3))});
    s.gen = g;
    auto body = [sh = &shared, g](SimWork& self) {
      Gen& me = sh->gens[g];
      ScenarioContext& c = sh->ctx;
      c.expect(!me.freed, "C12", me.name + " ran after its destructor returned");
      c.expect(++me.inside == 1, "C3", me.name + " ran twice at once");
      // Long runs: queueings on other CPUs wait for them.
      if (c.rng.chance(0.7)) ScenarioContext::sleep_ns(c.rng.range(50000, 400000));
      if (me.requeues > 0 && c.rng.chance(0.5)) {
        --me.requeues;
        sh->any_queue().queue_work_on(sh->any_cpu(), self);
      }
      --me.inside;
    };
    static_assert(sizeof(body) <= 16 && std::is_trivially_copyable_v<decltype(body)>,
                  "the body must fit std::function's local storage (see Shared)");
    s.work = std::make_unique<SimWork>(body, gens[g].name);
  };
  auto free_work = [&](Slot& s) {
    Gen& old = gens[s.gen];
    // The destructor cancels, waits for the run in progress and for the
    // engine's own waiters; the storage stays (graveyard).
    SimWork* w = s.work.release();
    w->~SimWork();
    graveyard.dead.push_back(w);
    ctx.expect(old.inside == 0, "C12", old.name + "'s destructor returned while its run was in progress");
    old.freed = true;
  };
  for (int c = 0; c < nclients; ++c)
    for (int k = 0; k < nslots; ++k)
      allocate(slots[static_cast<size_t>(c)][static_cast<size_t>(k)], "c" + std::to_string(c) + "s" + std::to_string(k));

  ctx.clients(nclients, [&](int who) {
    std::vector<Slot>& mine = slots[static_cast<size_t>(who)];
    for (int k = 0; k < nops; ++k) {
      Slot& s = mine[ctx.rng.below(mine.size())];
      switch (ctx.rng.below(9)) {
        case 0:
        case 1:
          any_queue().queue_work_on(any_cpu(), *s.work);
          break;
        case 2:
        case 3: {
          // Scatter: let a run start, then queue for a CPU, take it back,
          // queue for another: each copy may find the run in progress and
          // wait on its CPU for it. Then, often, free the work at once.
          // Distinct CPUs: a CPU's own copy would just wait behind the run.
          std::vector<int> cpus(static_cast<size_t>(ncpus));
          for (int c = 0; c < ncpus; ++c) cpus[static_cast<size_t>(c)] = c;
          for (size_t i = cpus.size(); i > 1; --i) std::swap(cpus[i - 1], cpus[ctx.rng.below(i)]);
          any_queue().queue_work_on(cpus[0], *s.work);
          ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
          const int n = std::min(static_cast<int>(ctx.rng.range(2, 3)), ncpus - 1);
          for (int i = 0; i < n; ++i) {
            any_queue().queue_work_on(cpus[static_cast<size_t>(i + 1)], *s.work);
            ScenarioContext::sleep_ns(ctx.rng.range(5000, 40000));
            if (i + 1 < n) eng.cancel_work(*s.work);
          }
          if (ctx.rng.chance(0.5)) {
            free_work(s);
            allocate(s, "c" + std::to_string(who) + "s" + std::to_string(&s - mine.data()));
          }
          break;
        }
        case 4:
          eng.cancel_work(*s.work);
          break;
        case 5:
          eng.flush_work(*s.work);
          break;
        case 6:
          eng.cancel_work_sync(*s.work);
          break;
        default:
          free_work(s);
          allocate(s, "c" + std::to_string(who) + "s" + std::to_string(&s - mine.data()));
          break;
      }
      if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 6000));
    }
    for (Slot& s : mine) free_work(s);
  });
  kit::set_faults(ctx, eng, {});
  for (SimWorkqueue* q : qs) q->destroy();
  ctx.note("works_allocated", static_cast<int64_t>(gens.size()));
}

}  // namespace lazywq::sim
