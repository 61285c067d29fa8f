// The simulated world: a deterministic scheduler of user-space threads
// (fibers on Boost.Context) with virtual time.
//
// One simulated thread runs at a time. At every scheduling point (each
// operation of the simulated platform: atomic access, lock, unlock, wait,
// notify, thread creation, clock read) the strategy picks who runs next.
// Every point costs `step_ns` of virtual time; when every thread is
// blocked, the clock jumps to the earliest deadline. Nothing inside reads
// the wall clock or an address, so a (seed, strategy, build) triple always
// gives the same run.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lazywq/types.hpp"
#include "sim/address_set.hpp"
#include "sim/happens_before.hpp"
#include "sim/rng.hpp"
#include "sim/strategy.hpp"

namespace lazywq::sim {

inline constexpr uint32_t kNoThread = 0xffffffffu;

// Threads blocked on one object (a mutex, a condition variable, a join).
struct WaitQueue {
  std::vector<uint32_t> ids;
};

enum class RunStatus : uint8_t {
  ok,          // every thread finished
  deadlock,    // threads left, all blocked, no deadline pending
  step_limit,  // max_steps reached: livelock or a run far longer than expected
  crashed,     // an exception escaped a simulated thread
  spin,        // a thread yielded max_spin_yields times in a row without blocking: a busy wait
  horizon,     // the virtual clock passed max_virtual_ns: a wait that never ends while timers keep time going
};
const char* to_string(RunStatus s);

struct WorldConfig {
  uint64_t seed = 0;
  std::string strategy = "random";
  std::vector<uint8_t> bytes;         // for the `bytes` strategy
  Schedule schedule;                  // for the `schedule` strategy
  // Keep the run's decisions (RunResult::schedule): what the shrinker
  // starts from. Off in the explorer: a random run decides at almost
  // every choice point.
  bool record_schedule = false;
  // Keep every choice point (RunResult::choices): where the shrinker's
  // bounded search may put a decision.
  bool record_choices = false;
  uint64_t max_steps = 2'000'000;
  // The horizon (0: none): the run ends (RunStatus::horizon) once a
  // driver thread (main and those marked with mark_driver: the workload,
  // not the engine) has been blocked in one untimed wait for this much
  // virtual time (a join of another driver does not count: main waits for
  // its clients). A hang in which an engine thread still wakes on a timer
  // (an idle timeout, the manager's or the rescuer's periodic look) or
  // other clients keep queueing (the liveness scenarios) is no deadlock,
  // and reached max_steps only after millions of points, seconds of wall
  // clock, or a harness timeout first. A driver's sleep is a timed wait and
  // does not count. (Clean runs: RunResult::longest_workload_wait_ns.)
  int64_t max_virtual_ns = 0;
  int64_t step_ns = 1000;  // virtual time of one scheduling point
  // A coarse clock (0: off): the time of the points adds up unseen and the
  // clock moves by it only once it reaches this tick, so threads read the
  // same time for a while, then a jump; a time jump (every thread waits)
  // lands exactly on the deadline. A thread woken at its deadline reads
  // that very time back, where `now < deadline` and `now <= deadline`
  // differ: CLOCK_MONOTONIC_COARSE, a VM's clocksource, a fast CPU.
  int64_t clock_tick_ns = 0;
  double delay_probability = 0.0;     // fault: a point also costs up to max_delay_ns
  // Fault: a condition variable wait returns without a notify (a spurious
  // wake-up, which the standard allows), with this probability per wait.
  // Drawn from a stream of its own: the other draws of a run stay as they were.
  double spurious_wakeup_probability = 0.0;
  int64_t max_delay_ns = 0;
  // Safety nets: the engine's waits whose timeout only covers a wake-up it
  // may miss (SimPlatform::safety_net) keep their deadline. Off: they wait
  // until woken, so a missed wake-up hangs the run.
  bool safety_nets = true;
  // The run's heap hands a freed block back to the next allocation of its
  // size, as glibc's cache does, but decided by the run's own allocations
  // alone (sim/quarantine.hpp): stale pointers may meet new objects (ABA).
  // Off: no address is reused within the run.
  bool reuse_freed_blocks = false;
  // A busy wait: this many yields in a row by one thread, none blocking
  // in between, end the run (RunStatus::spin; 0: never). The engine's
  // yield loops wait for another thread's few steps (a binder storing an
  // id, a queuer between its claim and its insertion); a wait for a
  // callback, a sleep or a lock held across one must sleep on a condition.
  uint64_t max_spin_yields = 100;
  // The same limit for timed waits whose deadline has already passed when
  // they begin (they return at once): a thread that keeps waiting until a
  // time the clock has reached polls the clock, it does not sleep.

