// The contract oracle (see oracle.hpp). One pass over the stream with a model
// of works, queues, threads and CPUs.
//
// Where the engine records what (engine_impl.hpp), and what that allows:
// - queue, timer_arm, timer_fire, dequeue, migrate, fallback, exec_begin,
//   exec_end, spawn, spawn_fail, idle_exit, thread_exit, queue_rejected,
//   flush_begin/flush_end of a queue, destroy, destroy_end: under the queue
//   lock, so their order in the stream is the order of the transitions.
// - exec_begin is recorded before PENDING is cleared; queue_busy after the
//   failed claim, without the queue lock: a queue_busy may be recorded after
//   the exec_begin (or the queue_rejected, or the cancel_end) whose PENDING
//   it saw. C2 only reports a queue_busy whose claim provably came after the
//   clear (see on_queue_busy).
// - cancel_end is recorded after PENDING is released: queueings and even
//   runs of later callers may be recorded before it. C12 only looks at the
//   queueings the cancel had to remove.
// - cpu_offline is recorded before the queues are taken offline one by one
//   (the calling thread records their migrations): a worker of c may still
//   start a work right after it. C13 counts c as offline for a queue once
//   the call has returned (next event of the calling thread other than a
//   migrate, or the next hotplug event), once the call has moved on to a
//   queue with a higher id, or once that queue's worker of c has exited.
// - a grab (cancel, mod_delayed_work) unlinks the work and records its
//   dequeue under the queue lock, but a concurrent cancel_work that finds
//   the work owned by a cancel_work_sync gives up without that lock: its
//   cancel_end may come before the owner's dequeue.
// - a queueing rejected or refused for a dead queue, a flush or a drain that
//   passed its liveness check before a concurrent destroy ended may record
//   after destroy_end (see C14 below).
#include "sim/oracle.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <limits>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace lazywq::check {
namespace {

using ET = EventType;

constexpr int kPerCpu = static_cast<int>(WqKind::per_cpu);
constexpr int kLazy = static_cast<int>(WqKind::lazy);
constexpr int kSingle = static_cast<int>(WqKind::single_thread);
constexpr int kOrdered = static_cast<int>(WqKind::ordered);
constexpr int kShared = static_cast<int>(WqKind::shared);
constexpr int kNoCpu = -1000;  // Queueing::running_cpu: the work was not running at its queueing
constexpr uint64_t kNone = ~uint64_t{0};

std::string thr(uint32_t t) {
  return (t & kExternalThread) ? "thread ext" + std::to_string(t & ~kExternalThread)
                               : "thread w" + std::to_string(t);
}
std::string at(uint64_t s) { return "#" + std::to_string(s); }
std::string W(uint64_t w) { return "work " + std::to_string(w); }
std::string cpu_s(int c) { return "cpu " + std::to_string(c); }

const char* kind_name(int k) {
  switch (k) {
    case kPerCpu: return "per_cpu";
    case kLazy: return "lazy";
    case kSingle: return "single_thread";
    case kOrdered: return "ordered";
    case kShared: return "shared";
    default: return "unknown-kind";
  }
}

uint64_t qc_key(uint32_t q, int c) { return (uint64_t{q} << 32) | static_cast<uint32_t>(c); }

// A flush returned while this queueing was still pending: reported when the
// queueing later runs or is cancelled (the flush returned early), or as part
// of the lost-work report if it never does.
struct Deferred {
  int rule = 0;
  uint64_t begin = 0, end = 0;
  uint32_t thread = 0;
};

struct Queueing {
  uint64_t accept = 0;      // queue / timer_arm
  uint64_t nth = 0;         // the work's n-th accepted queueing (its queued_seq_ once counted)
  uint64_t order = 0;       // queue / timer_fire (insertion); 0 while armed
  uint64_t migrate = 0;     // last migrate of it, 0 = none
  int32_t migrate_to = -1;  // CPU of that migrate
  uint64_t order_key = 0;   // C5 order domain: (queue, target) or (queue, all)
  uint32_t queue = 0;
  int32_t target = -1;
  int32_t running_cpu = kNoCpu;  // shared: CPU of the work's run going on at its queueing (C3's last pool)
  bool target_offline = false;   // its CPU was offline when it was queued
  bool armed = false;
  bool reported = false;    // already reported as lost
  Deferred deferred;
};

struct Run {
  uint32_t thread = 0;
  int32_t cpu = -1;
  uint64_t begin = 0;
  uint32_t queue = 0;
  bool has_q = false;       // false for a duplicate run (no queueing)
  Queueing q;
};

struct BusyCand {
  uint32_t thread;
  uint64_t seq;
  uint64_t run_begin;  // kNone if never ran
};

struct OpenCancel {
  uint32_t thread;
  uint64_t begin;
  bool sync;
  uint64_t need;  // C12: queueings accepted before this must be gone at cancel_end
  bool dequeued;
  uint64_t dequeue_seq;
};

struct OpenFlush {
  uint32_t thread;
  uint64_t begin;
};

struct WorkState {
  std::vector<Queueing> pending;  // normally at most one
  uint64_t accepted = 0;          // queueings accepted so far (queue, timer_arm): the engine's queued_seq_
  std::vector<Run> running;       // normally at most one
  bool has_run = false;
  uint64_t last_run_begin = 0;
  uint32_t last_run_thread = 0;
  uint64_t last_run_first_after = kNone;  // the runner's first event after exec_begin (PENDING cleared by then)
  uint64_t last_consumed_accept = kNone, last_consumed_migrate = 0, last_consumed_begin = 0;
  uint64_t last_cancel_end = kNone;
  uint64_t last_reject = kNone;
  uint32_t last_reject_thread = 0;
  uint64_t reject_clear_bound = kNone;  // first event of the rejecting thread after it (PENDING released by then)
  std::vector<BusyCand> busy;
  std::vector<OpenCancel> cancels;
  std::vector<OpenFlush> flushes;
};

struct ThreadState {
  bool seen = false;
  uint64_t last_seq = 0;
  ET last_type = ET::create;
  uint64_t last_work = 0;
  uint32_t last_queue = 0;
  uint32_t queue = 0;  // queue this engine thread belongs to (spawn / exec_begin)
  int cpu = -1;
  bool spawned = false;
  uint64_t spawn_seq = 0;
  int exited = 0;  // 1 idle_exit, 2 thread_exit
  uint64_t exit_seq = 0;
  // C8's idle period starts at its spawn or at the end of its last run.
  int64_t active_ns = 0;
  uint64_t active_seq = 0;
  bool exit_offline = false;  // its CPU was offline when it was stopped
  uint64_t cur_work = 0, cur_begin = 0;  // open callback
  uint32_t cur_queue = 0;                 // its queue (a shared pool thread serves many)
  bool pool_worker = false;               // a shared pool's worker (not the manager or the rescuer)
  bool highpri_pool = false;              // ... of a high-priority pool
  bool rescuer = false;                   // the shared pools' rescuer
  uint64_t open_cancel_work = 0, open_flush_work = 0;
  // The open flush_work's queueings: those accepted before the thread's
  // first event after its flush_begin (wait_begin on a pool thread), when
  // the engine had read what it waits for; kNone until then.
  uint64_t open_flush_read_by = kNone;
  // The thread's latest flush_work: its work, flush_begin and the work's
  // queueings accepted before it (the flush counts them all). Kept past
  // the flush (a refusal judges it after pre_thread closed it).
  uint64_t last_flush_work = 0, last_flush_begin = 0, last_flush_floor = 0;
  // The rescuer runs works nested in its own waits (C7 under permanent
  // creation failure): the callbacks (and their open calls) it returns to.
  struct Frame {
    uint64_t cur_work, cur_begin;
    uint32_t cur_queue;
    uint64_t open_cancel_work, open_flush_work;
  };
  std::vector<Frame> outer;
  int pending_offline_cpu = -1;  // its cpu_offline call completes at its next event
  int pending_online_cpu = -1;   // its cpu_online call completes at its next event
  uint64_t pending_offline_epoch = 0;  // ... of that CPU's offline epoch (a later hotplug makes it stale)
  uint64_t reject_work = 0, reject_seq = 0;
  bool reported_exited = false;
};

struct QcState {
  uint64_t first_queueing = kNone;
  uint64_t last_idle_exit = kNone;
  uint64_t last_spawn_fail = kNone;
  int64_t last_spawn_fail_ns = 0;
  uint64_t fresh_fallback = kNone;  // the fallback for a creation failure (one per failure, C7)
  uint32_t active = 0;  // thread id of the live worker, 0 = none
  uint64_t active_spawn = 0;
  uint64_t offline_done_epoch = 0;
};

struct OpenQFlush {
  uint32_t thread;
  int kind;
  uint64_t begin;
  bool busy_at_begin;  // some insertion of the queue had not finished at flush_begin
};

struct QueueState {
  int kind = -1;
  bool ordered_shared = false;  // a shared queue created with WqOptions::ordered (C5: one at a time, in order)
  bool unbound_shared = false;  // shared, unbound or ordered: runs on the unbound pool (cpu -1)
  bool highpri_shared = false;  // shared, high priority: runs on its CPU's high-priority pool
  int max_active = 0;           // shared: works running at once at most (0x7fff: that many or more)
  bool destroying = false, destroyed = false;
  uint64_t destroy_seq = 0, destroy_end_seq = 0;
  std::map<uint64_t, uint64_t> inflight;  // insertion seq -> work (inserted, not finished)
  std::map<uint64_t, uint64_t> armed;     // arm seq -> work
  int open_execs = 0;
  uint64_t open_exec_seq = 0, open_exec_work = 0;
  std::vector<OpenQFlush> flushes;
  int drains = 0;
  std::vector<uint32_t> threads;  // live threads (spawned, not exited)
};

struct CpuState {
  bool offline = false;
  bool complete = false;
  uint64_t offline_seq = 0;
  uint64_t epoch = 0;
  bool ever_offline = false;
  bool onlining = false;  // a cpu_online call has not returned (the shared pools come online last)
  uint64_t online_seq = kNone;       // the last cpu_online event
  uint64_t online_done_seq = kNone;  // an event after that cpu_online call returned (every queue saw it)
  uint64_t first_offline_seq = 0;
  uint32_t done_below = 0;  // queues with a smaller id have processed the offline
  uint64_t last_hotplug = kNone;  // its last cpu_offline or cpu_online event
};

class Oracle {
 public:
  Oracle(const std::vector<Event>& evs, const OracleOptions& opt) : evs_(evs), opt_(opt) {
    cpus_.resize(static_cast<size_t>(std::max(opt.ncpus, 1)));
    works_.reserve(64);
  }

  std::vector<Violation> run() {
    for (const Event& e : evs_) step(e);
    finish();
    return std::move(out_);
  }

 private:
  const std::vector<Event>& evs_;
  const OracleOptions& opt_;
  std::vector<Violation> out_;
  std::set<std::tuple<int, uint64_t, uint64_t, int64_t>> reported_;

  std::unordered_map<uint64_t, WorkState> works_;
  std::unordered_map<uint32_t, ThreadState> threads_;
  std::unordered_map<uint32_t, QueueState> queues_;
  std::unordered_map<uint64_t, QcState> qcs_;
  std::unordered_map<uint64_t, std::map<uint64_t, uint64_t>> order_;  // C5: insertion seq -> work, not started
  // C5, lazy and per_cpu queues: the run of each (queue, CPU) in progress,
  // begin seq -> work. One CPU's works run one after the other, whichever
  // thread runs them (its worker, or the core as a fallback).
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> cpu_run_;
  uint64_t any_pool_spawn_fail_ = kNone;  // first failed creation of a shared pool thread
  std::map<std::pair<int, bool>, int> live_pool_workers_;  // (cpu, high priority): spawned, not exited
  std::map<std::pair<int, bool>, std::pair<uint64_t, int64_t>> pool_spawn_fail_;  // (cpu, high priority): last failure (seq, ns)
  uint64_t any_pool_at_cap_ = kNone;  // first time a pool had max_workers_per_pool workers
  uint64_t first_callback_wait_ = kNone;  // first wait begun inside a callback (C16's detector check)
  std::vector<CpuState> cpus_;

  // ---------------------------------------------------------------- helpers

  bool report(int rule, uint64_t k1, uint64_t k2, int64_t k3, std::string msg, std::vector<uint64_t> evs) {
    if (!reported_.emplace(rule, k1, k2, k3).second) return false;
    std::sort(evs.begin(), evs.end());
    evs.erase(std::unique(evs.begin(), evs.end()), evs.end());
    out_.push_back(Violation{"C" + std::to_string(rule), std::move(msg), std::move(evs)});
    return true;
  }
  // One report per rule and work.
  bool report_work(int rule, uint64_t w, std::string msg, std::vector<uint64_t> evs) {
    return report(rule, w, 0, -1, std::move(msg), std::move(evs));
  }

