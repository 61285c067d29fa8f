// Shared by the rescuer's sim tests (test_rescuer_waits.cpp,
// test_rescuer_queue_flushes.cpp): the engine at its pools' cap, a wait
// that may be refused, and the oracle's verdict on a run's events.
#pragma once

#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"

namespace lazywq::sim::rescuer_kit {

// Two CPUs, the pools at their cap of one thread, no stall watchdog: the
// rescuer runs what a blocked pool thread's pool needs.
inline EngineConfig at_the_cap() {
  EngineConfig cfg;
  cfg.ncpus = 2;
  cfg.max_workers_per_pool = 1;
  cfg.stall_timeout = Duration::zero();
  cfg.record_events = true;
  return cfg;
}

// Two CPUs, events on, DependencyCheck `check`: the rescuer's flushes,
// creation made to fail for good once the queues exist.
inline EngineConfig two_cpus(DependencyCheck check) {
  EngineConfig cfg;
  cfg.ncpus = 2;
  cfg.dependency_check = check;
  cfg.record_events = true;
  return cfg;
}

// Two CPUs, events on, creation retried after the pools' floor of 1 ms,
// no stall watchdog: the rescuer's answers to failures that come and go.
inline EngineConfig retrying_every_ms() {
  EngineConfig cfg;
  cfg.ncpus = 2;
  cfg.spawn_cooldown = std::chrono::milliseconds(1);
  cfg.stall_timeout = Duration::zero();
  cfg.record_events = true;
  return cfg;
}

// Runs `wait`; true if it was refused with Error(deadlock) (other errors
// propagate).
template <class F>
bool refused(F&& wait) {
  try {
    wait();
  } catch (const Error& e) {
    if (e.code() != Errc::deadlock) throw;
    return true;
  }
  return false;
}

// The oracle's violations, one per line ("" when it accepts the run).
inline std::string oracle_verdict(const std::vector<Event>& events, int max_workers, int ncpus = 2) {
  check::OracleOptions o;
  o.ncpus = ncpus;
  o.max_workers_per_pool = max_workers;
  std::string out;
  for (const check::Violation& v : check::check_events(events, o)) out += v.rule + ": " + v.message + "\n";
  return out;
}

}  // namespace lazywq::sim::rescuer_kit