  // Data races (sim/happens_before.hpp): two accesses to one engine field
  // (P::Var, P::ListVar), mutex or condition variable, one of them a write,
  // with no happens-before edge between them, end the run as crashed (the
  // runner's rule "race"), naming both accesses. Off only to measure what
  // the check costs.
  bool race_check = true;
};

// How a data race's report begins (World::hb_read/hb_write): the runner
// files such a crash under the rule "race".
inline constexpr const char* kDataRaceMessage = "data race on ";

// window_hits[a][b]: scheduling points at which one thread was inside race
// window a while another thread was inside b (types.hpp, RaceWindow).
using WindowHits = std::array<std::array<uint32_t, kRaceWindows>, kRaceWindows>;

struct RunResult {
  RunStatus status = RunStatus::ok;
  std::string message;       // deadlock: who waits on what; crashed: the exception
  uint64_t steps = 0;
  int64_t virtual_ns = 0;
  uint32_t threads = 0;      // threads created, main included
  uint64_t schedule_hash = 0;  // hash of every decision, for determinism checks
  std::string strategy_report;
  WindowHits window_hits{};
  // The run seen as explicit decisions (sim/schedule.hpp): its choice
  // points, how many did not take the default pick, and how many of those
  // switched away from a thread that could have gone on (preemptions).
  uint64_t choice_points = 0;
  uint64_t decisions = 0;
  uint64_t preemptions = 0;
  // The longest untimed wait of a driver that ended within the run
  // (WorldConfig::max_virtual_ns): what the horizon must exceed.
  int64_t longest_workload_wait_ns = 0;
  Schedule schedule;  // the decisions themselves, with WorldConfig::record_schedule
  std::vector<ChoicePoint> choices;  // every choice point, with WorldConfig::record_choices
};

class World {
 public:
  explicit World(WorldConfig cfg);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Runs `main` as simulated thread 0 until every thread has finished or
  // the run fails. A world runs once.
  RunResult run(std::function<void()> main);

  // The world running on the calling OS thread, or null outside a run.
  static World* current();
  // Every world of this process stores its step count into `sink` now and
  // then (every 1024 points): the explorer's parent process reads it from
  // shared memory to tell a run that spins with no scheduling point from
  // one that is only slow. Null: off.
  static void publish_steps_to(std::atomic<uint64_t>* sink);