  WorkState& work(uint64_t w) { return works_[w]; }
  QueueState& queue(uint32_t q) { return queues_[q]; }
  QcState& qc(uint32_t q, int c) { return qcs_[qc_key(q, c)]; }
  const QcState* find_qc(uint32_t q, int c) const {
    auto it = qcs_.find(qc_key(q, c));
    return it == qcs_.end() ? nullptr : &it->second;
  }
  int kind(uint32_t q) const {
    auto it = queues_.find(q);
    return it == queues_.end() ? -1 : it->second.kind;
  }
  std::string wq(uint32_t q) const { return "wq " + std::to_string(q) + " (" + kind_name(kind(q)) + ")"; }
  bool cpu_workers(uint32_t q) const {
    int k = kind(q);
    return k == kPerCpu || k == kLazy;
  }
  CpuState* cpu_state(int c) {
    if (c < 0 || static_cast<size_t>(c) >= cpus_.size()) return nullptr;
    return &cpus_[static_cast<size_t>(c)];
  }
  const CpuState* cpu_state(int c) const { return const_cast<Oracle*>(this)->cpu_state(c); }
  bool is_worker_of(uint32_t thread, uint32_t q) const {
    if (thread & kExternalThread) return false;
    auto it = threads_.find(thread);
    if (it == threads_.end()) return false;
    // A shared pool's thread is the engine's; it acts for the queue whose
    // work it runs.
    return it->second.queue == q || (it->second.queue == 0 && it->second.cur_work && it->second.cur_queue == q);
  }
  // C13: c is offline and queue q is known to have stopped using it.
  bool retired(int c, uint32_t q) {
    CpuState* cs = cpu_state(c);
    if (!cs || !cs->offline) return false;
    // The shared pools go offline last, after every queue: only the end of
    // the call says so.
    if (kind(q) == kShared) return cs->complete;
    if (cs->complete || q < cs->done_below) return true;
    const QcState* s = find_qc(q, c);
    return s && s->offline_done_epoch == cs->epoch;
  }
  bool one_at_a_time(uint32_t q) const {
    auto it = queues_.find(q);
    if (it == queues_.end()) return false;
    return it->second.kind == kSingle || it->second.kind == kOrdered || it->second.ordered_shared;
  }
  // C5 domains. A shared queue keeps no per-CPU order (a blocked thread
  // lets the next work start; C3 collisions wait on the runner): each of
  // its queueings is a domain of its own, unless the queue is ordered.
  uint64_t order_key_for(uint32_t q, int target, uint64_t seq) const {
    if (one_at_a_time(q)) return qc_key(q, -1);
    if (kind(q) == kShared) return (uint64_t{1} << 63) | seq;
    return qc_key(q, target);
  }

  // Takes a queueing out of the insertion/armed/order sets (dequeue, lost).
  void drop_sets(const Queueing& p) {
    QueueState& qs = queue(p.queue);
    if (p.armed) {
      qs.armed.erase(p.accept);
    } else {
      qs.inflight.erase(p.order);
      auto it = order_.find(p.order_key);
      if (it != order_.end()) it->second.erase(p.order);
    }
  }

  std::string queued_desc(uint64_t w, const Queueing& p) const {
    std::string s = W(w) + " queued on " + wq(p.queue) + " for " + cpu_s(p.target) + " at " + at(p.accept);
    if (p.order && p.order != p.accept) s += " (timer fired at " + at(p.order) + ")";
    if (p.armed) s += " (timer armed, never fired)";
    return s;
  }

  // Why a pending queueing never ran, from what the stream shows.
  int attribute(const Queueing& p, int fallback_rule, std::string& why, std::vector<uint64_t>& evs) const {
    if (const QcState* s = find_qc(p.queue, p.target)) {
      if (s->last_idle_exit != kNone && s->last_idle_exit > p.accept) {
        why = cpu_s(p.target) + "'s worker of " + wq(p.queue) + " idle-exited at " + at(s->last_idle_exit) +
              " after it was queued and nobody ran it";
        evs.push_back(s->last_idle_exit);
        return 8;
      }
      if (s->last_spawn_fail != kNone && s->last_spawn_fail > p.accept) {
        why = "creating " + cpu_s(p.target) + "'s worker failed at " + at(s->last_spawn_fail) +
              " and the work was not run on the core instead";
        evs.push_back(s->last_spawn_fail);
        return 7;
      }
    }
    if (p.migrate) {
      why = "it was migrated at " + at(p.migrate) + " and never ran after that";
      evs.push_back(p.migrate);
      return 9;
    }
    return fallback_rule;
  }

  void report_lost(uint64_t w, Queueing& p, int fallback_rule, const std::string& what, uint64_t extra_ev) {
    if (p.reported) return;
    p.reported = true;
    std::vector<uint64_t> evs{p.accept};
    if (p.order && p.order != p.accept) evs.push_back(p.order);
    if (extra_ev != kNone) evs.push_back(extra_ev);
    std::string why;
    int rule = attribute(p, fallback_rule, why, evs);
    std::string msg = queued_desc(w, p) + " " + what;
    if (!why.empty()) msg += ": " + why;
    if (p.deferred.rule) {
      msg += "; a " + std::string(p.deferred.rule == 10 ? "flush_work" : "flush/drain of the queue") + " by " +
             thr(p.deferred.thread) + " returned at " + at(p.deferred.end) + " while it was still pending";
      evs.push_back(p.deferred.begin);
      evs.push_back(p.deferred.end);
    }
    report_work(rule, w, msg, evs);
  }

  // A flush returned while this queueing was pending and it has now run or
  // been cancelled: the flush returned early.
  void emit_deferred(uint64_t w, const Queueing& p, uint64_t now, const char* how) {
    if (!p.deferred.rule) return;
    const bool work_flush = p.deferred.rule == 10;
    report_work(p.deferred.rule, w,
                std::string(work_flush ? "flush_work(" + W(w) + ")" : "a flush/drain of " + wq(p.queue)) + " by " +
                    thr(p.deferred.thread) + " returned at " + at(p.deferred.end) + " although " + W(w) +
                    " queued at " + at(p.accept) + " before the flush began (" + at(p.deferred.begin) +
                    ") had not run yet; it " + how + " only at " + at(now),
                {p.accept, p.deferred.begin, p.deferred.end, now});
  }

  Queueing* find_pending_by_order(uint64_t w, uint64_t order) {
    auto it = works_.find(w);
    if (it == works_.end()) return nullptr;
    for (Queueing& p : it->second.pending)
      if (!p.armed && p.order == order) return &p;
    return nullptr;
  }

  // Pending queueing of w in queue q preferred for a run with target `target`.
  int pick_pending(WorkState& ws, uint32_t q, int target) const {
    int best = -1;
    for (size_t i = 0; i < ws.pending.size(); ++i) {
      const Queueing& p = ws.pending[i];
      if (p.queue != q) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const Queueing& b = ws.pending[static_cast<size_t>(best)];
      bool pm = p.target == target, bm = b.target == target;
      if (pm != bm ? pm : p.accept < b.accept) best = static_cast<int>(i);
    }
    return best;
  }

  // ------------------------------------------------------------ the replay

  void step(const Event& e) {
    // C19's events (oracle_pools.cpp). A mayday carries the uncounted
    // thread's id but is recorded by the manager, in the middle of that
    // thread's callback: it must not count as "that thread's next event".
    // stall_watch is recorded by whoever kicks the pool, in the middle of
    // its call, likewise.
    if (e.type != ET::mayday && e.type != ET::stall_watch) {
      auto it = threads_.find(e.thread);
      if (it != threads_.end() && it->second.open_flush_work && it->second.open_flush_read_by == kNone &&
          e.type != ET::flush_begin)
        it->second.open_flush_read_by = e.seq;
    }
    if (e.type == ET::wait_begin || e.type == ET::wait_end || e.type == ET::mayday || e.type == ET::stall_watch)
      return;
    ThreadState& t = threads_[e.thread];
    pre_thread(e, t);
    if (e.work != 0) resolve_busy(e);

    switch (e.type) {
      case ET::create: on_create(e); break;
      case ET::queue:
      case ET::timer_arm: on_accept(e, t); break;
      case ET::queue_busy: on_queue_busy(e, t); break;
      case ET::queue_rejected: on_rejected(e, t); break;
      case ET::timer_fire: on_timer_fire(e); break;
      case ET::dequeue: on_dequeue(e, t); break;
      case ET::migrate: on_migrate(e); break;
      case ET::spawn:
        creation_attempt(e);
        on_spawn(e, t);
        break;
      case ET::spawn_fail: {
        creation_attempt(e);
        QcState& s = qc(e.queue, e.cpu);
        s.last_spawn_fail = e.seq;
        s.last_spawn_fail_ns = e.time_ns;
        if (e.queue == 0 && (e.arg == 0 || e.arg == 3)) pool_spawn_fail_[{e.cpu, e.arg == 3}] = {e.seq, e.time_ns};
        if (e.queue == 0 && any_pool_spawn_fail_ == kNone) any_pool_spawn_fail_ = e.seq;
        break;
      }
      case ET::fallback: on_fallback(e); break;
      case ET::exec_begin: on_exec_begin(e, t); break;
      case ET::exec_end: on_exec_end(e, t); break;
      case ET::idle_exit: on_idle_exit(e, t); break;
      case ET::thread_exit: on_thread_exit(e, t); break;
      case ET::flush_begin: on_flush_begin(e, t); break;
      case ET::flush_end: on_flush_end(e, t); break;
      case ET::cancel_begin: on_cancel_begin(e, t); break;
      case ET::cancel_end: on_cancel_end(e, t); break;
      case ET::cpu_offline: on_cpu_offline(e, t); break;
      case ET::cpu_online: on_cpu_online(e, t); break;
      case ET::destroy: on_destroy(e); break;
      case ET::destroy_end: on_destroy_end(e); break;
      case ET::callback_threw: break;
      case ET::dependency_cycle: on_dependency_cycle(e, t); break;
      case ET::wait_refused: on_wait_refused(e, t); break;
      case ET::wait_begin:
      case ET::wait_end:
      case ET::mayday:
      case ET::stall_watch: break;  // C19 (oracle_pools.cpp)
    }
    post_destroy_check(e);

    t.seen = true;
    t.last_seq = e.seq;
    t.last_type = e.type;
    t.last_work = e.work;
    t.last_queue = e.queue;
  }

  // Per-thread bookkeeping that depends only on "this thread recorded
  // another event".
  void pre_thread(const Event& e, ThreadState& t) {
    // The rescuer starts a run inside a callback (its fallback, or its
    // exec_begin): a nested frame, until that run's exec_end.
    if (t.rescuer && t.cur_work && (e.type == ET::fallback || e.type == ET::exec_begin)) {
      t.outer.push_back({t.cur_work, t.cur_begin, t.cur_queue, t.open_cancel_work, t.open_flush_work});
      t.cur_work = t.cur_begin = 0;
      t.cur_queue = 0;
      t.open_cancel_work = t.open_flush_work = 0;
      judge_nested_rescue(e, t);
    }
    // An exited worker records nothing any more (C8 idle exit; C13/C14 for
    // workers stopped by hotplug or destroy: thread_exit is recorded after
    // the join).
    if (t.exited && !t.reported_exited && e.type != ET::thread_exit) {
      t.reported_exited = true;
      int rule = t.exited == 1 ? 8 : (t.exit_offline ? 13 : 14);
      report(rule, 0, e.thread, -2,
             thr(e.thread) + " (" + cpu_s(t.cpu) + " of " + wq(t.queue) + ") recorded " +
                 std::string(to_string(e.type)) + (e.work ? " of " + W(e.work) : std::string()) + " at " +
                 at(e.seq) + " after it " + (t.exited == 1 ? "idle-exited" : "was stopped") + " at " +
                 at(t.exit_seq),
             {t.exit_seq, e.seq});
    }
    // Its cpu_online call has returned (a creation failure of a per_cpu
    // worker is recorded by the call itself).
    if (t.pending_online_cpu >= 0 && e.type != ET::spawn_fail) {
      if (CpuState* cs = cpu_state(t.pending_online_cpu)) {
        if (cs->onlining) cs->online_done_seq = e.seq;
        cs->onlining = false;
      }
      t.pending_online_cpu = -1;
    }
    // Its cpu_offline call has returned (the call itself records the
    // migrations of each queue, in queue order, as the calling thread).
    if (t.pending_offline_cpu >= 0) {
      CpuState* cs = cpu_state(t.pending_offline_cpu);
      // Another thread's online/offline of the CPU since: this call's
      // completion says nothing about the CPU's current offline.
      if (cs && cs->epoch != t.pending_offline_epoch) cs = nullptr;
      if (cs) {
        if (e.type == ET::migrate) {
          if (cs->offline) cs->done_below = std::max(cs->done_below, e.queue);
        } else {
          if (cs->offline) cs->complete = true;
          t.pending_offline_cpu = -1;
        }
      } else {
        t.pending_offline_cpu = -1;
      }
    }
    // A cancel_work_sync / flush_work records nothing between its begin and
    // end except the dequeue of its work (and, for a shared queue, the
    // migration of the inactive work that dequeue let into a slot of an
    // offline pool) and the report of a cycle its wait closes (C16):
    // anything else means it threw (a refusal's wait_refused, say).
    if (t.open_cancel_work && e.type != ET::migrate && e.type != ET::dependency_cycle &&
        !(e.work == t.open_cancel_work && (e.type == ET::dequeue || e.type == ET::cancel_end))) {
      auto& v = work(t.open_cancel_work).cancels;
      v.erase(std::remove_if(v.begin(), v.end(), [&](const OpenCancel& c) { return c.thread == e.thread; }), v.end());
      t.open_cancel_work = 0;
    }
    if (t.open_flush_work && e.type != ET::dependency_cycle &&
        !(e.work == t.open_flush_work && e.type == ET::flush_end)) {
      auto& v = work(t.open_flush_work).flushes;
      v.erase(std::remove_if(v.begin(), v.end(), [&](const OpenFlush& f) { return f.thread == e.thread; }), v.end());
      t.open_flush_work = 0;
    }
    // The runner cleared PENDING before anything else it records after
    // exec_begin (C2).
    if (t.cur_work) {
      auto it = works_.find(t.cur_work);
      if (it != works_.end() && it->second.has_run && it->second.last_run_begin == t.cur_begin &&
          it->second.last_run_first_after == kNone)
        it->second.last_run_first_after = e.seq;
    }
    // A rejecting thread released PENDING before its next event.
    if (t.reject_work) {
      auto it = works_.find(t.reject_work);
      if (it != works_.end() && it->second.last_reject == t.reject_seq && it->second.reject_clear_bound == kNone)
        it->second.reject_clear_bound = e.seq;
      t.reject_work = 0;
    }
  }

