// What the driver (models.cpp) needs of every model file: how one model is
// run under a Relacy scheduler (run_model<T>), and the runners the model
// files define, one per model (the registry in models.cpp lists them with
// their names, rules and budgets).
//
// Model files, by theme:
//   models_core.cpp    lazy queues: creation, idle exit, migration, the
//                      pending bit, cancel, flush, stats, delayed works,
//                      flush/drain, hotplug (lazy and shared)
//   models_shared.cpp  shared pools: nr_running, the ordered queue's
//                      inactive list, the rescuer
//   models_waits.cpp   waits from callbacks (behind the caller, cycles in
//                      DependencyCheck::error mode) and error paths
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "models/harness.hpp"

namespace lazywq::models {

struct Outcome {
  rl::test_result_e result = rl::test_result_success;
  uint64_t iterations = 0;  // completed (or up to the failing one)
  uint64_t stop_iteration = 0;
  std::string state;        // Relacy's final state (replay input)
  double seconds = 0;
  bool budget_hit = false;
  std::string message;
};

template <class T, class Sched>
Outcome run_with(rl::test_params& p) {
  Outcome o;
  RunConfig& rc = run_config();
  rc.iterations_started = 0;
  rc.budget_hit = false;
  rc.message[0] = 0;
  rl::ostringstream oss;
  const auto t0 = std::chrono::steady_clock::now();
  o.result = rl::run_test<T, Sched>(p, oss, false);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  o.stop_iteration = p.stop_iteration;
  o.state = std::string(oss.str().c_str());
  o.budget_hit = rc.budget_hit;
  o.message = rc.message;
  if (o.result == rl::test_result_until_condition_hit && o.budget_hit) {
    o.result = rl::test_result_success;
    o.iterations = rc.iterations_started - 1;
  } else {
    o.iterations = o.result == rl::test_result_success ? p.stop_iteration : rc.iterations_started;
  }
  return o;
}

template <class T>
Outcome run_model(rl::test_params& p) {
  if (p.search_type == rl::sched_bound)
    return run_with<T, rl::context_bound_scheduler<T::params::thread_count>>(p);
  return run_with<T, rl::random_scheduler<T::params::thread_count>>(p);
}

// Defines the runner of model struct T (in an anonymous namespace of a
// model file) as run_<name>, declared below.
#define LAZYWQ_MODEL_RUNNER(name, T) \
  Outcome run_##name(rl::test_params& p) { return run_model<T>(p); }

// models_core.cpp
Outcome run_creation_failure(rl::test_params& p);
Outcome run_creation_retry(rl::test_params& p);
Outcome run_idle_exit(rl::test_params& p);
Outcome run_migration(rl::test_params& p);
Outcome run_pending(rl::test_params& p);
Outcome run_cancel(rl::test_params& p);
Outcome run_flush_migration(rl::test_params& p);
Outcome run_stats(rl::test_params& p);
Outcome run_published_getters(rl::test_params& p);
Outcome run_late_queue(rl::test_params& p);
Outcome run_delayed(rl::test_params& p);
Outcome run_flush_drain(rl::test_params& p);
Outcome run_hotplug(rl::test_params& p);
Outcome run_shared_hotplug(rl::test_params& p);
Outcome run_per_cpu(rl::test_params& p);
Outcome run_lazy_collision(rl::test_params& p);
Outcome run_drain_timer(rl::test_params& p);
// models_waits.cpp
Outcome run_flush_behind(rl::test_params& p);
Outcome run_cycle_per_cpu(rl::test_params& p);
Outcome run_flush_own_pending(rl::test_params& p);
Outcome run_flush_racing_queue(rl::test_params& p);
Outcome run_flush_rehomed(rl::test_params& p);
Outcome run_pending_handoff(rl::test_params& p);
Outcome run_cancel_handoff(rl::test_params& p);
Outcome run_cycle_shared(rl::test_params& p);
Outcome run_misuse(rl::test_params& p);
// models_shared.cpp
Outcome run_nr_running(rl::test_params& p);
Outcome run_ordered(rl::test_params& p);
Outcome run_rescuer(rl::test_params& p);
Outcome run_rescuer_chain(rl::test_params& p);
Outcome run_shared_collision(rl::test_params& p);
Outcome run_watchdog(rl::test_params& p);
Outcome run_rescuer_turn(rl::test_params& p);
Outcome run_rescuer_slots(rl::test_params& p);
Outcome run_rescuer_behind(rl::test_params& p);
Outcome run_rescuer_queue_flush(rl::test_params& p);
Outcome run_rescuer_single_flush(rl::test_params& p);

}  // namespace lazywq::models