  // --- used by the simulated platform, from inside a simulated thread ---
  void point(const char* why);
  void yield();
  // Blocks the current thread on `q` until woken, or until `deadline_ns`
  // (virtual, >= 0) passes. Returns false on timeout.
  bool block(WaitQueue& q, int64_t deadline_ns, const char* why);
  void wake_one(WaitQueue& q);
  void wake_all(WaitQueue& q);
  uint32_t spawn(int cpu, std::string name, std::function<void()> body);
  // Thread `id` (just spawned, runnable) drives the workload: the horizon
  // (WorldConfig::max_virtual_ns) watches the drivers. Main is one.
  void mark_driver(uint32_t id);
  // Raises the horizon to at least `ns` (an engine whose own timeouts
  // are long may keep a driver waiting for that long).
  void extend_horizon(int64_t ns) {
    if (cfg_.max_virtual_ns > 0 && ns > cfg_.max_virtual_ns) cfg_.max_virtual_ns = ns;
  }
  void join(uint32_t id);
  uint32_t self() const { return current_; }
  int64_t now() const { return now_; }
  void*& context_slot();
  void window_enter(RaceWindow w);
  void window_exit(RaceWindow w);
  int cpu() const;
  void set_cpu(int cpu);
  const std::string& thread_name(uint32_t id) const;
  // Every thread the run spawned (ids 0..thread_count()-1), with the CPU
  // it was started on (it may move later: set_cpu).
  uint32_t thread_count() const { return static_cast<uint32_t>(threads_.size()); }
  int spawn_cpu(uint32_t id) const;
  // The simulated mutexes and condition variables report their misuse as a
  // crash of the run: destroyed while held or waited for, or used after
  // their destruction (the engine freed memory a thread still uses; the
  // real build would read freed memory, which only ASan would see). A
  // destroyed object's address is remembered until an object is built
  // there again; it is only looked up, never iterated, so the run stays
  // deterministic.
  void sync_created(const void* obj) {
    if (!dead_sync_.empty()) dead_sync_.erase(obj);
  }
  // `owner`: the thread holding it (kNoThread: none); `waiters`: threads
  // blocked on it. Either makes the destruction a misuse.
  void sync_destroyed(const void* obj, const char* what, uint32_t owner, const WaitQueue& waiters);
  bool sync_dead(const void* obj) const { return dead_sync_.contains(obj); }
  // Ends the run as crashed with `msg` (naming the current thread); never returns.
  [[noreturn]] void misuse(const std::string& msg);
  // A condition variable wait should return at once, spuriously
  // (WorldConfig::spurious_wakeup_probability; never outside a run).
  bool spurious_wakeup() {
    if (cfg_.spurious_wakeup_probability <= 0 || !spurious_rng_.chance(cfg_.spurious_wakeup_probability)) return false;
    ++spurious_wakeups_;
    return true;
  }
  uint64_t spurious_wakeups() const { return spurious_wakeups_; }
  // Blocks the run's heap handed back (WorldConfig::reuse_freed_blocks).
  uint64_t blocks_reused() const { return blocks_reused_; }
  bool safety_nets() const { return cfg_.safety_nets; }
  // SimPlatform::safety_net dropped the deadline of the current thread's
  // next wait; wait_why names such a wait for the hang report.
  void drop_safety_net();
  uint64_t safety_nets_dropped() const { return safety_nets_dropped_; }
  const char* wait_why(const char* plain);
  // How a hang report names such a wait (sim/runner.cpp looks for it).
  static constexpr const char* kSafetyNetWait =
      "condvar wait whose deadline is a safety net, dropped in this run (safety_nets=off): the wake-up the engine "
      "owed this thread never came";
  // --- happens-before (sim/happens_before.hpp), from inside a thread ---
  // True inside a running thread of a world that checks races.
  bool checks_races() const { return cfg_.race_check && current_ != kNoThread; }
  // The current thread acquires what `from` released (lock, acquire load).
  void hb_acquire(const VectorClock& from) { cur_clock_->join(from); }
  // The current thread releases into `to` (unlock, release store): `to`
  // becomes its clock, which then ticks. An RMW continues a release
  // sequence: it joins into `to` instead (hb_release_more).
  void hb_release(VectorClock& to) {
    to = *cur_clock_;
    tick();
  }
  void hb_release_more(VectorClock& to) {
    to.join(*cur_clock_);
    tick();
  }
  // An access to the location `s` shadows, from `pc` (a return address in
  // the engine); `what` names the location's kind for the report. A
  // conflicting access nothing orders ends the run (crashed). Inline, the
  // common case: the last write and read happen before this access.
  void hb_read(AccessShadow& s, const void* pc, const char* what) {
    if (s.world == id_ && !s.reads && ordered(s.write) && ordered(s.read))
      s.read = Access{current_, cur_clock_->get(current_), pc, steps_};
    else
      hb_read_slow(s, pc, what);
  }
  void hb_write(AccessShadow& s, const void* pc, const char* what) {
    if (s.world == id_ && !s.reads && ordered(s.write) && ordered(s.read)) {
      s.write = Access{current_, cur_clock_->get(current_), pc, steps_};
      s.read = Access{};
    } else {
      hb_write_slow(s, pc, what);
    }
  }