  void post_destroy_check(const Event& e) {
    // C14: nothing happens on a queue after destroy_end. A queue_busy (the
    // work is pending elsewhere) and a queue_rejected (mod_delayed_work that
    // passed its liveness check before the destroy) may still be recorded.
    if (e.queue == 0 || e.type == ET::queue_busy || e.type == ET::queue_rejected || e.type == ET::destroy_end)
      return;
    auto it = queues_.find(e.queue);
    if (it == queues_.end() || !it->second.destroyed || e.seq == it->second.destroy_end_seq) return;
    report(14, 0, e.queue, -3,
           std::string(to_string(e.type)) + (e.work ? " of " + W(e.work) : std::string()) + " by " + thr(e.thread) +
               " at " + at(e.seq) + " on " + wq(e.queue) + ", which was destroyed at " +
               at(it->second.destroy_end_seq),
           {it->second.destroy_end_seq, e.seq});
  }

  // -------------------------------------------------------------- queueing

  void on_create(const Event& e) {
    QueueState& qs = queue(e.queue);
    qs.kind = e.arg & 0xff;
    qs.ordered_shared = qs.kind == kShared && ((e.arg >> 8) & 4) != 0;
    qs.unbound_shared = qs.kind == kShared && ((e.arg >> 8) & 6) != 0;
    qs.highpri_shared = qs.kind == kShared && ((e.arg >> 8) & 1) != 0;
    qs.max_active = (e.arg >> 16) & 0x7fff;
  }

