// Plain types shared by every platform instantiation of the engine:
// configuration, errors, events and statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lazywq {

using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

// The deadline that never comes. Clock readings and deadlines are int64
// nanoseconds; every deadline the engine computes (now + a Duration, a
// platform time from an engine time) saturates here instead of overflowing
// (detail::deadline_after), and a platform's CondVar::wait_until(m, kNever)
// waits with no timeout. So a Duration too large to add, Duration::max()
// first, means "never": a delay that never fires by itself, an idle timeout
// that never ends, a cooldown that never ends (docs/CONTRACT.md).
inline constexpr int64_t kNever = INT64_MAX;

// The kinds of workqueue (docs/CONTRACT.md, "Objects").
enum class WqKind : uint8_t {
  per_cpu,        // eager: one worker per online CPU from creation (2009 baseline)
  lazy,           // Axboe's lazy queue: a core thread; workers on demand; idle exit
  single_thread,  // one thread runs everything, in queue order
  ordered,        // one work at a time, in global queue order
  shared,         // Weisbecker's answer (cmwq): engine-wide pools, concurrency managed (docs/SHARED.md)
};
std::string_view to_string(WqKind k);

// Every misuse the engine detects is reported as an Error with one of these
// codes. None of them leaves the engine in a bad state.
enum class Errc : uint8_t {
  invalid_cpu,       // CPU index outside [0, ncpus)
  queue_destroyed,   // call on a destroyed queue, or a second destroy
  deadlock,          // the call would wait for the caller itself
  spawn_failed,      // a queue's core thread could not be created
  cpu_state,         // offlining the core CPU, or hotplug from an engine thread
  wrong_engine,      // a work already bound to another engine
  invalid_argument,  // anything else malformed (negative delay, ncpus < 1 ...)
};
std::string_view to_string(Errc e);

