// The models' harness: a base test suite that creates the REAL engine
// (BasicEngine<RelacyPlatform>) at the start of every Relacy iteration,
// runs the model's operations on the static threads, tears the engine down
// and checks the end state (and, optionally, the contract oracle over the
// recorded events); plus the driver that runs a model under Relacy's random
// and context-bound schedulers and replays a failing iteration.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lazywq/engine_decl.hpp"
#include "models/platform_relacy.hpp"
#include "sim/oracle.hpp"

// The engine on the Relacy platform is compiled once, in relacy_engine.cpp:
// the model files do not recompile when the engine's code changes (a
// mutant build, mutation/).
namespace lazywq {
extern template class BasicEngine<models::RelacyPlatform>;
extern template class BasicWorkqueue<models::RelacyPlatform>;
extern template class BasicWork<models::RelacyPlatform>;
}  // namespace lazywq

namespace lazywq::models {

using P = RelacyPlatform;
using Engine = BasicEngine<P>;
using Workqueue = BasicWorkqueue<P>;
using Work = BasicWork<P>;
using DelayedWork = BasicDelayedWork<P>;

// What the driver tells the tests (set before a run, read-only during it,
// so every iteration is deterministic).
struct RunConfig {
  PlantedBug planted = PlantedBug::none;
  bool oracle = true;               // record events and check them at the end
  uint64_t iteration_budget = 0;    // context-bound search: stop after this many (0 = exhaust the tree)
  uint64_t iterations_started = 0;  // counted in before()
  bool budget_hit = false;
  char message[1024] = {};          // what the last failing check said
};

inline RunConfig& run_config() {
  static RunConfig c;
  return c;
}

// A failing check: remember the message (a fixed buffer: Relacy's heap dies
// with the run), then fail the iteration as a user assertion.
#define MODEL_CHECK(cond, ...)                                                                    \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::snprintf(::lazywq::models::run_config().message,                                       \
                    sizeof(::lazywq::models::run_config().message), __VA_ARGS__);                 \
      RL_ASSERT(cond);                                                                            \
    }                                                                                             \
  } while (0)

// Bookkeeping of one work's callbacks, kept in plain fields: Relacy runs
// threads as fibers and switches only at its own operations, so these
// counters are updated atomically with respect to the model's threads.
struct Track {
  int starts = 0;
  int ends = 0;
  int in_callback = 0;
  int last_start_tick = 0;
  int start_ticks[8] = {};
  int cpus[8] = {};
};

// A flag the model's threads wait on, under the platform's mutex and
// condition variable: Relacy sees the wait, and the edge it makes is the
// model's own (a gate opened by thread A orders A's past before the
// waiter's future, and nothing else).
struct Gate {
  P::Mutex lock;
  P::CondVar cv;
  bool is_open = false;
  void open() {
    lock.lock();
    is_open = true;
    cv.notify_all();
    lock.unlock();
  }
  void wait() {
    lock.lock();
    while (!is_open) cv.wait(lock);
    lock.unlock();
  }
};

// Base of every model. Derived provides:
//   static constexpr const char* kName;
//   void configure(EngineConfig&)   (optional)
//   void setup()                    create works, faults...
//   void op(unsigned thread)        thread 0..NStatic-1's operations
//   void check_end()                after destroy (thread 0)
template <class D, size_t NStatic, size_t NDyn>
struct ModelBase : rl::test_suite<D, NStatic> {
  static size_t const dynamic_thread_count = NDyn;
  static constexpr int kNcpus = 2;

  Engine* eng = nullptr;
  Workqueue* wq = nullptr;
  std::vector<Work*> works;
  std::vector<DelayedWork*> dworks;  // delayed works (tracked in `tracks` too)
  std::vector<Track> tracks;
  int tick = 0;  // logical time of the model's own observations

  // Thread 0 waits here for the others before tearing down.
  P::Mutex done_lock;
  P::CondVar done_cv;
  unsigned done = 0;

  D& self() { return *static_cast<D*>(this); }

  void configure(EngineConfig&) {}
  void check_end() {}
  // True: the engine is deleted before the works (works may outlive their
  // engine, which detaches them: their destructors do nothing).
  bool works_outlive_engine() { return false; }
  WqKind queue_kind() { return WqKind::lazy; }
  WqOptions queue_options() { return {}; }