  void on_accept(const Event& e, ThreadState& t) {
    (void)t;
    const bool armed = e.type == ET::timer_arm;
    QueueState& qs = queue(e.queue);
    // C14 / C11: a destroying or draining queue refuses queueing from
    // outside (chained queueing from its own works is accepted).
    if (!is_worker_of(e.thread, e.queue) && !qs.destroyed) {
      if (qs.destroying) {
        report(14, e.work, e.queue, -4,
               std::string(to_string(e.type)) + " of " + W(e.work) + " accepted on " + wq(e.queue) + " from " +
                   thr(e.thread) + " at " + at(e.seq) + " while the queue was being destroyed (since " +
                   at(qs.destroy_seq) + "): it should have been refused",
               {qs.destroy_seq, e.seq});
      } else if (qs.drains > 0) {
        uint64_t b = qs.flushes.empty() ? e.seq : qs.flushes.back().begin;
        for (const auto& f : qs.flushes)
          if (f.kind == 2) b = f.begin;
        report(11, e.work, e.queue, -4,
               std::string(to_string(e.type)) + " of " + W(e.work) + " accepted on " + wq(e.queue) + " from " +
                   thr(e.thread) + " (not one of its workers) at " + at(e.seq) +
                   " while a drain was in progress (since " + at(b) + "): it should have been queue_rejected",
               {b, e.seq});
      }
    }
    QcState& s = qc(e.queue, e.arg);
    if (s.first_queueing == kNone) s.first_queueing = e.seq;

    WorkState& ws = work(e.work);
    if (!ws.pending.empty()) {
      // A previous queueing silently lost (C7/C8/C9) explains the PENDING
      // bit being free again; otherwise it is a double claim (C1).
      for (size_t i = 0; i < ws.pending.size();) {
        Queueing& p = ws.pending[i];
        std::string why;
        std::vector<uint64_t> dummy;
        int r = attribute(p, 0, why, dummy);
        if (r == 7 || r == 8) {
          report_lost(e.work, p, 1, "never ran (it was queued again at " + at(e.seq) + " as if it had)", e.seq);
          drop_sets(p);
          ws.pending.erase(ws.pending.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
      if (!ws.pending.empty()) {
        const Queueing& p = ws.pending.front();
        report_work(1, e.work,
                    std::string(to_string(e.type)) + " of " + W(e.work) + " on " + wq(e.queue) + " for " +
                        cpu_s(e.arg) + " at " + at(e.seq) + " was accepted although its queueing at " +
                        at(p.accept) + " on " + wq(p.queue) + " was still pending: PENDING claimed twice",
                    {p.accept, e.seq});
      }
    }
    Queueing p;
    p.accept = e.seq;
    p.nth = ++ws.accepted;
    p.queue = e.queue;
    p.target = e.arg;
    p.armed = armed;
    p.order_key = order_key_for(e.queue, e.arg, e.seq);
    if (const CpuState* cs = cpu_state(e.arg)) p.target_offline = cs->offline || cs->onlining;
    if (!ws.running.empty()) {
      // C3's "last pool": only a pool worker's run has a pool to go back to.
      auto rt = threads_.find(ws.running.front().thread);
      if (rt != threads_.end() && rt->second.pool_worker) p.running_cpu = ws.running.front().cpu;
    }
    if (armed) {
      qs.armed.emplace(e.seq, e.work);
    } else {
      p.order = e.seq;
      qs.inflight.emplace(e.seq, e.work);
      order_[p.order_key].emplace(e.seq, e.work);
    }
    ws.pending.push_back(p);
  }

  void on_timer_fire(const Event& e) {
    WorkState& ws = work(e.work);
    for (Queueing& p : ws.pending) {
      if (!p.armed || p.queue != e.queue) continue;
      QueueState& qs = queue(e.queue);
      qs.armed.erase(p.accept);
      p.armed = false;
      p.order = e.seq;
      qs.inflight.emplace(e.seq, e.work);
      order_[p.order_key].emplace(e.seq, e.work);
      return;
    }
    report_work(1, e.work,
                "timer of " + W(e.work) + " fired on " + wq(e.queue) + " at " + at(e.seq) +
                    " but the work had no armed queueing there",
                {e.seq});
  }

  void on_rejected(const Event& e, ThreadState& t) {
    WorkState& ws = work(e.work);
    ws.last_reject = e.seq;
    ws.last_reject_thread = e.thread;
    ws.reject_clear_bound = kNone;
    t.reject_work = e.work;
    t.reject_seq = e.seq;
    // C11: only a draining (or destroyed) queue refuses, and never its own
    // workers' chained queueing.
    auto it = queues_.find(e.queue);
    if (it == queues_.end() || it->second.kind < 0) return;
    const QueueState& qs = it->second;
    if (qs.destroying || qs.destroyed) return;
    if (qs.drains == 0) {
      report(11, e.work, e.queue, -5,
             "queueing of " + W(e.work) + " on " + wq(e.queue) + " by " + thr(e.thread) + " was rejected at " +
                 at(e.seq) + " although the queue was not draining",
             {e.seq});
    } else if (is_worker_of(e.thread, e.queue)) {
      report(11, e.work, e.queue, -5,
             "chained queueing of " + W(e.work) + " from " + wq(e.queue) + "'s own " + thr(e.thread) +
                 " was rejected at " + at(e.seq) + " during a drain; it must be accepted",
             {e.seq});
    }
  }

  void on_dequeue(const Event& e, ThreadState& t) {
    WorkState& ws = work(e.work);
    int i = pick_pending(ws, e.queue, -1);
    if (i < 0) {
      report_work(1, e.work,
                  W(e.work) + " was dequeued from " + wq(e.queue) + " by " + thr(e.thread) + " at " + at(e.seq) +
                      " but it had no pending queueing there",
                  {e.seq});
    } else {
      Queueing p = ws.pending[static_cast<size_t>(i)];
      drop_sets(p);
      ws.pending.erase(ws.pending.begin() + i);
      emit_deferred(e.work, p, e.seq, "was cancelled");
    }
    if (t.open_cancel_work == e.work)
      for (OpenCancel& c : ws.cancels)
        if (c.thread == e.thread) {
          c.dequeued = true;
          c.dequeue_seq = e.seq;
        }
  }

  void on_migrate(const Event& e) {
    WorkState& ws = work(e.work);
    int i = pick_pending(ws, e.queue, -1);
    if (i < 0 || ws.pending[static_cast<size_t>(i)].armed) {
      report_work(9, e.work,
                  W(e.work) + " was migrated on " + wq(e.queue) + " to " + cpu_s(e.arg) + " at " + at(e.seq) +
                      " but it was not waiting on any list of that queue",
                  {e.seq});
      return;
    }
    Queueing& p = ws.pending[static_cast<size_t>(i)];
    p.migrate = e.seq;
    p.migrate_to = e.arg;
    if (kind(e.queue) == kShared) {
      if (e.arg != -1)
        report_work(9, e.work,
                    W(e.work) + " of shared " + wq(e.queue) + " was migrated to " + cpu_s(e.arg) + " at " + at(e.seq) +
                        ": a shared work leaves an offline CPU's pool for the unbound pool (cpu -1) only",
                    {p.accept, e.seq});
      return;
    }
    if (e.arg != p.target && e.arg != opt_.core_cpu)
      report_work(9, e.work,
                  W(e.work) + " queued for " + cpu_s(p.target) + " at " + at(p.accept) + " was migrated to " +
                      cpu_s(e.arg) + " at " + at(e.seq) + " (neither its CPU nor the core)",
                  {p.accept, e.seq});
  }

  // C2: a queue_busy means PENDING was set when the caller claimed it. Once
  // the latest run has cleared PENDING, someone must have claimed it again:
  // a pending queueing, a cancel, a rejected queueing not yet released, or
  // a claim whose event comes later (resolve_busy). The claim time is not
  // recorded, only bounded: it is after the caller's previous event L.
  void on_queue_busy(const Event& e, ThreadState& t) {
    WorkState& ws = work(e.work);
    if (!ws.pending.empty() || !ws.cancels.empty()) return;
    const bool has_l = t.seen;
    const uint64_t l = t.last_seq;
    if (ws.last_cancel_end != kNone && (!has_l || ws.last_cancel_end > l)) return;
    if (ws.last_reject != kNone && ws.last_reject_thread != e.thread &&
        (ws.reject_clear_bound == kNone || !has_l || ws.reject_clear_bound > l))
      return;
    if (ws.has_run) {
      const bool self = t.cur_work == e.work && t.cur_begin == ws.last_run_begin;
      const bool cleared_before = has_l && ws.last_run_first_after != kNone && ws.last_run_first_after <= l;
      if (!self && !cleared_before) return;  // the claim may predate the clear
    }
    ws.busy.push_back(BusyCand{e.thread, e.seq, ws.has_run ? ws.last_run_begin : kNone});
  }

  void busy_violation(uint64_t w, const BusyCand& c, uint64_t extra) {
    WorkState& ws = work(w);
    std::vector<uint64_t> evs{c.seq};
    if (c.run_begin != kNone) evs.push_back(c.run_begin);
    if (extra != kNone) evs.push_back(extra);
    const bool own = c.run_begin != kNone && ws.has_run && ws.last_run_thread == c.thread;
    report_work(2, w,
                "queueing " + W(w) + " by " + thr(c.thread) + " at " + at(c.seq) +
                    " found PENDING still set" +
                    (c.run_begin != kNone ? " although its run started at " + at(c.run_begin) +
                                                (own ? " (a requeue from its own callback)" : std::string())
                                          : std::string()) +
                    " and no queueing or cancel held it: PENDING was not cleared before the run",
                evs);
  }

  // The first claim-resolving event of the work after a C2 candidate: by
  // another thread, it may be the claim that made the queueing busy.
  void resolve_busy(const Event& e) {
    if (e.type != ET::queue && e.type != ET::timer_arm && e.type != ET::queue_rejected && e.type != ET::dequeue &&
        e.type != ET::exec_begin)
      return;
    auto it = works_.find(e.work);
    if (it == works_.end() || it->second.busy.empty()) return;
    std::vector<BusyCand> cands;
    cands.swap(it->second.busy);
    for (const BusyCand& c : cands)
      if (e.type == ET::exec_begin || e.thread == c.thread) busy_violation(e.work, c, e.seq);
  }

  // ---------------------------------------------------------------- threads

  void on_spawn(const Event& e, ThreadState& t) {
    t.queue = e.queue;
    t.cpu = e.cpu;
    t.spawned = true;
    t.spawn_seq = e.seq;
    t.active_ns = e.time_ns;
    t.active_seq = e.seq;
    if (e.queue == 0) {  // a shared pool's thread, the manager or the rescuer: the engine's, no queue's
      t.pool_worker = e.arg == 0 || e.arg == 3;
      t.highpri_pool = e.arg == 3;
      if (t.pool_worker) {
        const int n = ++live_pool_workers_[{e.cpu, t.highpri_pool}];
        if (opt_.max_workers_per_pool > 0 && n >= opt_.max_workers_per_pool && any_pool_at_cap_ == kNone)
          any_pool_at_cap_ = e.seq;
      }
      t.rescuer = e.arg == 2;
      return;
    }
    QueueState& qs = queue(e.queue);
    qs.threads.push_back(e.thread);
    QcState& s = qc(e.queue, e.cpu);
    const int k = qs.kind;
    if (s.active != 0 && (k == kLazy || k == kPerCpu || e.cpu == opt_.core_cpu)) {
      report(6, 0, e.queue, e.cpu,
             wq(e.queue) + " created a second worker (" + thr(e.thread) + ") for " + cpu_s(e.cpu) + " at " +
                 at(e.seq) + " while " + thr(s.active) + " created at " + at(s.active_spawn) + " was still alive",
             {s.active_spawn, e.seq});
    } else if (k == kLazy && e.cpu != opt_.core_cpu && s.first_queueing == kNone) {
      report(6, 0, e.queue, e.cpu,
             "lazy " + wq(e.queue) + " created a worker for " + cpu_s(e.cpu) + " at " + at(e.seq) +
                 " although no work was ever queued for that CPU",
             {e.seq});
    }
    if (e.cpu != opt_.core_cpu && retired(e.cpu, e.queue)) {
      CpuState* cs = cpu_state(e.cpu);
      report(13, 0, e.queue, e.cpu,
             wq(e.queue) + " created a worker for " + cpu_s(e.cpu) + " at " + at(e.seq) +
                 " while that CPU was offline (since " + at(cs->offline_seq) + ")",
             {cs->offline_seq, e.seq});
    }
    s.active = e.thread;
    s.active_spawn = e.seq;
  }

  // C7: creation is retried only after spawn_cooldown (a pool's: at least
  // 1 ms), unless a hotplug of the CPU reset it (cpu_online, or the CPU is
  // offline: its reset may come before its event). Sound on the clock: the
  // engine records spawn_fail before it reads the clock for the cooldown,
  // and decides a retry before it records the attempt. A queue's retries
  // are its core thread's (a per_cpu queue's creation and cpu_online try
  // every CPU regardless); a successful one is recorded as the new thread,
  // so only the core's failed retries are judged. The pools' are all the
  // manager's.
  void creation_attempt(const Event& e) {
    // Unknown (-1): not judged. Zero: a queue retries at once, but a pool
    // still waits its 1 ms floor (an independent review: the floor went
    // unjudged whenever spawn_cooldown was 0).
    if (opt_.spawn_cooldown_ns < 0) return;
    uint64_t fail_seq = kNone;
    int64_t fail_ns = 0, cooldown = opt_.spawn_cooldown_ns;
    if (e.queue != 0) {
      if (e.type != ET::spawn_fail) return;
      auto qit = queues_.find(e.queue);
      if (qit == queues_.end() || qit->second.threads.empty() || qit->second.threads.front() != e.thread) return;
      const QcState* s = find_qc(e.queue, e.cpu);
      if (!s || s->last_spawn_fail == kNone) return;
      fail_seq = s->last_spawn_fail;
      fail_ns = s->last_spawn_fail_ns;
    } else {
      if (e.arg != 0 && e.arg != 3) return;  // the manager and the rescuer: no cooldown
      auto it = pool_spawn_fail_.find({e.cpu, e.arg == 3});
      if (it == pool_spawn_fail_.end()) return;
      std::tie(fail_seq, fail_ns) = it->second;
      cooldown = std::max<int64_t>(cooldown, 1'000'000);
    }
    const CpuState* cs = cpu_state(e.cpu);
    if (cs && (cs->offline || (cs->last_hotplug != kNone && cs->last_hotplug > fail_seq))) return;
    if (e.time_ns - fail_ns >= cooldown) return;
    const std::string who = e.queue != 0 ? cpu_s(e.cpu) + "'s worker of " + wq(e.queue)
                                         : std::string(e.arg == 3 ? "a high-priority" : "a") + " pool thread for " +
                                               (e.cpu < 0 ? std::string("the unbound pool") : cpu_s(e.cpu));
    report(7, 1, e.queue, e.cpu,
           "the creation of " + who + " was tried again at " + at(e.seq) + ", " + std::to_string(e.time_ns - fail_ns) +
               " ns after it failed at " + at(fail_seq) + ": the creation cooldown is " + std::to_string(cooldown) + " ns",
           {fail_seq, e.seq});
  }

  void thread_gone(const Event& e, ThreadState& t, int how) {
    t.exited = how;
    t.exit_seq = e.seq;
    uint32_t q = t.queue ? t.queue : e.queue;
    int c = t.spawned ? t.cpu : e.cpu;
    QcState& s = qc(q, c);
    if (s.active == e.thread) s.active = 0;
    QueueState& qs = queue(q);
    auto it = std::find(qs.threads.begin(), qs.threads.end(), e.thread);
    if (it != qs.threads.end()) qs.threads.erase(it);
  }

  void on_idle_exit(const Event& e, ThreadState& t) {
    const uint32_t q = t.queue ? t.queue : e.queue;
    const int c = t.spawned ? t.cpu : e.cpu;
    const int k = kind(q);
    if (k >= 0 && (k != kLazy || c == opt_.core_cpu))
      report(8, 0, q, c,
             thr(e.thread) + " (" + cpu_s(c) + " of " + wq(q) + ") idle-exited at " + at(e.seq) +
                 ": only the CPU workers of a lazy queue may",
             {e.seq});
    if (t.cur_work)
      report(8, t.cur_work, q, -6,
             thr(e.thread) + " idle-exited at " + at(e.seq) + " in the middle of running " + W(t.cur_work) +
                 " (started at " + at(t.cur_begin) + ")",
             {t.cur_begin, e.seq});
    if (k == kLazy && c != opt_.core_cpu) idle_with_work_for_it(e, q, c);
    // C8: idle for idle_timeout, not less (a lower bound, as C17 makes
    // every duration). The engine starts the period at or after the spawn
    // event's and the last exec_end's clock readings.
    if (opt_.idle_timeout_ns >= 0 && t.spawned && e.time_ns - t.active_ns < opt_.idle_timeout_ns)
      report(8, 0, q, c - 100,
             thr(e.thread) + " (" + cpu_s(c) + ") idle-exited at " + at(e.seq) + " after " +
                 std::to_string(e.time_ns - t.active_ns) + " ns idle (since " + at(t.active_seq) +
                 "): idle_timeout is " + std::to_string(opt_.idle_timeout_ns) + " ns",
             {t.active_seq, e.seq});
    qc(q, c).last_idle_exit = e.seq;
    if (t.pool_worker) --live_pool_workers_[{t.cpu, t.highpri_pool}];
    thread_gone(e, t, 1);
  }

  // C8: a lazy worker is not idle while a work for its CPU waits on the
  // core list to be migrated to it (the engine keeps it awake while that
  // list holds any, `in_core`). Sound: the queueing (or the timer's
  // firing), the migration, the core's fallback run, a cancel's dequeue
  // and the exit are all recorded under the queue's lock, so a queueing
  // accepted before the exit and none of those since was on the core list
  // (its own list would have kept the worker too) when the worker decided.
  void idle_with_work_for_it(const Event& e, uint32_t q, int c) {
    std::pair<uint64_t, const Queueing*> first{kNone, nullptr};  // the oldest such queueing: a stable report
    uint64_t first_work = 0;
    for (const auto& [w, ws] : works_)
      for (const Queueing& p : ws.pending)
        if (p.queue == q && p.target == c && !p.armed && p.migrate == 0 && p.order < e.seq && p.order < first.first) {
          first = {p.order, &p};
          first_work = w;
        }
    if (!first.second) return;
    report(8, first_work, q, -7,
           "the worker of " + cpu_s(c) + " of lazy " + wq(q) + " idle-exited at " + at(e.seq) + " while " +
               W(first_work) + ", queued for " + cpu_s(c) + " at " + at(first.second->accept) +
               ", still waited on the core list to be migrated to it: a worker with work coming is not idle",
           {first.second->order, e.seq});
  }

  void on_thread_exit(const Event& e, ThreadState& t) {
    const int c = t.spawned ? t.cpu : e.cpu;
    const uint32_t q = t.queue ? t.queue : e.queue;
    CpuState* cs = cpu_state(c);
    t.exit_offline = cs && cs->offline;
    if (cs && cs->offline) qc(q, c).offline_done_epoch = cs->epoch;
    if (t.pool_worker) --live_pool_workers_[{t.cpu, t.highpri_pool}];
    thread_gone(e, t, 2);
  }

  // ------------------------------------------------------------------ runs

  // A cooldown fallback is stale when a cpu_online of the CPU began after
  // the queue's last failed creation there and had returned before the
  // fallback (its reset of the cooldown came in between; a failure during
  // the call may come before or after the reset: not judged).
  bool stale_cooldown(const QcState& s, int cpu, uint64_t seq) const {
    const CpuState* cs = cpu_state(cpu);
    return cs && cs->online_seq != kNone && cs->online_done_seq != kNone && cs->online_done_seq > cs->online_seq &&
           cs->online_done_seq < seq && s.last_spawn_fail < cs->online_seq;
  }

  void on_fallback(const Event& e) {
    const int k = kind(e.queue);
    WorkState& ws = work(e.work);
    if (k == kSingle || k == kOrdered) {
      report_work(4, e.work,
                  "fallback of " + W(e.work) + " recorded at " + at(e.seq) + " in " + wq(e.queue) +
                      ", which has no CPU workers to fall back from",
                  {e.seq});
      return;
    }
    int i = pick_pending(ws, e.queue, -1);
    if (i < 0) return;  // exec_begin will report the run without queueing
    // Shared: the rescuer runs a work of any pool (C7) once a pool thread's
    // creation has failed (the engine-wide spawn_fail of queue 0), or a
    // pool reached its cap.
    if (k == kShared) {
      if (any_pool_spawn_fail_ == kNone && any_pool_at_cap_ == kNone)
        report_work(7, e.work,
                    W(e.work) + " of shared " + wq(e.queue) + " was rescued (fallback) at " + at(e.seq) +
                        " although no pool thread's creation ever failed and no pool reached its cap",
                    {e.seq});
      return;
    }
    const Queueing& p = ws.pending[static_cast<size_t>(i)];
    if (p.target == opt_.core_cpu) {
      report_work(4, e.work,
                  "fallback of " + W(e.work) + " at " + at(e.seq) + " although it was queued for the core " +
                      cpu_s(p.target),
                  {p.accept, e.seq});
      return;
    }
    QcState* s = find_qc(e.queue, p.target) ? &qc(e.queue, p.target) : nullptr;
    // C7: one work runs on the core per failed creation, then the cooldown's
    // works; after it creation is tried again. A second fallback for the
    // same failure is a core that never tries again.
    if (s && e.arg == static_cast<int>(FallbackReason::spawn_failed) && s->last_spawn_fail != kNone) {
      if (s->fresh_fallback != kNone && s->fresh_fallback > s->last_spawn_fail)
        report_work(7, e.work,
                    W(e.work) + " fell back to the core at " + at(e.seq) + " for the creation of " + cpu_s(p.target) +
                        "'s worker of " + wq(e.queue) + " that failed at " + at(s->last_spawn_fail) +
                        ", for which a work already fell back at " + at(s->fresh_fallback) +
                        ": one work per failure, then the cooldown, then a new try",
                    {s->last_spawn_fail, s->fresh_fallback, e.seq});
      s->fresh_fallback = e.seq;
    }
    if ((e.arg == static_cast<int>(FallbackReason::spawn_failed) ||
         e.arg == static_cast<int>(FallbackReason::spawn_cooldown)) &&
        (!s || s->last_spawn_fail == kNone)) {
      report_work(7, e.work,
                  W(e.work) + " fell back to the core at " + at(e.seq) + " for a creation " +
                      (e.arg == 0 ? "failure" : "cooldown") + " but no creation of " + cpu_s(p.target) +
                      "'s worker of " + wq(e.queue) + " ever failed",
                  {p.accept, e.seq});
    } else if (e.arg == static_cast<int>(FallbackReason::spawn_cooldown) && stale_cooldown(*s, p.target, e.seq)) {
      // C7/C13: cpu_online resets a CPU's creation cooldown in every queue
      // (docs/CONTRACT.md, Durations: even one that would never end).
      const CpuState* cs = cpu_state(p.target);
      report_work(7, e.work,
                  W(e.work) + " fell back to the core at " + at(e.seq) + " for a creation cooldown of " +
                      cpu_s(p.target) + "'s worker of " + wq(e.queue) + " that cpu_online at " + at(cs->online_seq) +
                      " reset (the call had returned by " + at(cs->online_done_seq) +
                      ") with no creation failed since: the core should have tried to create it",
                  {s->last_spawn_fail, cs->online_seq, p.accept, e.seq});
    } else if (e.arg == static_cast<int>(FallbackReason::cpu_offline)) {
      CpuState* cs = cpu_state(p.target);
      if (cs && !cs->ever_offline)
        report_work(13, e.work,
                    W(e.work) + " fell back to the core at " + at(e.seq) + " because " + cpu_s(p.target) +
                        " was offline, but that CPU never went offline",
                    {p.accept, e.seq});
      // Queued while the CPU was online (its cpu_online call, if any, had
      // returned: every queue had it back) and no cpu_offline since: the
      // queue's own view of the CPU is stale (cpu_online@5b60ae, the
      // queue never marked the CPU online again, was seen only by a unit
      // test: its works ran on the core for good, each a "fallback").
      else if (cs && !p.target_offline && !cs->offline && cs->offline_seq < p.accept)
        report_work(13, e.work,
                    W(e.work) + " fell back to the core at " + at(e.seq) + " because " + cpu_s(p.target) +
                        " was offline, but it was online when the work was queued at " + at(p.accept) +
                        (cs->online_done_seq != kNone ? " (its cpu_online call had returned by " +
                                                            at(cs->online_done_seq) + ")"
                                                      : std::string()) +
                        " and has not gone offline since",
                    {p.accept, e.seq});
    }
  }

  void on_exec_begin(const Event& e, ThreadState& t) {
    const uint64_t w = e.work;
    WorkState& ws = work(w);
    QueueState& qs = queue(e.queue);
    const int k = qs.kind;
    if (!t.spawned && !(e.thread & kExternalThread) && t.queue == 0) t.queue = e.queue;

    // C3: never concurrently with itself.
    if (!ws.running.empty()) {
      const Run& r = ws.running.front();
      report_work(3, w,
                  W(w) + " started on " + cpu_s(e.cpu) + " (" + thr(e.thread) + ", " + wq(e.queue) + ") at " +
                      at(e.seq) + " while its run started at " + at(r.begin) + " by " + thr(r.thread) +
                      " had not ended",
                  {r.begin, e.seq});
    }

    // C1: a run needs a pending queueing.
    Run run;
    run.thread = e.thread;
    run.cpu = e.cpu;
    run.begin = e.seq;
    run.queue = e.queue;
    int i = pick_pending(ws, e.queue, e.arg);
    if (i < 0) {
      std::string msg = W(w) + " started on " + cpu_s(e.cpu) + " in " + wq(e.queue) + " at " + at(e.seq) +
                        " without a pending queueing there: a duplicate run";
      std::vector<uint64_t> evs{e.seq};
      if (ws.last_consumed_accept != kNone) {
        msg += " (its last queueing, at " + at(ws.last_consumed_accept) + ", already started at " +
               at(ws.last_consumed_begin);
        evs.push_back(ws.last_consumed_accept);
        evs.push_back(ws.last_consumed_begin);
        if (ws.last_consumed_migrate) {
          msg += "; it had been migrated at " + at(ws.last_consumed_migrate);
          evs.push_back(ws.last_consumed_migrate);
        }
        msg += ")";
      }
      if (!ws.pending.empty()) {
        msg += "; its pending queueing is on " + wq(ws.pending.front().queue);
        evs.push_back(ws.pending.front().accept);
      }
      report_work(1, w, msg, evs);
    } else {
      Queueing p = ws.pending[static_cast<size_t>(i)];
      ws.pending.erase(ws.pending.begin() + i);
      run.has_q = true;
      if (p.armed) {
        report_work(1, w,
                    W(w) + " started at " + at(e.seq) + " although its delayed queueing at " + at(p.accept) +
                        " on " + wq(e.queue) + " was still armed (no timer_fire)",
                    {p.accept, e.seq});
        qs.armed.erase(p.accept);
        p.armed = false;
        p.order = 0;
      } else {
        // C5: first in its order domain.
        auto oit = order_.find(p.order_key);
        if (oit != order_.end() && !oit->second.empty()) {
          // An older queueing that the stream shows was dropped (creation
          // failure, idle exit) is a lost work (C7, C8), not an overtaking.
          for (;;) {
            auto first = oit->second.begin();
            if (first == oit->second.end() || first->first >= p.order) break;
            Queueing* o = find_pending_by_order(first->second, first->first);
            std::string why;
            std::vector<uint64_t> dummy;
            const int r = o ? attribute(*o, 0, why, dummy) : 0;
            if (r != 7 && r != 8) break;
            report_lost(first->second, *o, 1,
                        "never ran although " + W(w) + ", queued later for the same CPU, started at " + at(e.seq),
                        e.seq);
            oit->second.erase(first);
          }
          auto first = oit->second.begin();
          if (first != oit->second.end() && first->first < p.order) {
            const bool global = one_at_a_time(e.queue);
            // Keyed by the overtaken work: a stuck queueing is one problem,
            // however many works pass it.
            report(5, first->second, 0, -10,
                        W(w) + " (queued at " + at(p.order) + ") started at " + at(e.seq) + " on " + wq(e.queue) +
                            " before " + W(first->second) + " queued earlier at " + at(first->first) +
                            (global ? std::string(" (queue order)") : " for the same " + cpu_s(p.target)) +
                            (p.migrate ? "; it had been migrated at " + at(p.migrate) : std::string()),
                        p.migrate ? std::vector<uint64_t>{first->first, p.order, p.migrate, e.seq}
                                  : std::vector<uint64_t>{first->first, p.order, e.seq});
          }
          oit->second.erase(p.order);
        }
      }
      if (p.target != e.arg)
        report_work(4, w,
                    W(w) + " queued for " + cpu_s(p.target) + " at " + at(p.accept) + " started at " + at(e.seq) +
                        " as a run for " + cpu_s(e.arg),
                    {p.accept, e.seq});
      emit_deferred(w, p, e.seq, "started");
      ws.last_consumed_accept = p.accept;
      ws.last_consumed_migrate = p.migrate;
      ws.last_consumed_begin = e.seq;
      run.q = p;
    }

    // C5 (lazy / per_cpu): one work of a CPU at a time. A new queueing for
    // a CPU whose work runs on the core must wait behind it, even when the
    // CPU's worker is back (online again, created since).
    if ((k == kLazy || k == kPerCpu) && run.has_q) {
      auto [it, fresh] = cpu_run_.try_emplace(qc_key(e.queue, run.q.target), e.seq, w);
      if (!fresh)
        report(5, it->second.second, e.seq, -11,
               W(w) + " started at " + at(e.seq) + " on " + thr(e.thread) + " while " + W(it->second.second) +
                   ", queued for the same " + cpu_s(run.q.target) + " on " + wq(e.queue) + ", was still running (since " +
                   at(it->second.first) + "): one CPU's works run one after the other",
               {run.q.accept, it->second.first, e.seq});
    }

    // C5 (single_thread / ordered): one work at a time.
    if (one_at_a_time(e.queue) && qs.open_execs > 0)
      report(5, w, e.queue, -7,
             W(w) + " started at " + at(e.seq) + " on " + wq(e.queue) + " while " + W(qs.open_exec_work) +
                 " started at " + at(qs.open_exec_seq) + " was still running: one work at a time",
             {qs.open_exec_seq, e.seq});

    // C4: placement. A shared work runs on its CPU's pool, or the unbound
    // pool (unbound or ordered queue, offline CPU), or the pool of the run
    // it was queued behind (C3), or on the rescuer after a `fallback`.
    if (k == kShared && run.has_q) {
      const bool fb = t.seen && t.last_type == ET::fallback && t.last_work == w && t.last_queue == e.queue;
      // Only the rescuer runs a shared work that no pool thread could be
      // had for (a pool thread that ran one nested in its own flush slipped
      // past this check: mutation testing, wait_epoch_locked@03c234).
      if (fb && !t.rescuer)
        report_work(4, w,
                    W(w) + " of shared " + wq(e.queue) + " ran after a fallback on " + thr(e.thread) +
                        " at " + at(e.seq) + ", which is not the rescuer: only the rescuer runs a shared work no "
                        "pool thread can be had for",
                    {t.last_seq, e.seq});
      // The unbound pool: for unbound and ordered queues always; for the
      // others only if the target CPU was offline when it was queued, or
      // went offline since (migrated, or activated after).
      const CpuState* cs = cpu_state(run.q.target);
      const bool offline_since = run.q.target_offline || (cs && cs->offline_seq > run.q.accept);
      const bool unbound_ok = qs.unbound_shared || run.q.migrate || offline_since;
      const bool own_ok = !qs.unbound_shared && e.cpu == run.q.target;
      if (!fb && !own_ok && !(e.cpu == -1 && unbound_ok) && e.cpu != run.q.running_cpu)
        report_work(4, w,
                    W(w) + " queued for " + cpu_s(run.q.target) + " on shared " + wq(e.queue) +
                        (qs.unbound_shared ? " (unbound)" : "") + " ran on " + cpu_s(e.cpu) + " (" + thr(e.thread) +
                        ") at " + at(e.seq) +
                        ": not the pool it belongs to (its CPU's, or the unbound one), nor the pool of a run it was "
                        "queued behind",
                    {run.q.accept, e.seq});
      // A CPU's two pools: high-priority queues use the high-priority one.
      // (The unbound pool is a normal one; a run queued behind another
      // run joins that run's pool, whichever it is.)
      else if (!fb && t.pool_worker && e.cpu >= 0 && e.cpu != run.q.running_cpu && t.highpri_pool != qs.highpri_shared)
        report_work(4, w,
                    W(w) + " of shared " + wq(e.queue) + (qs.highpri_shared ? " (high priority)" : " (normal priority)") +
                        " ran on " + thr(e.thread) + ", a worker of " + cpu_s(e.cpu) + "'s " +
                        (t.highpri_pool ? "high-priority" : "normal") + " pool, at " + at(e.seq),
                    {run.q.accept, e.seq});
      // max_active: never more of the queue's works running at once.
      if (qs.max_active > 0 && qs.max_active < 0x7fff && qs.open_execs >= qs.max_active)
        report(5, w, e.queue, -11,
               W(w) + " started at " + at(e.seq) + " on shared " + wq(e.queue) + " while " +
                   std::to_string(qs.open_execs) + " of its works were running: max_active is " +
                   std::to_string(qs.max_active),
               {qs.open_exec_seq, e.seq});
    }
    if (k == kPerCpu || k == kLazy) {
      const bool fb = t.seen && t.last_type == ET::fallback && t.last_work == w && t.last_queue == e.queue;
      if (fb) {
        if (e.cpu != opt_.core_cpu)
          report_work(4, w,
                      "fallback run of " + W(w) + " at " + at(e.seq) + " on " + wq(e.queue) + " ran on " +
                          cpu_s(e.cpu) + " instead of the core " + cpu_s(opt_.core_cpu),
                      {t.last_seq, e.seq});
      } else if (e.cpu != e.arg && run.has_q && run.q.migrate && run.q.migrate_to == e.arg) {
        report_work(9, w,
                    W(w) + " was migrated to " + cpu_s(e.arg) + "'s worker of " + wq(e.queue) + " at " +
                        at(run.q.migrate) + " but started on " + cpu_s(e.cpu) + " (" + thr(e.thread) + ") at " +
                        at(e.seq) + ": the migration left a copy behind",
                    {run.q.accept, run.q.migrate, e.seq});
      } else if (e.cpu != e.arg) {
        report_work(4, w,
                    W(w) + " queued for " + cpu_s(e.arg) + " on " + wq(e.queue) + " ran on " + cpu_s(e.cpu) +
                        " (" + thr(e.thread) + ") at " + at(e.seq) + " without a fallback event",
                    run.has_q ? std::vector<uint64_t>{run.q.accept, e.seq} : std::vector<uint64_t>{e.seq});
      }
    }
    if (!(e.thread & kExternalThread) && t.queue != 0 && t.queue != e.queue)
      report_work(4, w,
                  W(w) + " of " + wq(e.queue) + " ran at " + at(e.seq) + " on " + thr(e.thread) +
                      ", a thread of " + wq(t.queue),
                  {e.seq});

    // C13: nothing starts on a retired CPU.
    if (e.cpu != opt_.core_cpu && retired(e.cpu, e.queue)) {
      CpuState* cs = cpu_state(e.cpu);
      report_work(13, w,
                  W(w) + " started on " + cpu_s(e.cpu) + " (" + wq(e.queue) + ") at " + at(e.seq) +
                      " while that CPU was offline (since " + at(cs->offline_seq) + ")",
                  {cs->offline_seq, e.seq});
    }

    ws.running.push_back(run);
    ws.has_run = true;
    ws.last_run_begin = e.seq;
    ws.last_run_thread = e.thread;
    ws.last_run_first_after = kNone;
    t.cur_work = w;
    t.cur_begin = e.seq;
    t.cur_queue = e.queue;
    ++qs.open_execs;
    qs.open_exec_seq = e.seq;
    qs.open_exec_work = w;
  }

  void on_exec_end(const Event& e, ThreadState& t) {
    t.active_ns = e.time_ns;
    t.active_seq = e.seq;
    WorkState& ws = work(e.work);
    auto it = std::find_if(ws.running.rbegin(), ws.running.rend(), [&](const Run& r) { return r.thread == e.thread; });
    if (it == ws.running.rend()) return;
    Run r = *it;
    ws.running.erase(std::next(it).base());
    QueueState& qs = queue(r.queue);
    if (r.has_q && r.q.order) qs.inflight.erase(r.q.order);
    if (qs.open_execs > 0) --qs.open_execs;
    if (r.has_q) {
      auto cr = cpu_run_.find(qc_key(r.queue, r.q.target));
      if (cr != cpu_run_.end() && cr->second.first == r.begin) cpu_run_.erase(cr);
    }
    // C12: queueings accepted while a run the cancel waits for was still
    // going were accepted before the cancel released PENDING.
    for (OpenCancel& c : ws.cancels)
      if (c.sync && r.begin < c.begin) c.need = std::max(c.need, e.seq);
    if (t.cur_work == e.work) t.cur_work = 0;
    if (!t.cur_work && !t.outer.empty()) {  // back in the callback that waited
      const ThreadState::Frame f = t.outer.back();
      t.outer.pop_back();
      t.cur_work = f.cur_work;
      t.cur_begin = f.cur_begin;
      t.cur_queue = f.cur_queue;
      t.open_cancel_work = f.open_cancel_work;
      t.open_flush_work = f.open_flush_work;
    }
  }

  // ------------------------------------------------------ flushes, cancels

  void on_flush_begin(const Event& e, ThreadState& t) {
    note_callback_wait(e, t);
    if (e.queue == 0) {
      if (e.work == 0) return;
      WorkState& ws = work(e.work);
      auto& v = ws.flushes;
      // (Not the open flushes of the callbacks the rescuer runs this one
      // nested in: they are still waiting.)
      if (t.outer.empty())
        v.erase(std::remove_if(v.begin(), v.end(), [&](const OpenFlush& f) { return f.thread == e.thread; }), v.end());
      v.push_back(OpenFlush{e.thread, e.seq});
      t.last_flush_work = e.work;
      t.last_flush_begin = e.seq;
      t.last_flush_floor = ws.accepted;
      t.open_flush_work = e.work;
      t.open_flush_read_by = kNone;
      return;
    }
    QueueState& qs = queue(e.queue);
    qs.flushes.push_back(OpenQFlush{e.thread, e.arg, e.seq, !qs.inflight.empty()});
    if (e.arg == static_cast<int>(FlushKind::drain)) ++qs.drains;
  }

  // The queueing behind insertion `ins` of queue q, or nullptr; `running`
  // tells whether it has started.
  Queueing* find_inserted(uint64_t w, uint64_t ins, bool& running) {
    WorkState& ws = work(w);
    for (Queueing& p : ws.pending)
      if (!p.armed && p.order == ins) {
        running = false;
        return &p;
      }
    for (Run& r : ws.running)
      if (r.has_q && r.q.order == ins) {
        running = true;
        return &r.q;
      }
    return nullptr;
  }

  void on_flush_end(const Event& e, ThreadState& t) {
    if (e.queue == 0) {
      if (e.work == 0) return;
      WorkState& ws = work(e.work);
      // The thread's latest open flush of the work (nested ones end first).
      auto rit = std::find_if(ws.flushes.rbegin(), ws.flushes.rend(), [&](const OpenFlush& f) { return f.thread == e.thread; });
      if (rit == ws.flushes.rend()) return;
      const uint64_t begin = rit->begin;
      ws.flushes.erase(std::next(rit).base());
      if (t.open_flush_work == e.work) t.open_flush_work = 0;
      // C10: every queueing accepted before flush_begin has finished.
      for (const Run& r : ws.running)
        if (r.has_q && r.q.accept < begin) {
          report_work(10, e.work,
                      "flush_work(" + W(e.work) + ") by " + thr(e.thread) + " returned at " + at(e.seq) +
                          " while the run of its queueing at " + at(r.q.accept) + " (started at " + at(r.begin) +
                          ") was still going",
                      {r.q.accept, begin, r.begin, e.seq});
          return;
        }
      for (Queueing& p : ws.pending)
        if (p.accept < begin && !p.deferred.rule) {
          p.deferred = Deferred{10, begin, e.seq, e.thread};
          return;
        }
      return;
    }
    QueueState& qs = queue(e.queue);
    auto it = std::find_if(qs.flushes.rbegin(), qs.flushes.rend(), [&](const OpenQFlush& f) { return f.thread == e.thread; });
    if (it == qs.flushes.rend()) return;
    const OpenQFlush f = *it;
    qs.flushes.erase(std::next(it).base());
    const bool drain = f.kind == static_cast<int>(FlushKind::drain);
    if (drain && qs.drains > 0) --qs.drains;
    // C11: flush_workqueue returns whether it waited: whether some
    // insertion of the queue had not finished (run or been dequeued) at
    // its flush_begin. Exact: the insertion, the run's end with its epoch,
    // a dequeue and both flush events are all recorded under the queue's
    // lock.
    if (f.kind == static_cast<int>(FlushKind::workqueue) && (e.arg != 0) != f.busy_at_begin)
      report(11, 0, e.queue, -9,
             "flush_workqueue of " + wq(e.queue) + " by " + thr(e.thread) + " (" + at(f.begin) + " to " + at(e.seq) +
                 ") returned " + (e.arg ? "true" : "false") + " (\"waited\"), but at its flush_begin " +
                 (f.busy_at_begin ? "some queueing of the queue had not finished"
                                  : "every queueing of the queue had finished"),
             {f.begin, e.seq});
    // C11: flush: every insertion before flush_begin has finished. drain:
    // the queue is empty (chained queueings included) and no timer is armed.
    for (const auto& [ins, w] : qs.inflight) {
      if (!drain && ins >= f.begin) break;
      bool running = false;
      Queueing* p = find_inserted(w, ins, running);
      if (!p) continue;
      if (running) {
        report_work(11, w,
                    std::string(drain ? "drain" : "flush") + " of " + wq(e.queue) + " by " + thr(e.thread) +
                        " returned at " + at(e.seq) + " while " + W(w) + " (queued at " + at(ins) +
                        ") was still running",
                    {ins, f.begin, e.seq});
        break;
      }
      if (!p->deferred.rule) p->deferred = Deferred{11, f.begin, e.seq, e.thread};
      break;
    }
    if (drain && !qs.armed.empty()) {
      const auto& [arm, w] = *qs.armed.begin();
      report_work(11, w,
                  "drain of " + wq(e.queue) + " by " + thr(e.thread) + " returned at " + at(e.seq) +
                      " with the timer of " + W(w) + " (armed at " + at(arm) + ") still armed",
                  {arm, f.begin, e.seq});
    }
  }

  // C16 checks the detector itself. Every wait-for cycle contains a wait
  // from inside a callback: a worker's own C3 wait names only the run it
  // waits for, whose node waits for nothing unless its callback does. A
  // cycle reported before any callback ever waited is a false one (issue
  // #13: hundreds per run, and in error mode a legitimate wait refused).
  // The report of a callback's own wait comes from inside that callback
  // (cancel_work_sync and flush_workqueue report before their begin).
  void note_callback_wait(const Event& e, const ThreadState& t) {
    if (t.cur_work != 0 && first_callback_wait_ == kNone) first_callback_wait_ = e.seq;
  }
  void on_dependency_cycle(const Event& e, const ThreadState& t) {
    note_callback_wait(e, t);
    if (first_callback_wait_ != kNone) return;
    report(16, 0, 0, -1,
           "a dependency_cycle (" + std::to_string(e.arg) + " dependencies) reported at " + at(e.seq) + " by " +
               thr(e.thread) + ", but no work has waited in a callback so far: no wait-for cycle can exist, the "
               "detector's report is false",
           {e.seq});
  }

  // C16 judges every refusal (wait_refused, recorded before the engine
  // throws Error(deadlock)) against the state the stream shows then: a
  // refused wait that could have returned turns a legitimate program into
  // an error (issue #13's false deadlocks; issue #14: the rescuer's
  // refusals were judged by one unit test each). Every refusal comes from
  // inside a callback (a thread that runs no work holds nothing, so no
  // cycle passes through it), and for its reason:
  //   own_run        the awaited work's run in progress is on the caller
  //   own_queue      the caller runs a work of the queue it would flush,
  //                  drain or destroy
  //   behind_caller  the awaited work is pending in the caller's queue
  //   rescuer_chain  the caller is the rescuer, and the chain of waits from
  //                  the awaited work (its runner waits for another work,
  //                  whose runner waits...) reaches a run on its own stack,
  //                  or a callback it is nested in is cancelling that work
  //                  (the cancel turn it waits for may be its own)
  //   cycle          DependencyCheck::error: only the first rule (the
  //                  graph keeps every edge ever seen: a cycle need not be
  //                  in force at once, see dependency.hpp)
  void on_wait_refused(const Event& e, ThreadState& t) {
    const auto reason = static_cast<RefusalReason>(e.arg);
    const std::string what = std::string("a wait for ") + (e.work ? W(e.work) : wq(e.queue)) + " by " +
                             thr(e.thread) + " refused with Error(deadlock) at " + at(e.seq) + " (" +
                             refusal_name(reason) + ")";
    if ((e.thread & kExternalThread) || t.cur_work == 0) {
      report(16, e.work, e.queue, -20,
             what + ", but that thread runs no callback: it holds nothing, no wait-for cycle can pass through it",
             {e.seq});
      return;
    }
    switch (reason) {
      case RefusalReason::own_run: {
        const WorkState& ws = work(e.work);
        const bool mine = std::any_of(ws.running.begin(), ws.running.end(),
                                      [&](const Run& r) { return r.thread == e.thread; });
        if (!mine)
          report(16, e.work, 0, -20,
                 what + ", but " + W(e.work) + "'s run in progress is not that thread's: " +
                     (ws.running.empty() ? std::string("it is not running")
                                         : "it runs on " + thr(ws.running.front().thread)),
                 {e.seq});
        break;
      }
      case RefusalReason::own_queue:
        if (t.cur_queue != e.queue)
          report(16, 0, e.queue, -20,
                 what + ", but the callback it comes from (" + W(t.cur_work) + ") is of " + wq(t.cur_queue), {e.seq});
        break;
      case RefusalReason::behind_caller: judge_behind_caller(e, t, what); break;
      case RefusalReason::rescuer_chain: {
        std::string chain;
        if (!t.rescuer)
          report(16, e.work, 0, -20, what + ", a refusal only the rescuer makes, by a thread that is not it", {e.seq});
        else if (e.work == 0)
          judge_refused_queue_wait(e, t, what);
        else if (!chain_reaches(e.thread, e.work, chain) && !own_cancel_turn(t, e.work))
          report(16, e.work, 0, -20,
                 what + ", but its chain of waits never reaches a run on the rescuer's own stack: " + chain +
                     " (the wait could have returned)",
                 {e.seq});
        break;
      }
      case RefusalReason::cycle: break;
    }
  }

  // flush_work refused for a queueing of the work that only the caller's
  // thread (or its slot) would run, after it returns: one the flush counts
  // (the n-th accepted, n <= e.upto, the count the flush read) must be
  // pending in the caller's queue. A queueing made after that read is not
  // waited for (C10), so it never makes the flush a deadlock (mutant
  // drop_conjunct flush_work_as@b19fb1 refused for it: a false deadlock
  // only the count tells from a true one). The count itself lies between
  // the queueings accepted before the flush began and those before the
  // refusal.
  void judge_behind_caller(const Event& e, const ThreadState& t, const std::string& what) {
    const WorkState& ws = work(e.work);
    const bool began = t.last_flush_work == e.work;
    const uint64_t floor = began ? t.last_flush_floor : 0;
    if (e.upto < floor || e.upto > ws.accepted) {
      report(16, e.work, e.queue, -20,
             what + ", counting " + std::to_string(e.upto) + " queueing(s) of " + W(e.work) + ", but " +
                 std::to_string(floor) + " had been accepted when the flush began and " +
                 std::to_string(ws.accepted) + " by its refusal: the flush's count is not one it could have read",
             began ? std::vector<uint64_t>{t.last_flush_begin, e.seq} : std::vector<uint64_t>{e.seq});
      return;
    }
    const Queueing* here = nullptr;
    const Queueing* later = nullptr;
    for (const Queueing& p : ws.pending) {
      if (p.queue != t.cur_queue) continue;
      (p.nth <= e.upto ? here : later) = &p;
    }
    if (here) return;
    if (later)
      report(16, e.work, e.queue, -20,
             what + ", but the queueing of " + W(e.work) + " pending in the caller's " + wq(t.cur_queue) + " (at " +
                 at(later->accept) + ") came after the flush read its count (" + std::to_string(e.upto) +
                 "): the flush does not wait for it (C10), so nothing it waits for is behind the caller",
             {later->accept, e.seq});
    else
      report(16, e.work, e.queue, -20,
             what + ", but " + W(e.work) + " has no pending queueing in the caller's " + wq(t.cur_queue) +
                 ": nothing of it waits behind the caller",
             {e.seq});
  }

  // A cancel_work_sync of `w` in a callback the rescuer's current one is
  // nested in: it may hold w's cancel turn, released only when it returns
  // (whether it took the turn yet is not in the stream: taken as held).
  static bool own_cancel_turn(const ThreadState& t, uint64_t w) {
    return std::any_of(t.outer.begin(), t.outer.end(),
                       [&](const ThreadState::Frame& f) { return f.open_cancel_work == w; });
  }

  // The rescuer's flush, drain or destroy of queue q refused: a run of q
  // in progress is on its own stack, or waits through a chain for one
  // there. The refused flush's open record goes (it began in the current
  // callback; a destroy is refused before it begins).
  // A flush_workqueue waits only for the runs queued before it began (C10:
  // a later queueing is not waited for); a drain and a destroy wait for
  // every run (a drain's own works may queue more while it waits).
  void judge_refused_queue_wait(const Event& e, ThreadState& t, const std::string& what) {
    QueueState& qs = queue(e.queue);
    uint64_t counted_before = std::numeric_limits<uint64_t>::max();
    for (auto it = qs.flushes.rbegin(); it != qs.flushes.rend(); ++it) {
      if (it->thread != e.thread) continue;
      if (it->begin > t.cur_begin) {
        if (it->kind == static_cast<int>(FlushKind::drain) && qs.drains > 0) --qs.drains;
        if (it->kind == static_cast<int>(FlushKind::workqueue)) counted_before = it->begin;
        qs.flushes.erase(std::next(it).base());
      }
      break;
    }
    std::string chain, ends;
    for (const auto& [id, ws] : works_)
      for (const Run& r : ws.running) {
        if (r.queue != e.queue) continue;
        if (r.has_q && r.q.accept >= counted_before) {
          ends += (ends.empty() ? "" : "; ") + W(id) + "'s run on " + thr(r.thread) + ", queued at " +
                  at(r.q.accept) + " after the flush began (not waited for)";
          continue;
        }
        if (r.thread == e.thread || chain_reaches(e.thread, id, chain)) return;
        ends += (ends.empty() ? "" : "; ") + chain;
      }
    report(16, 0, e.queue, -20,
           what + ", but no run of " + wq(e.queue) + " the wait counts is on the rescuer's stack or waits for one there" +
               (ends.empty() ? std::string(" (none is in progress)") : ": " + ends),
           {e.seq});
  }

  static const char* refusal_name(RefusalReason r) {
    switch (r) {
      case RefusalReason::own_run: return "own run";
      case RefusalReason::behind_caller: return "behind the caller";
      case RefusalReason::own_queue: return "own queue";
      case RefusalReason::cycle: return "cycle";
      case RefusalReason::rescuer_chain: return "rescuer chain";
    }
    return "unknown reason";
  }

  // The rescuer's wait chain rebuilt from the stream (pool_impl.hpp's
  // wait_chain_locked, independently): from `w`, while the work runs on a
  // thread other than the rescuer that waits in flush_work or
  // cancel_work_sync for another work (a flush only while some queueing it
  // read is unfinished), that work. A runner waiting in a flush or drain of
  // a queue ends the chain: its (queue, flush_begin) goes to `qflushes`.
  // True when a work of the chain runs on the rescuer; `text` says where
  // the chain ends otherwise.
  struct Chain {
    std::vector<uint64_t> works;
    std::vector<std::pair<uint32_t, uint64_t>> qflushes;
    std::string text;
  };
  const OpenQFlush* open_qflush_of(uint32_t thread, uint32_t& q) const {
    const OpenQFlush* latest = nullptr;
    for (const auto& [id, qs] : queues_)
      for (const OpenQFlush& f : qs.flushes)
        if (f.thread == thread && (!latest || f.begin > latest->begin)) {
          latest = &f;
          q = id;
        }
    return latest;
  }
  bool walk_chain(uint32_t rescuer, uint64_t w, Chain& c) {
    c.works = {w};
    c.text = W(w);
    for (uint64_t cur = w;;) {
      const WorkState& ws = work(cur);
      if (std::any_of(ws.running.begin(), ws.running.end(), [&](const Run& r) { return r.thread == rescuer; }))
        return true;
      if (c.works.size() >= 64) {  // the engine's bound too
        c.text += " (the chain's 64th work)";
        return false;
      }
      if (ws.running.empty()) {
        c.text += ", which is not running";
        return false;
      }
      const uint32_t runner = ws.running.front().thread;
      const ThreadState& rt = threads_[runner];
      uint64_t next = 0;
      if (rt.open_flush_work) {
        next = rt.open_flush_work;
        const WorkState& nx = work(next);
        const auto fit = std::find_if(nx.flushes.rbegin(), nx.flushes.rend(),
                                      [&](const OpenFlush& f) { return f.thread == runner; });
        const uint64_t read_by = rt.open_flush_read_by;  // kNone: any queueing so far may be awaited
        const uint64_t begin = fit == nx.flushes.rend() ? 0 : fit->begin;
        const bool unfinished =
            std::any_of(nx.running.begin(), nx.running.end(),
                        [&](const Run& r) { return r.has_q && r.q.accept < read_by; }) ||
            std::any_of(nx.pending.begin(), nx.pending.end(), [&](const Queueing& p) { return p.accept < read_by; });
        if (!unfinished) {
          c.text += ", which runs on " + thr(runner) + " in a flush_work(" + W(next) + ") begun at " + at(begin) +
                    " that is satisfied (every queueing it waits for has finished)";
          return false;
        }
      } else if (rt.open_cancel_work) {
        next = rt.open_cancel_work;
      } else {
        uint32_t q = 0;
        if (const OpenQFlush* f = open_qflush_of(runner, q)) {
          c.qflushes.emplace_back(q, f->begin);
          c.text += ", which runs on " + thr(runner) + " in a flush of " + wq(q) + " begun at " + at(f->begin);
        } else {
          c.text += ", which runs on " + thr(runner) + ", waiting for no work";
        }
        return false;
      }
      if (std::find(c.works.begin(), c.works.end(), next) != c.works.end()) {
        c.text += ", which runs on " + thr(runner) + " waiting for " + W(next) + " again (a cycle without the rescuer)";
        return false;
      }
      c.text += ", which runs on " + thr(runner) + " waiting for " + W(next);
      c.works.push_back(next);
      cur = next;
    }
  }
  // Beyond the chain: every queue a runner of it flushes waits for that
  // queue's runs queued before the flush began; a run of it on the
  // rescuer closes the chain, and the chains of its runs elsewhere go on
  // (the queues they flush in turn, up to 16: the engine's
  // follow_awaited_queues_locked). True if one reaches the rescuer.
  bool expand_chain(uint32_t rescuer, Chain& c) {
    bool reached = false;
    for (size_t i = 0; i < c.qflushes.size() && i < 16; ++i) {
      const auto [q, begin] = c.qflushes[i];
      for (const auto& [id, ws] : works_)
        for (const Run& r : ws.running) {
          if (r.queue != q || (r.has_q && r.q.accept >= begin)) continue;
          if (r.thread == rescuer) {
            reached = true;
            continue;
          }
          Chain more;
          reached |= walk_chain(rescuer, id, more);
          c.works.insert(c.works.end(), more.works.begin(), more.works.end());
          c.qflushes.insert(c.qflushes.end(), more.qflushes.begin(), more.qflushes.end());
        }
    }
    return reached;
  }
  bool chain_reaches(uint32_t rescuer, uint64_t w, std::string& text) {
    Chain c;
    bool reached = walk_chain(rescuer, w, c);
    if (!reached) reached = expand_chain(rescuer, c);
    text = std::move(c.text);
    return reached;
  }

  // C7: the rescuer runs nested, in a callback's engine wait, only what
  // that wait waits for (pool_impl.hpp's rescuer_wait and the queue flush's
  // wait_epoch_locked): a work of the wait's chain; a work of a queue a
  // runner of the chain (or the rescuer itself) flushes, queued before
  // that flush began, or of the chains of that queue's runs elsewhere; or, permissively, any pending work of a queue where
  // a chain work may wait inactive (more insertions in flight than
  // max_active: the slots' holders, which the stream does not tell apart)
  // or of a max_active 1 queue the flush waits on, and what a holder of
  // such a queue running elsewhere waits for, through its chain.
  // Another work run there may wait for a run on the rescuer's own stack:
  // refused or hung for nothing (rescuer_wait@bc2ce3, issue #14). Called
  // as the nested run starts (the waiting frame is t.outer.back()).
  void judge_nested_rescue(const Event& e, const ThreadState& t) {
    const ThreadState::Frame& f = t.outer.back();
    Chain c;
    const uint64_t target = f.open_flush_work ? f.open_flush_work : f.open_cancel_work;
    std::string waits;
    if (target) {
      if (walk_chain(e.thread, target, c)) return;  // a refusal comes (judged then)
      waits = std::string(f.open_flush_work ? "flush_work(" : "cancel_work_sync(") + W(target) + "): " + c.text;
    } else {
      uint32_t q = 0;
      const OpenQFlush* qf = open_qflush_of(e.thread, q);
      if (!qf) return;  // a wait the stream does not name: not judged
      c.qflushes.emplace_back(q, qf->begin);
      waits = "a flush of " + wq(q) + " begun at " + at(qf->begin);
    }
    expand_chain(e.thread, c);  // what the flushed queues' runs elsewhere wait for
    const uint64_t x = e.work;
    if (std::find(c.works.begin(), c.works.end(), x) != c.works.end()) return;
    const WorkState& xs = work(x);
    auto pending_in = [&](uint32_t q, uint64_t before) {
      return std::any_of(xs.pending.begin(), xs.pending.end(),
                         [&](const Queueing& p) { return !p.armed && p.queue == q && p.accept < before; });
    };
    for (const auto& [q, begin] : c.qflushes) {
      if (pending_in(q, begin)) return;
      if (queue(q).max_active == 1 && pending_in(q, kNone)) return;  // the slot's holder
    }
    // A chain work may wait inactive only while its queue has more
    // insertions in flight than max_active: then the slots' holders, and
    // what a holder running elsewhere waits for, through its chain (its
    // end frees the slot too: pool_impl.hpp's holder_chains).
    for (uint64_t cw : c.works) {
      for (const Queueing& p : work(cw).pending) {
        const QueueState& pq = queue(p.queue);
        if (pq.kind != kShared || static_cast<int>(pq.inflight.size()) <= pq.max_active) continue;
        if (pending_in(p.queue, kNone)) return;  // a slot's holder
        for (const auto& [id, ws] : works_)
          for (const Run& r : ws.running) {
            if (r.queue != p.queue || r.thread == e.thread) continue;
            Chain held;
            walk_chain(e.thread, id, held);
            if (std::find(held.works.begin(), held.works.end(), x) != held.works.end()) return;
          }
      }
    }
    report(7, x, e.thread, -21,
           "the rescuer (" + thr(e.thread) + ") started " + W(x) + " at " + at(e.seq) + " nested in " +
               W(f.cur_work) + "'s wait for " + waits + ", but that wait does not wait for " + W(x) +
               ": a work run there for nothing may wait for a run on the rescuer's own stack",
           {e.seq});
  }

  void on_cancel_begin(const Event& e, ThreadState& t) {
    if (e.arg == 1) note_callback_wait(e, t);
    if (e.work == 0) return;
    WorkState& ws = work(e.work);
    auto& v = ws.cancels;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const OpenCancel& c) { return c.thread == e.thread; }), v.end());
    v.push_back(OpenCancel{e.thread, e.seq, e.arg == 1, e.seq, false, 0});
    t.open_cancel_work = e.work;
  }

