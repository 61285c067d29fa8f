// The contract oracle: checks a recorded event stream against the rules of
// docs/CONTRACT.md (C1-C16, C19) and names the broken rule.
//
// It replays the stream once, keeping a model of every work (its pending
// queueing, its running callbacks, the flushes and cancels waiting on it),
// every queue (kind, threads, insertions not yet finished, armed timers) and
// every CPU (online or not). Cost: O(n log n) over the events, no quadratic
// scan, so the simulator can run it on every execution.
//
// Soundness first: a check reports only what a correct engine cannot
// produce given the places where the engine records its events (see
// engine_impl.hpp). Where an event is recorded outside the lock that orders
// the transition (queue_busy, cancel_end, cpu_offline), the check allows
// every interleaving the engine can legitimately produce; the comments in
// oracle.cpp say which.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::check {

struct Violation {
  std::string rule;              // "C1".."C15"
  std::string message;           // one sentence: what happened, which work/queue/cpu
  std::vector<uint64_t> events;  // seq numbers of the events that show it (smallest useful set)
};

struct OracleOptions {
  int ncpus = 8;
  int core_cpu = 0;
  // The run ended with all queues flushed or destroyed: any queueing not yet
  // run or cancelled is a lost work (C1, or C7/C8/C9 when the stream shows
  // why), and a callback that never returned is a liveness failure (C15).
  // An armed timer of a queue that was not destroyed is not lost.
  bool quiescent_end = true;
  // The engine's max_workers_per_pool, if known (0: not known). A shared
  // work may be rescued once a pool thread's creation failed, or once a
  // pool had this many workers.
  int max_workers_per_pool = 0;
  // The engine's idle_timeout in ns, if known (-1: not known, not judged).
  // An idle_exit must come at least this long after the thread's spawn or
  // its last run's end (C8).
  int64_t idle_timeout_ns = -1;
  // The engine's stall_timeout in ns, if known (-1: not known, not judged;
  // 0: no watchdog). C19: the watchdog uncounts a pool's threads only after
  // the pool made no progress (no run began or ended) for this long.
  int64_t stall_timeout_ns = -1;
  // The engine's spawn_cooldown in ns, if known (-1: not known, not
  // judged). C7: a failed creation is tried again no sooner.
  int64_t spawn_cooldown_ns = -1;
};

// Every violation of the stream, in the order they were detected; at most
// one per rule and work (or per rule and queue/CPU for queue-level rules).
// Includes check_pool_concurrency's.
std::vector<Violation> check_events(const std::vector<Event>& events, const OracleOptions& opt);

// C19 alone (sim/oracle_pools.cpp): a shared pool starts a work only when
// none of its threads counts as running, and the stall watchdog uncounts
// only threads that count. At most one violation per pool and per thread.
std::vector<Violation> check_pool_concurrency(const std::vector<Event>& events, int64_t stall_timeout_ns = -1);

// The events relevant to a violation (its own events plus every event of the
// same works and queues, and the hotplug events, up to its last event), one
// per line with lazywq::format_event; the violation's own events are marked
// with '>'. At most max_lines lines: the oldest related events are dropped
// first (one line says how many), the violation's own events are kept.
std::string explain(const std::vector<Event>& events, const Violation& v, size_t max_lines = 60);

}  // namespace lazywq::check