  // A use after free of `what` from `pc` (a return address in the engine):
  // ends the run as crashed, naming the line. `evidence` says how it was
  // seen. Called by the race check (a shadow that holds the quarantine's
  // fill, sim/quarantine.hpp) and by P::Atomic (its liveness word).
  [[noreturn]] void report_use_after_free(const void* pc, bool writes, const char* what,
                                          const char* evidence = "in a block the engine freed earlier in this run");

  // Random stream for faults and workloads, independent of the strategy's.
  Rng& rng() { return rng_; }
  uint64_t steps() const { return steps_; }
  const WorldConfig& config() const { return cfg_; }

  // Internal: the body of a simulated thread, entered on its own stack.
  struct Thread;
  static void thread_main(Thread* t, void* hub_fctx);

 private:
  struct StackPool;
  void resume(Thread& t);
  void switch_to_hub();
  void make_runnable(uint32_t id);
  void wake_expired();
  void fail(RunStatus s, std::string msg);
  bool past_horizon() const;
  void fail_at_horizon();
  // The driver whose untimed wait passed the horizon, or kNoThread.
  uint32_t stuck_driver() const;
  // Asks the strategy for the next thread and keeps the books on it
  // (schedule hash, choice points, decisions, preemptions).
  uint32_t choose(uint32_t current, bool current_runnable, bool yielding);
  std::string describe_blocked() const;
  // True when the access `a` (none, this thread's, or another's that the
  // current thread has acquired) happens before the current thread's step.
  bool ordered(const Access& a) const {
    return a.tid == kNoAccess || a.tid == current_ || a.clock <= cur_clock_->get(a.tid);
  }
  void tick() { cur_clock_->set(current_, cur_clock_->get(current_) + 1); }
  void hb_read_slow(AccessShadow& s, const void* pc, const char* what);
  void hb_write_slow(AccessShadow& s, const void* pc, const char* what);
  [[noreturn]] void report_race(const Access& earlier, bool earlier_wrote, const void* pc, bool writes,
                                const char* what);
  void symbolize_race_sites();

  WorldConfig cfg_;
  std::unique_ptr<Strategy> strategy_;
  Rng rng_;
  StackPool* stacks_ = nullptr;  // per OS thread, shared by successive worlds
  std::vector<std::unique_ptr<Thread>> threads_;
  std::vector<uint32_t> runnable_;  // sorted ids
  uint32_t current_ = kNoThread;
  VectorClock* cur_clock_ = nullptr;  // the current thread's clock (happens-before), null between threads
  uint32_t next_ = kNoThread;
  bool yielding_ = false;
  uint64_t steps_ = 0;
  int64_t now_ = 0;
  int64_t unseen_ns_ = 0;  // coarse clock: time spent since the clock last moved (WorldConfig::clock_tick_ns)
  int64_t min_deadline_ = -1;  // earliest deadline of a timed waiter, -1 if none
  std::vector<uint32_t> drivers_;  // mark_driver's threads, the horizon's watch
  uint64_t hash_ = 0xcbf29ce484222325ull;
  bool failed_ = false;
  AddressSet dead_sync_;  // destroyed mutexes and condition variables (sync_destroyed)
  Rng spurious_rng_;  // spurious_wakeup() only
  uint64_t spurious_wakeups_ = 0;
  uint64_t blocks_reused_ = 0;
  uint64_t safety_nets_dropped_ = 0;  // waits made untimed (drop_safety_net)
  uint32_t threads_in_windows_ = 0;  // threads with a non-empty window mask
  WindowHits window_hits_{};
  bool ran_ = false;
  const uint64_t id_;  // unique per world of the process: tells a stale AccessShadow
  std::vector<const void*> race_pcs_;  // a race's two sites, symbolized when the run ends
  RunResult result_;
  void* hub_fctx_ = nullptr;   // the hub's suspended context while a thread runs
  // Sanitizer fiber bookkeeping (used only in ASan / TSan builds).
  [[maybe_unused]] void* hub_tsan_fiber_ = nullptr;
  [[maybe_unused]] const void* hub_stack_bottom_ = nullptr;
  [[maybe_unused]] size_t hub_stack_size_ = 0;
};

}  // namespace lazywq::sim