  void on_cancel_end(const Event& e, ThreadState& t) {
    if (e.work == 0) return;
    WorkState& ws = work(e.work);
    ws.last_cancel_end = e.seq;
    auto it = std::find_if(ws.cancels.begin(), ws.cancels.end(), [&](const OpenCancel& c) { return c.thread == e.thread; });
    if (it == ws.cancels.end()) return;
    const OpenCancel c = *it;
    ws.cancels.erase(it);
    if (t.open_cancel_work == e.work) t.open_cancel_work = 0;
    const std::string who = std::string(c.sync ? "cancel_work_sync" : "cancel_work") + "(" + W(e.work) + ") by " +
                            thr(e.thread) + " (" + at(c.begin) + ".." + at(e.seq) + ")";
    // Return value: true iff it removed a pending queueing.
    if ((e.arg != 0) != c.dequeued) {
      report_work(12, e.work,
                  who + " returned " + (e.arg ? "true (was pending)" : "false") + " but it " +
                      (c.dequeued ? "did remove a pending queueing at " + at(c.dequeue_seq) : "removed nothing"),
                  c.dequeued ? std::vector<uint64_t>{c.begin, c.dequeue_seq, e.seq}
                             : std::vector<uint64_t>{c.begin, e.seq});
    }
    if (c.sync) {
      for (const Run& r : ws.running)
        if (r.has_q && r.q.accept < c.need) {
          report_work(12, e.work,
                      who + " returned while the run of " + W(e.work) + " started at " + at(r.begin) + " by " +
                          thr(r.thread) + " was still going",
                      {r.q.accept, c.begin, r.begin, e.seq});
          return;
        }
      for (const Queueing& p : ws.pending)
        if (p.accept < c.need) {
          report_work(12, e.work,
                      who + " returned with " + W(e.work) + " still pending (queueing at " + at(p.accept) +
                          " on " + wq(p.queue) + ")",
                      {p.accept, c.begin, e.seq});
          return;
        }
    } else {
      // A cancel_work_sync of another thread owns the work: cancel_work
      // gives up (being_cancelled). The owner may have unlinked the work
      // without having recorded its dequeue yet.
      for (const OpenCancel& o : ws.cancels)
        if (o.sync) return;
      for (const Queueing& p : ws.pending)
        if (p.accept < c.begin) {
          report_work(12, e.work,
                      who + " returned with " + W(e.work) + " still pending (queueing at " + at(p.accept) +
                          " on " + wq(p.queue) + ")",
                      {p.accept, c.begin, e.seq});
          return;
        }
    }
  }

