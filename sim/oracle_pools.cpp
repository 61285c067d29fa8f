// C19, concurrency management of the shared pools (docs/CONTRACT.md): one
// pass over the stream, separate from the main oracle because it needs only
// the pool threads' events and a model of whether each one counts as
// running (the engine's nr_running, as cmwq's concurrency management keeps
// it).
//
// The engine records every event below under S, the lock that orders the
// pools' takes, so the stream's order is the order of the transitions:
// - a pool thread takes a work from its pool's worklist and records its
//   exec_begin in one hold of S; it counts as running from the take on.
// - wait_begin / wait_end: recorded first thing in worker_sleeping /
//   worker_waking, in the same hold of S as the uncount / recount.
// - mayday: recorded per thread the watchdog uncounts, in that hold.
// - stall_watch: the watchdog starts watching a pool (a kick, or the
//   manager seeing progress since its last look), recorded before the
//   clock reading the watch starts from.
// Between two callbacks a thread still counts until it goes idle, which is
// not recorded: the model does not judge it there ("unknown").
// The watchdog uncounts a pool's threads once the pool made no progress (a
// run of one of its threads began or ended) since it started watching, at
// least stall_timeout before. Judged against the watch's start (its
// stall_watch event: exact, since session 15; before it, a mayday before
// the pool's first run ended was not judged at all), and on the runs' ends: an exec_end
// is recorded first in its hold of S and the progress counted after it,
// so a watch that outlives it starts later in that hold or after, and the
// mayday (whose clock reading comes after the watch's start) is at least
// stall_timeout younger. A run's start counts its progress before the
// kick that may start a watch in the same hold and records exec_begin
// after it: the simulated clock may move in between, so it is not judged.
//
// A work queued while a run of it was in progress may legitimately start
// beside a running thread (C3: it waits on that runner's scheduled list, or
// on the taker's, which waited for the other run and counts again after),
// so only the other starts are judged. The engine routes a queueing by the
// work's running_, which its runner clears after recording exec_end (in
// end_run_locked, under the work's lock only: a shared queueing fits in
// between): a run counts as in progress until its runner begins another
// run or exits (found by an independent review, reproduced with a
// single_thread queue's run and a shared queueing under preempt:2).
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/oracle.hpp"

namespace lazywq::check {
namespace {

using ET = EventType;

enum class Count { unknown, counted, uncounted };

struct PoolThread {
  std::pair<int, bool> pool;  // (cpu, high priority); cpu -1: the unbound pool
  uint64_t work = 0, begin_seq = 0;  // open callback (work 0: none)
  Count count = Count::unknown;
  bool blocked = false;          // uncounted by its current engine wait
  int waits = 0;                 // open engine waits (wait_begin without wait_end)
  uint64_t uncounted_seq = 0;    // the event that stopped it counting
};

struct PoolState {
  std::vector<uint32_t> members;  // its threads, in spawn order
  bool has_progress = false;
  uint64_t progress_seq = 0;      // its last run's end
  int64_t progress_ns = 0;
  bool watching = false;          // a stall_watch seen (the latest is the watch in force)
  uint64_t watch_seq = 0;
  int64_t watch_ns = 0;
  bool reported_take = false, reported_progress = false;
};

struct WorkRuns {
  int open = 0;                  // runs in progress (begun; ended only once the runner begins another or exits)
  bool queued_while_running = false;  // its latest insertion came while one ran
  uint64_t insert_seq = 0;
};

std::string pool_name(std::pair<int, bool> p) {
  if (p.first < 0) return "the unbound pool";
  return "cpu " + std::to_string(p.first) + "'s " + (p.second ? "high-priority " : "") + "pool";
}
std::string thr(uint32_t t) { return "thread " + std::to_string(t); }
std::string at(uint64_t s) { return "#" + std::to_string(s); }

class PoolConcurrency {
 public:
  explicit PoolConcurrency(int64_t stall_timeout_ns) : stall_ns_(stall_timeout_ns) {}