class Error : public std::logic_error {
 public:
  Error(Errc code, const std::string& what) : std::logic_error(what), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

// Thread-creation fault injection. Applies to every thread the engine creates
// (core threads and workers); decisions are deterministic for a given seed
// and creation order.
// The contract's rules are C1..kContractRules (docs/CONTRACT.md); the
// harness's tools accept and report them by these names.
inline constexpr int kContractRules = 19;

struct SpawnFaults {
  uint64_t fail_nth = 0;          // fail the Nth creation (1-based, counted from when set); 0 = off
  uint64_t fail_next = 0;         // fail the next N creations
  double fail_probability = 0.0;  // fail each creation with this probability...
  uint64_t seed = 0;              // ...drawn from this seed: which creations fail is a fixed function of
                                  // the seed and the creation order (splitmix64), so a recorded seed replays
  bool fail_always = false;       // fail every creation
};

// ---------------------------------------------------------------------------
// TEST HOOKS (PlantedBug, RaceWindow, EngineConfig::planted_bug): lazywq's own
// harness uses them to prove its checkers have teeth and to measure which
// races it reached. An application never needs them: leave planted_bug at
// `none` (it is ignored anyway outside the planted build, which is never
// installed) and ignore the race windows (markers the real platform compiles
// to nothing).

// Bugs that the planted-bug build (LAZYWQ_PLANTED_BUGS=ON) can switch on by
// name, to prove the harness catches them. Production builds compile every
// check to `false`.
enum class PlantedBug : uint8_t {
  none,
  spawn_fail_loses_work,    // C7: a failed creation drops the work
  idle_exit_strands_work,   // C8: exit decided outside the lock
  migrate_reorders,         // C5/C9: migration puts work at the head
  migrate_duplicates,       // C1/C9: migration leaves a copy on the core
  clear_pending_after_run,  // C2: PENDING cleared after the callback
  missing_wakeup,           // C15: queueing forgets to wake the worker
  stats_without_lock,       // data race: live_threads() reads a Q field unlocked
  blocked_worker_counted_running,  // C16, C19: a pool thread blocked in an engine wait still counts as running
  collision_runs_concurrently,     // C3: a shared work requeued while running runs again on another thread
};
std::string_view to_string(PlantedBug b);
PlantedBug planted_bug_from_string(std::string_view name);  // throws Error on unknown
std::vector<PlantedBug> all_planted_bugs();

// Race windows: the stretches of engine code where the admitted races (and
// their neighbours) can happen. The engine marks them through the platform
// (P::window_enter / window_exit); the simulator counts, for every pair
// (a, b), the scheduling points at which one thread was inside a while
// another was inside b: coverage of interleavings, not of lines. The
// fuzzer uses it as feedback; the CI gate fails when a window is never hit.
enum class RaceWindow : uint8_t {
  queue_inflight,      // queue_*: PENDING claimed, work not yet on a list (C1, C8, C12)
  spawn_unlocked,      // worker creation with the queue lock dropped (C6, C7)
  idle_exit_decision,  // a lazy worker timed out and decides to exit (C8)
  core_migrate,        // the core moves a work to its CPU's worker (C9)
  cancel_grab,         // cancel / mod_delayed_work taking PENDING (C12)
  flush_wait,          // flush_work waiting for runs (C10)
  reentrant_wait,      // a worker waits for another run of its work (C3)
  callback,            // a work's callback runs (C2, C3)
  offline_retire,      // cpu_offline moving works and retiring a worker (C13)
  destroy_drain,       // destroy draining and joining (C14)
  count
};
inline constexpr size_t kRaceWindows = static_cast<size_t>(RaceWindow::count);
std::string_view to_string(RaceWindow w);
// --------------------------------------------------------- end of test hooks

// What the engine does when a wait closes a wait-for cycle between works
// and queues (C16, engine/include/lazywq/dependency.hpp).
enum class DependencyCheck : uint8_t {
  off,     // no bookkeeping
  report,  // record a dependency_cycle event and keep the report (lockdep's choice: warn)
  error,   // also refuse the wait: Error(deadlock) with the cycle, instead of a possible hang
};

// Options of a workqueue. Only `shared` queues take any (Error(invalid_argument)
// otherwise): the other kinds own their threads and keep their own rules.
struct WqOptions {
  bool highpri = false;  // runs on the per-CPU high-priority pools
  bool unbound = false;  // runs on the unbound pool, whatever CPU it is queued on
  bool ordered = false;  // one work at a time in queueing order (implies unbound, max_active 1)
  int max_active = 0;    // works of this queue run or runnable at once; 0 = 256 (1 if ordered)
};
inline constexpr int kDefaultMaxActive = 256;

struct EngineConfig {
  int ncpus = 8;                        // virtual CPUs 0..ncpus-1
  int core_cpu = 0;                     // CPU of every queue's core thread
  Duration idle_timeout = 5s;           // a lazy worker idle this long exits
  Duration spawn_cooldown = 100ms;      // after a failed creation, retry after this
  bool record_events = false;           // keep the event stream (tests, oracle)
  SpawnFaults spawn_faults{};
  PlantedBug planted_bug = PlantedBug::none;  // TEST HOOK: honoured only in the planted build
  DependencyCheck dependency_check = DependencyCheck::report;
  // Shared pools (docs/SHARED.md): a pool whose works made no progress for
  // this long while work waits gets one more worker (the kernel's mayday),
  // up to max_workers_per_pool. Zero turns the watchdog off (then only
  // engine waits let another worker in).
  Duration stall_timeout = 100ms;
  int max_workers_per_pool = 64;
};

// Event types of the stream (docs/CONTRACT.md, "Events").
enum class EventType : uint8_t {
  create,          // workqueue created (arg: WqKind)
  queue,           // work inserted into a queue (arg: target cpu)
  queue_busy,      // queue_* found PENDING already set and changed nothing (arg: target cpu)
  queue_rejected,  // queueing refused (draining queue) (arg: target cpu)
  timer_arm,       // delayed work armed (arg: target cpu)
  timer_fire,      // armed delayed work inserted into its queue (arg: target cpu)
  dequeue,         // a cancel or mod_delayed_work removed a pending queueing (arg: 1 if it was an armed timer)
  migrate,         // moved from the core list to its CPU's worker (arg: target cpu)
  spawn,           // thread created (cpu = its CPU; queue 0, the pools: arg 0 a normal pool's thread, 3 a high-priority pool's, 1 the manager, 2 the rescuer)
  spawn_fail,      // thread creation failed (cpu = the CPU it was for; queue 0: arg as for spawn)
  fallback,        // work run on the core instead of its CPU (arg: FallbackReason)
  exec_begin,      // callback starts (cpu = where it runs, arg: target cpu)
  exec_end,        // callback returned
  idle_exit,       // worker decided to exit after idle_timeout
  thread_exit,     // worker stopped by hotplug or destroy
  flush_begin,     // flush_work / flush_workqueue / drain starts (arg: FlushKind)
  flush_end,       // ... returns (arg: 1 if it waited)
  cancel_begin,    // cancel_* starts (arg: 1 for the _sync variants)
  cancel_end,      // cancel_* returns (arg: 1 if the work was pending)
  cpu_offline,
  cpu_online,
  destroy,         // destroy starts
  destroy_end,     // destroy returns: every thread of the queue is joined
  callback_threw,  // a callback let an exception escape (caught, counted)
  dependency_cycle,  // C16: a wait closed a wait-for cycle (queue/work: the waiter; arg: cycle length)
  // C19: a shared pool's thread enters an engine wait inside a callback
  // (it stops counting as running; work: the work it waits for, if one)...
  wait_begin,
  wait_end,  // ... and leaves it (it counts again if the wait uncounted it)
  mayday,    // C19: the stall watchdog stopped counting a pool thread as running (thread: that thread)
  // C19: the stall watchdog starts watching a pool (cpu: the pool's, -1
  // the unbound pool; arg: 1 high priority). Recorded before the clock
  // reading the watch starts from, so a mayday is at least stall_timeout
  // after its watch's event (thread: whoever started it).
  stall_watch,
  // C16: a wait refused with Error(deadlock), recorded before the throw by
  // the caller (queue/work: what it would have waited for, 0 if not one;
  // arg: RefusalReason). The oracle judges each one (sim/oracle.cpp).
  wait_refused,
};
// Number of event types (the last one + 1), for tables indexed by type.
inline constexpr int kEventTypes = static_cast<int>(EventType::wait_refused) + 1;
std::string_view to_string(EventType t);

enum class FallbackReason : int32_t { spawn_failed = 0, spawn_cooldown = 1, cpu_offline = 2 };
enum class FlushKind : int32_t { work = 0, workqueue = 1, drain = 2, delayed = 3 };
// Why a wait was refused with Error(deadlock) (the wait_refused event's arg).
enum class RefusalReason : int32_t {
  own_run = 0,        // flush_work / cancel_work_sync of a work whose run in progress is the caller's own
  behind_caller = 1,  // flush_work of a queueing only the caller's thread (or slot) runs, after it returns
  own_queue = 2,      // flush_workqueue / drain_workqueue / destroy from a work of that queue
  cycle = 3,          // DependencyCheck::error: the wait's edges close a wait-for cycle
  rescuer_chain = 4,  // the rescuer's wait chain ends in a run on its own stack (every mode)
};

// Threads outside the engine (tests, users) carry this bit in Event::thread.
inline constexpr uint32_t kExternalThread = 0x80000000u;

struct Event {
  uint64_t seq = 0;      // position in the stream
  int64_t time_ns = 0;   // engine clock, relative to engine creation
  uint32_t thread = 0;   // engine thread id, or kExternalThread | the caller's platform tag
  int32_t cpu = -1;      // CPU of that thread (or the CPU concerned)
  uint32_t queue = 0;    // workqueue id (1-based; 0 = none)
  uint64_t work = 0;     // work id (1-based; 0 = none)
  EventType type = EventType::queue;
  int32_t arg = 0;       // type-specific, see EventType
  // A wait_refused (behind_caller) of flush_work: the queueings of `work`
  // the flush counted (the n-th accepted, n <= upto: its queued_seq_
  // read at the call), so that the oracle judges the refusal by the
  // queueing it was for, not by any pending one. 0 elsewhere.
  uint64_t upto = 0;
};
std::string format_event(const Event& e);

struct QueueStats {
  uint32_t id = 0;
  std::string name;
  WqKind kind = WqKind::lazy;
  bool destroyed = false;
  int live_threads = 0;  // created and not yet joined, core included
  // Shared queues (C5's max_active): works active (on a pool, or running)
  // and waiting on the queue's inactive list for a slot. 0 for other kinds.
  int active = 0;
  int inactive = 0;
};

// One shared pool (docs/SHARED.md): per CPU normal and high priority, and the
// unbound one (cpu -1).
struct PoolStats {
  int cpu = -1;
  bool highpri = false;
  int workers = 0;   // live, created and not yet joined
  int idle = 0;
  int running = 0;   // nr_running: running a callback and not blocked in an engine wait
  int pending = 0;   // works on its worklist
};

struct Stats {
  uint64_t threads_created = 0;
  uint64_t threads_exited = 0;   // joined
  uint64_t spawn_failures = 0;
  uint64_t fallbacks = 0;
  uint64_t migrations = 0;
  uint64_t works_run = 0;
  uint64_t idle_exits = 0;
  uint64_t callback_exceptions = 0;
  uint64_t dependency_cycles = 0;  // C16 reports (dependency_cycles() has the chains)
  uint64_t watchdog_rescues = 0;   // shared pools the stall watchdog unblocked (mayday)
  int live_threads = 0;  // over all queues, plus the shared pools' workers and their manager
  int pool_threads = 0;  // shared pools' workers and the manager (counted in live_threads too)
  std::vector<QueueStats> queues;
  std::vector<PoolStats> pools;  // empty until the first shared queue
};

}  // namespace lazywq