  // ---------------------------------------------------------------- hotplug

  // At a hotplug event (calls are serialized): every earlier one returned.
  void complete_all_offline(uint64_t seq) {
    for (CpuState& cs : cpus_) {
      if (cs.offline) cs.complete = true;
      if (cs.onlining) cs.online_done_seq = seq;
      cs.onlining = false;
    }
  }

  void on_cpu_offline(const Event& e, ThreadState& t) {
    complete_all_offline(e.seq);  // hotplug calls are serialized
    if (CpuState* c = cpu_state(e.cpu)) c->last_hotplug = e.seq;
    if (e.cpu == opt_.core_cpu)
      report(13, 0, 0, e.cpu, "the core " + cpu_s(e.cpu) + " went offline at " + at(e.seq), {e.seq});
    CpuState* cs = cpu_state(e.cpu);
    if (!cs) return;
    cs->offline = true;
    cs->complete = false;
    cs->offline_seq = e.seq;
    ++cs->epoch;
    cs->done_below = 0;
    if (!cs->ever_offline) cs->first_offline_seq = e.seq;
    cs->ever_offline = true;
    t.pending_offline_cpu = e.cpu;
    t.pending_offline_epoch = cs->epoch;
  }

  void on_cpu_online(const Event& e, ThreadState& t) {
    complete_all_offline(e.seq);
    CpuState* cs = cpu_state(e.cpu);
    if (!cs) return;
    cs->last_hotplug = e.seq;
    cs->offline = false;
    cs->complete = false;
    cs->onlining = true;
    cs->online_seq = e.seq;
    t.pending_online_cpu = e.cpu;
  }