  std::vector<Violation> run(const std::vector<Event>& evs) {
    for (const Event& e : evs) step(e);
    return std::move(out_);
  }

 private:
  std::unordered_map<uint32_t, PoolThread> threads_;  // pool threads only
  std::unordered_map<uint64_t, WorkRuns> works_;
  // Runs whose exec_end was recorded, by runner: still in progress for
  // the exemption until that runner begins another run or exits.
  std::unordered_map<uint32_t, std::vector<uint64_t>> ended_;
  std::map<std::pair<int, bool>, PoolState> pools_;
  std::unordered_map<uint32_t, bool> reported_mayday_;
  const int64_t stall_ns_;

  void progress(const PoolThread& t, const Event& e) {
    PoolState& p = pools_[t.pool];
    p.has_progress = true;
    p.progress_seq = e.seq;
    p.progress_ns = e.time_ns;
  }
  std::vector<Violation> out_;

  PoolThread* pool_thread(uint32_t t) {
    auto it = threads_.find(t);
    return it == threads_.end() ? nullptr : &it->second;
  }

  void step(const Event& e) {
    switch (e.type) {
      case ET::spawn:
        // arg 0: a normal pool's thread, 3: a high-priority pool's (1 the
        // manager, 2 the rescuer: they count nowhere).
        if (e.queue == 0 && (e.arg == 0 || e.arg == 3)) {
          threads_[e.thread].pool = {e.cpu, e.arg == 3};
          pools_[{e.cpu, e.arg == 3}].members.push_back(e.thread);
        }
        break;
      case ET::queue:
      case ET::timer_fire: {
        WorkRuns& w = works_[e.work];
        w.queued_while_running = w.open > 0;
        w.insert_seq = e.seq;
        break;
      }
      case ET::exec_begin: on_exec_begin(e); break;
      case ET::idle_exit:
      case ET::thread_exit: close_ended(e.thread); break;
      case ET::exec_end:
        ended_[e.thread].push_back(e.work);
        if (PoolThread* t = pool_thread(e.thread)) {
          progress(*t, e);
          t->work = 0;
          t->waits = 0;
          t->blocked = false;
          if (t->count != Count::uncounted) t->count = Count::unknown;  // still counts until it idles
        }
        break;
      case ET::wait_begin:
        if (PoolThread* t = pool_thread(e.thread)) {
          ++t->waits;
          if (t->count == Count::counted) {
            t->count = Count::uncounted;
            t->blocked = true;
            t->uncounted_seq = e.seq;
          }
        }
        break;
      case ET::wait_end:
        if (PoolThread* t = pool_thread(e.thread)) {
          if (t->waits > 0) --t->waits;
          // As worker_waking: the wait that uncounted it counts it again
          // (a pool thread's engine waits do not nest).
          if (t->blocked) {
            t->blocked = false;
            t->count = Count::counted;
          }
        }
        break;
      case ET::mayday: on_mayday(e); break;
      case ET::stall_watch: {
        PoolState& p = pools_[{e.cpu, e.arg == 1}];
        p.watching = true;
        p.watch_seq = e.seq;
        p.watch_ns = e.time_ns;
        break;
      }
      default: break;
    }
  }

  void close_ended(uint32_t thread) {
    auto it = ended_.find(thread);
    if (it == ended_.end()) return;
    for (uint64_t work : it->second)
      if (works_[work].open > 0) --works_[work].open;
    ended_.erase(it);
  }

