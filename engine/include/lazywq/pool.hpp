// A shared worker pool (docs/SHARED.md): the threads that every `shared`
// workqueue uses. The engine has one per CPU and priority, and one unbound.
//
// Locking legend: S is BasicEngine::pool_lock_, which is also the Q lock of
// every shared workqueue (one lock for the whole shared world: a worker
// moves from one queue's work to another's without a lock dance, and every
// rule below is checked under one lock). I: immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lazywq/detail.hpp"

namespace lazywq {

template <class P> class BasicWork;
template <class P> struct Worker;

template <class P>
struct Pool {
  const int cpu;        // I: -1 for the unbound pool
  const bool highpri;   // I
  detail::IntrusiveList<BasicWork<P>> worklist;    // S: activated works, oldest first
  // S: live workers (owned; exited ones move to the zombies). Guarded: the
  // simulator checks each access, since -Wthread-safety cannot name S here.
  detail::Guarded<P, std::vector<std::unique_ptr<Worker<P>>>> workers;
  detail::Guarded<P, std::vector<Worker<P>*>> idle;  // S: idle workers, most recently idle last
  // S: workers running a callback and not blocked in an engine wait. A
  // worker takes the next work only when it would be the only running one;
  // when the count drops to 0 with works waiting, another worker is woken
  // or created (concurrency management, C16).
  detail::Var<P, int> nr_running = 0;
  detail::Var<P, bool> online = true;             // S: false while its CPU is offline (works go unbound)
  detail::Var<P, bool> creating = false;          // S: the manager is creating a worker for it
  detail::Var<P, bool> fresh_failure = false;     // S: a creation just failed; the next rescue says so
  detail::Var<P, int64_t> cooldown_until_ns = 0;  // S: no creation attempt before this
  detail::Var<P, uint64_t> progress = 0;          // S: runs started or ended (the watchdog compares)
  detail::Var<P, uint64_t> watched_progress = 0;  // S: progress when the watchdog last looked
  detail::Var<P, int64_t> stalled_since_ns = -1;  // S: waiting work and no progress since (-1: not stalled)

  Pool(int c, bool hp) : cpu(c), highpri(hp) {}
  // True when works wait and no worker runs or is about to: someone must
  // be woken or created.
  bool needs_worker() const { return !worklist.empty() && nr_running == 0; }
};

}  // namespace lazywq