  // ---------------------------------------------------------------- destroy

  void on_destroy(const Event& e) {
    QueueState& qs = queue(e.queue);
    if (qs.destroying && !qs.destroyed)
      report(14, 0, e.queue, -8,
             "second destroy of " + wq(e.queue) + " at " + at(e.seq) + " while the first (" + at(qs.destroy_seq) +
                 ") was in progress",
             {qs.destroy_seq, e.seq});
    if (!qs.destroying) qs.destroy_seq = e.seq;
    qs.destroying = true;
  }

  void on_destroy_end(const Event& e) {
    QueueState& qs = queue(e.queue);
    const uint64_t dstart = qs.destroying ? qs.destroy_seq : e.seq;
    // Every thread of the queue is joined.
    if (!qs.threads.empty()) {
      const uint32_t th = qs.threads.front();
      const ThreadState& ts = threads_[th];
      report(14, 0, e.queue, -9,
             "destroy of " + wq(e.queue) + " returned at " + at(e.seq) + " but " + thr(th) + " (" + cpu_s(ts.cpu) +
                 ", created at " + at(ts.spawn_seq) + ") was never stopped",
             {ts.spawn_seq, dstart, e.seq});
    }
    // Drained: nothing pending, armed or running.
    std::vector<std::pair<uint64_t, uint64_t>> left(qs.inflight.begin(), qs.inflight.end());
    for (const auto& [ins, w] : left) {
      bool running = false;
      Queueing* p = find_inserted(w, ins, running);
      if (!p) continue;
      if (running) {
        report_work(14, w,
                    "destroy of " + wq(e.queue) + " returned at " + at(e.seq) + " while " + W(w) +
                        " (queued at " + at(ins) + ") was still running",
                    {ins, dstart, e.seq});
      } else {
        report_lost(w, *p, 14, "was never run although " + wq(e.queue) + " was destroyed at " + at(e.seq), e.seq);
      }
    }
    std::vector<std::pair<uint64_t, uint64_t>> armed(qs.armed.begin(), qs.armed.end());
    for (const auto& [arm, w] : armed)
      for (Queueing& p : work(w).pending)
        if (p.armed && p.accept == arm && p.queue == e.queue)
          report_lost(w, p, 14,
                      "was still armed when " + wq(e.queue) + " was destroyed at " + at(e.seq) +
                          " (destroy fires armed timers)",
                      e.seq);
    qs.destroyed = true;
    qs.destroy_end_seq = e.seq;
  }