  void before() {
    RunConfig& rc = run_config();
    ++rc.iterations_started;
    if (rc.iteration_budget != 0 && rc.iterations_started > rc.iteration_budget) {
      rc.budget_hit = true;
      RL_UNTIL(true);
    }
    P::begin_iteration(static_cast<unsigned>(NDyn), kNcpus);
    EngineConfig cfg;
    cfg.ncpus = kNcpus;
    cfg.core_cpu = 0;
    cfg.idle_timeout = std::chrono::milliseconds(1);
    cfg.spawn_cooldown = std::chrono::milliseconds(1);
    cfg.record_events = rc.oracle;
    cfg.planted_bug = rc.planted;
    self().configure(cfg);
    eng = new Engine(cfg);
    wq = &eng->create_workqueue("model", self().queue_kind(), self().queue_options());
    self().setup();
  }

  // A work whose callback records its run in tracks[k] and then calls
  // `extra` (e.g. a self-requeue).
  template <class F>
  Work* add_work(F extra) {
    works.push_back(make_tracked<Work>(extra));
    return works.back();
  }
  template <class F>
  DelayedWork* add_delayed_work(F extra) {
    dworks.push_back(make_tracked<DelayedWork>(extra));
    return dworks.back();
  }
  template <class W, class F>
  W* make_tracked(F extra) {
    const size_t k = tracks.size();
    tracks.push_back(Track{});
    return new W([this, k, extra](Work& w) {
      Track& t = tracks[k];
      MODEL_CHECK(t.in_callback == 0, "C3: work %zu runs concurrently with itself", k);
      ++t.in_callback;
      ++in_callbacks;
      if (in_callbacks > max_in_callbacks) max_in_callbacks = in_callbacks;
      const int n = t.starts++;
      t.last_start_tick = ++tick;
      if (n < 8) {
        t.start_ticks[n] = t.last_start_tick;
        t.cpus[n] = P::current_cpu();
      }
      // Counted as ended even when `extra` throws (a model's callback may:
      // the engine catches it, C2/C3 still hold for the next run).
      struct End {
        Track& t;
        int& in;
        ~End() {
          --in;
          --t.in_callback;
          ++t.ends;
        }
      } end{t, in_callbacks};
      extra(w);
    });
  }
  int in_callbacks = 0;      // callbacks of any tracked work running now
  int max_in_callbacks = 0;  // the most at once
  Work* add_work() {
    return add_work([](Work&) {});
  }

  void thread(unsigned i) {
    self().op(i);
    if (i != 0) {
      done_lock.lock();
      ++done;
      done_cv.notify_all();
      done_lock.unlock();
      return;
    }
    done_lock.lock();
    while (done < NStatic - 1) done_cv.wait(done_lock);
    done_lock.unlock();
    self().before_destroy();
    wq->destroy();
    self().check_end();
    if (run_config().oracle) {
      check::OracleOptions opt;
      opt.ncpus = kNcpus;
      opt.core_cpu = 0;
      opt.quiescent_end = true;
      opt.max_workers_per_pool = eng->config().max_workers_per_pool;
      const std::vector<Event> ev = eng->events();
      const std::vector<check::Violation> v = check::check_events(ev, opt);
      if (!v.empty()) {
        const std::string why = check::explain(ev, v.front(), 40);
        MODEL_CHECK(v.empty(), "oracle: %s %s\n%s", v.front().rule.c_str(), v.front().message.c_str(), why.c_str());
      }
    }
    if (self().works_outlive_engine()) {
      delete eng;
      eng = nullptr;
      for (size_t k = 0; k < works.size(); ++k)
        MODEL_CHECK(works[k]->engine() == nullptr, "C14: work %zu outlived its engine but still names it", k);
      for (size_t k = 0; k < dworks.size(); ++k)
        MODEL_CHECK(dworks[k]->engine() == nullptr, "C14: delayed work %zu outlived its engine but still names it", k);
    }
    for (Work* w : works) delete w;
    works.clear();
    for (DelayedWork* w : dworks) delete w;
    dworks.clear();
    tracks.clear();
    delete eng;
    eng = nullptr;
  }

  void before_destroy() {}
};

}  // namespace lazywq::models