  void on_exec_begin(const Event& e) {
    close_ended(e.thread);
    WorkRuns& w = works_[e.work];
    const bool exempt = w.queued_while_running;
    ++w.open;
    PoolThread* t = pool_thread(e.thread);
    if (!t) return;  // a queue's thread, or the rescuer (which counts nowhere)
    t->work = e.work;
    t->begin_seq = e.seq;
    t->count = Count::counted;
    t->blocked = false;
    t->waits = 0;
    if (exempt) return;
    PoolState& pool = pools_[t->pool];
    for (uint32_t other : pool.members) {
      if (other == e.thread) continue;
      const PoolThread& u = threads_[other];
      if (u.work == 0 || u.count != Count::counted) continue;
      if (pool.reported_take) return;
      pool.reported_take = true;
      out_.push_back(Violation{
          "C19",
          pool_name(t->pool) + ": " + thr(e.thread) + " started work " + std::to_string(e.work) + " (queued at " +
              at(w.insert_seq) + ", no run of it in progress) at " + at(e.seq) + " while " + thr(other) +
              " was running work " + std::to_string(u.work) + " (since " + at(u.begin_seq) +
              ") outside any engine wait: a pool starts its next work only when none of its threads counts as running",
          {w.insert_seq, u.begin_seq, e.seq}});
      return;
    }
  }

  void on_mayday(const Event& e) {
    PoolThread* t = pool_thread(e.thread);
    if (!t) {
      out_.push_back(Violation{"C19", "the stall watchdog uncounted " + thr(e.thread) + ", not a pool thread", {e.seq}});
      return;
    }
    if (t->count == Count::uncounted && t->work != 0 && !reported_mayday_[e.thread]) {
      reported_mayday_[e.thread] = true;
      out_.push_back(Violation{
          "C19",
          "the stall watchdog uncounted " + thr(e.thread) + " of " + pool_name(t->pool) + " at " + at(e.seq) +
              " inside its run of work " + std::to_string(t->work) + " (since " + at(t->begin_seq) +
              "), which stopped counting as running at " + at(t->uncounted_seq) +
              (t->waits > 0 ? " (it is in an engine wait)" : " and has not counted again since") +
              ": a thread that does not count as running is not counted twice",
          {t->begin_seq, t->uncounted_seq, e.seq}});
    }
    PoolState& pool = pools_[t->pool];
    if (stall_ns_ > 0 && !pool.reported_progress && (!pool.watching || e.time_ns - pool.watch_ns < stall_ns_)) {
      pool.reported_progress = true;
      out_.push_back(Violation{
          "C19",
          !pool.watching
              ? "the stall watchdog uncounted " + thr(e.thread) + " of " + pool_name(t->pool) + " at " + at(e.seq) +
                    " without ever watching the pool (no stall_watch before it)"
              : "the stall watchdog uncounted " + thr(e.thread) + " of " + pool_name(t->pool) + " at " + at(e.seq) +
                    " only " + std::to_string(e.time_ns - pool.watch_ns) + " ns after it began watching the pool (" +
                    at(pool.watch_seq) + "), less than stall_timeout (" + std::to_string(stall_ns_) + " ns)",
          {pool.watch_seq, e.seq}});
    }
    if (stall_ns_ >= 0 && !pool.reported_progress &&
        (stall_ns_ == 0 || (pool.has_progress && e.time_ns - pool.progress_ns < stall_ns_))) {
      pool.reported_progress = true;
      out_.push_back(Violation{
          "C19",
          stall_ns_ == 0
              ? "the stall watchdog uncounted " + thr(e.thread) + " of " + pool_name(t->pool) + " at " + at(e.seq) +
                    " although stall_timeout is 0 (no watchdog)"
              : "the stall watchdog uncounted " + thr(e.thread) + " of " + pool_name(t->pool) + " at " + at(e.seq) +
                    " only " + std::to_string(e.time_ns - pool.progress_ns) + " ns after a run of the pool ended (" +
                    at(pool.progress_seq) + "), less than stall_timeout (" + std::to_string(stall_ns_) +
                    " ns): a pool that makes progress is not stalled",
          {pool.progress_seq, e.seq}});
    }
    t->count = Count::uncounted;
    t->blocked = false;
    t->uncounted_seq = e.seq;
  }
};

}  // namespace

std::vector<Violation> check_pool_concurrency(const std::vector<Event>& events, int64_t stall_timeout_ns) {
  return PoolConcurrency(stall_timeout_ns).run(events);
}

}  // namespace lazywq::check