  // ------------------------------------------------------------ end state

  // A hung run's waits that never returned although everything they wait
  // for had ended: the wait's own wake-up was lost (a flush whose epoch
  // never closes, a cancel never told its run ended), which no other
  // report names: no work is stranded, every callback returned. A wait
  // still waiting for a queueing or a run is left to the reports of that
  // queueing or run.
  void report_open_waits() {
    std::vector<uint64_t> ws_ids;
    for (const auto& [w, ws] : works_)
      if (!ws.flushes.empty() || !ws.cancels.empty()) ws_ids.push_back(w);
    std::sort(ws_ids.begin(), ws_ids.end());
    const std::string tail = " and never returned, though everything it waits for had ended";
    for (uint64_t w : ws_ids) {
      const WorkState& ws = works_[w];
      for (const OpenFlush& f : ws.flushes) {
        const bool waits = std::any_of(ws.pending.begin(), ws.pending.end(),
                                       [&](const Queueing& p) { return p.accept < f.begin; }) ||
                           std::any_of(ws.running.begin(), ws.running.end(),
                                       [&](const Run& r) { return !r.has_q || r.q.accept < f.begin; });
        if (!waits)
          report(10, w, f.thread, -20,
                 "flush_work(" + W(w) + ") by " + thr(f.thread) + " began at " + at(f.begin) + tail +
                     (ws.has_run ? " (its last run began at " + at(ws.last_run_begin) + ")" : " (it never ran)"),
                 {f.begin});
      }
      for (const OpenCancel& c : ws.cancels) {
        // Concurrent cancels take turns: one waiting for another's turn is
        // that other's report.
        if (!c.sync || !ws.running.empty() || ws.cancels.size() > 1) continue;
        report(12, w, c.thread, -20, "cancel_work_sync(" + W(w) + ") by " + thr(c.thread) + " began at " + at(c.begin) +
                                         tail + " (no run of it was in progress)",
               {c.begin});
      }
    }
    std::vector<uint32_t> q_ids;
    for (const auto& [q, qs] : queues_)
      if (!qs.flushes.empty() || (qs.destroying && !qs.destroyed)) q_ids.push_back(q);
    std::sort(q_ids.begin(), q_ids.end());
    for (uint32_t q : q_ids) {
      const QueueState& qs = queues_[q];
      bool flush_open = false;
      for (const OpenQFlush& f : qs.flushes) {
        flush_open = true;
        const bool drain = f.kind == static_cast<int>(FlushKind::drain);
        const bool waits = drain ? !qs.inflight.empty() || !qs.armed.empty()
                                 : !qs.inflight.empty() && qs.inflight.begin()->first < f.begin;
        if (waits) continue;
        report(11, q, f.thread, -20,
               std::string(drain ? "drain_workqueue" : "flush_workqueue") + " of " + wq(q) + " by " + thr(f.thread) +
                   " began at " + at(f.begin) + tail,
               {f.begin});
      }
      // A destroy drains (its drain is one of the flushes above), then joins
      // the queue's threads: with nothing left to run it must end.
      if (qs.destroying && !qs.destroyed && !flush_open && qs.inflight.empty() && qs.armed.empty() &&
          qs.open_execs == 0)
        report(14, q, 0, -20,
               "destroy of " + wq(q) + " began at " + at(qs.destroy_seq) +
                   " and never returned, though the queue was empty and none of its works was running",
               {qs.destroy_seq});
    }
  }

  void finish() {
    if (!opt_.quiescent_end) return;
    std::vector<uint64_t> ids;
    ids.reserve(works_.size());
    for (const auto& [w, ws] : works_)
      if (!ws.busy.empty() || !ws.pending.empty() || !ws.running.empty()) ids.push_back(w);
    std::sort(ids.begin(), ids.end());
    // Most telling first (a hung run is judged by its first violation): lost
    // queueings, oldest first; then callbacks that never returned; last the
    // queue_busy whose claim never showed up (in a hung run the claimant
    // may be the thread that hangs).
    std::vector<std::pair<uint64_t, uint64_t>> lost;  // (accept, work)
    for (uint64_t w : ids) {
      WorkState& ws = works_[w];
      for (Queueing& p : ws.pending) {
        if (p.reported) continue;
        auto qit = queues_.find(p.queue);
        const bool destroyed = qit != queues_.end() && qit->second.destroyed;
        if (p.armed && !destroyed) continue;  // a timer may legitimately still be armed
        lost.emplace_back(p.accept, w);
      }
    }
    std::sort(lost.begin(), lost.end());
    for (const auto& [accept, w] : lost)
      for (Queueing& p : works_[w].pending)
        if (p.accept == accept)
          report_lost(w, p, 1, "never ran and was never cancelled before the end of the run", kNone);
    report_open_waits();
    for (uint64_t w : ids)
      for (const Run& r : works_[w].running)
        report_work(15, w,
                    "the run of " + W(w) + " started at " + at(r.begin) + " by " + thr(r.thread) + " on " +
                        wq(r.queue) + " never ended",
                    {r.begin});
    for (uint64_t w : ids) {
      WorkState& ws = works_[w];
      for (const BusyCand& c : ws.busy) busy_violation(w, c, kNone);
      ws.busy.clear();
    }
  }
};

}  // namespace

std::vector<Violation> check_events(const std::vector<Event>& events, const OracleOptions& opt) {
  Oracle o(events, opt);
  std::vector<Violation> out = o.run();
  for (Violation& v : check_pool_concurrency(events, opt.stall_timeout_ns)) out.push_back(std::move(v));
  return out;
}

std::string explain(const std::vector<Event>& events, const Violation& v, size_t max_lines) {
  if (max_lines == 0) return {};
  std::unordered_map<uint64_t, size_t> by_seq;
  by_seq.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) by_seq.emplace(events[i].seq, i);
  std::unordered_set<uint64_t> works;
  std::unordered_set<uint32_t> queues;
  std::vector<char> own(events.size(), 0);
  size_t last = 0;
  bool any = false;
  for (uint64_t s : v.events) {
    auto it = by_seq.find(s);
    if (it == by_seq.end()) continue;
    const Event& e = events[it->second];
    own[it->second] = 1;
    if (e.work) works.insert(e.work);
    if (e.queue) queues.insert(e.queue);
    last = std::max(last, it->second);
    any = true;
  }
  if (!any) return {};
  std::vector<size_t> rel;
  size_t n_own = 0;
  for (size_t i = 0; i <= last; ++i) {
    const Event& e = events[i];
    bool r = own[i] || (e.work && works.count(e.work)) || (!e.work && e.queue && queues.count(e.queue)) ||
             e.type == EventType::cpu_offline || e.type == EventType::cpu_online;
    if (!r) continue;
    rel.push_back(i);
    if (own[i]) ++n_own;
  }
  std::vector<size_t> keep;
  size_t dropped = 0;
  if (rel.size() <= max_lines) {
    keep = rel;
  } else {
    // Room for the "omitted" line, the violation's own events, and as many
    // of the latest related events as fit.
    size_t room = max_lines - 1;
    size_t own_kept = std::min(n_own, room);
    size_t others = room - own_kept;
    std::vector<char> take(rel.size(), 0);
    size_t own_seen = 0;
    for (size_t j = rel.size(); j-- > 0;) {
      if (own[rel[j]]) {
        if (own_seen < own_kept) take[j] = 1;
        ++own_seen;
      } else if (others > 0) {
        take[j] = 1;
        --others;
      }
    }
    for (size_t j = 0; j < rel.size(); ++j) {
      if (take[j])
        keep.push_back(rel[j]);
      else
        ++dropped;
    }
  }
  std::string out;
  if (dropped) out += "  ... " + std::to_string(dropped) + " earlier related events omitted\n";
  for (size_t i : keep) {
    out += own[i] ? "> " : "  ";
    out += format_event(events[i]);
    out += '\n';
  }
  return out;
}

}  // namespace lazywq::check
