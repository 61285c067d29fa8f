#include <cstdio>
#include "sim/world.hpp"
#include "sim/quarantine.hpp"
#include "sim/symbolize.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/context/detail/fcontext.hpp>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <utility>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAZYWQ_SIM_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif
#if __has_feature(thread_sanitizer)
#define LAZYWQ_SIM_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif
#endif

namespace bctx = boost::context::detail;

namespace lazywq::sim {

const char* to_string(RunStatus s) {
  switch (s) {
    case RunStatus::ok: return "ok";
    case RunStatus::deadlock: return "deadlock";
    case RunStatus::step_limit: return "step_limit";
    case RunStatus::crashed: return "crashed";
    case RunStatus::spin: return "spin";
    case RunStatus::horizon: return "horizon";
  }
  return "?";
}

namespace {
thread_local World* tls_world = nullptr;

#if defined(LAZYWQ_SIM_ASAN) || defined(LAZYWQ_SIM_TSAN)
constexpr size_t kStackSize = 1u << 20;  // sanitizers need bigger frames
#else
constexpr size_t kStackSize = 256u << 10;
#endif

struct Stack {
  void* base = nullptr;  // start of the mapping (guard page first)
  size_t size = 0;       // whole mapping
  void* top() const { return static_cast<char*>(base) + size; }
  void* usable_bottom() const { return static_cast<char*>(base) + static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
  size_t usable_size() const { return size - static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
};

// Stacks of runs that failed while threads were still inside them. Their
// frames are never unwound (that would run engine code in a world that has
// stopped) and never unmapped; LeakSanitizer is told to scan them so the
// objects they reference are not reported as leaks.
std::mutex graveyard_mu;
std::vector<Stack>& graveyard() {
  static auto* g = new std::vector<Stack>();
  return *g;
}
// The abandoned runs' Thread objects (World::Thread, kept as void*).
std::vector<void*>& abandoned_threads() {
  static auto* a = new std::vector<void*>();
  return *a;
}
}  // namespace

struct World::Thread {
  uint32_t id = 0;
  std::string name;
  int cpu = 0;
  int spawn_cpu = 0;  // where it started (cpu may change: set_cpu)
  std::function<void()> body;
  void* fctx = nullptr;  // suspended context
  Stack stack;
  enum class State : uint8_t { runnable, blocked, finished } state = State::runnable;
  WaitQueue* waiting = nullptr;
  int64_t deadline = -1;
  int64_t blocked_at = 0;  // the virtual time its current wait began
  bool driver = false;     // drives the workload (World::mark_driver)
  bool joining_driver = false;  // blocked joining a driver: not a wait the horizon watches
  bool timed_out = false;
  const char* why = "";
  // The deadline of its next wait was a safety net, dropped (WorldConfig::
  // safety_nets off): that wait says so if the run hangs in it.
  bool next_wait_safety_net = false;
  void* context = nullptr;
  uint32_t windows = 0;  // bit i: inside RaceWindow i
  // Every point, block and finish of this thread: with its id, it names a
  // choice point in a way that changes elsewhere in the schedule leave
  // alone (sim/schedule.hpp).
  uint64_t steps_taken = 0;
  // The spin detector: yields since it last blocked, counting only yields
  // a few scheduling points apart (one loop), and the points since its
  // last yield.
  uint64_t yields_in_a_row = 0;
  uint64_t points_since_yield = 0;
  // Timed waits in a row that began past their deadline (WorldConfig::max_spin_yields).
  uint64_t expired_waits_in_a_row = 0;
  // How deep inside each window: the rescuer's nested runs enter the
  // callback window again before leaving the outer one.
  std::array<uint8_t, 32> window_depth{};
  WaitQueue joiners;
  VectorClock clock;  // happens-before (sim/happens_before.hpp): its own entry starts at 1
  World* world = nullptr;
  void* tsan_fiber = nullptr;
  void* asan_fake_stack = nullptr;
};

// Stacks are mapped once per OS thread and reused by every later world on
// it: mapping and faulting in fresh stacks cost more than a whole run.
struct World::StackPool {
  std::vector<Stack> free;
  Stack get() {
    if (!free.empty()) {
      Stack s = free.back();
      free.pop_back();
      return s;
    }
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    Stack s;
    s.size = kStackSize + page;
    s.base = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s.base == MAP_FAILED) throw std::runtime_error("simulator: cannot map a thread stack");
    mprotect(s.base, page, PROT_NONE);  // guard page: an overflow faults at once
    return s;
  }
  void put(Stack s) { free.push_back(s); }
  ~StackPool() {
    for (auto& s : free) munmap(s.base, s.size);
  }
};

namespace {
std::atomic<uint64_t> next_world_id{1};
}  // namespace

World::World(WorldConfig cfg)
    : cfg_(std::move(cfg)),
      rng_(Rng(cfg_.seed).fork(0x5eed)),
      spurious_rng_(Rng(cfg_.seed).fork(0x5b0c)),
      id_(next_world_id.fetch_add(1, std::memory_order_relaxed)) {
  static thread_local StackPool pool;
  stacks_ = &pool;
  strategy_ = make_strategy(cfg_.strategy, Rng(cfg_.seed).fork(0x5c4ed).next(), cfg_.bytes, cfg_.schedule);
}

World::~World() {
  std::lock_guard<std::mutex> g(graveyard_mu);
  for (auto& t : threads_) {
    if (t->state == Thread::State::finished || !t->stack.base) continue;
    // Abandoned mid-run (failed run): keep its stack and everything it
    // references alive, reachable for LeakSanitizer.
#if defined(LAZYWQ_SIM_ASAN)
    __lsan_register_root_region(t->stack.usable_bottom(), t->stack.usable_size());
#endif
    graveyard().push_back(t->stack);
    // The Thread (and its body) stay alive too, reachable from a global:
    // nothing on its stack need point at it (a run cut while the manager
    // was creating a pool thread reported it as a leak).
    abandoned_threads().push_back(t.release());
  }
}

World* World::current() { return tls_world; }

namespace {
std::atomic<uint64_t>* step_sink = nullptr;  // World::publish_steps_to
}  // namespace

void World::publish_steps_to(std::atomic<uint64_t>* sink) { step_sink = sink; }

void*& World::context_slot() { return threads_[current_]->context; }
int World::cpu() const { return current_ == kNoThread ? 0 : threads_[current_]->cpu; }
void World::set_cpu(int cpu) { threads_[current_]->cpu = cpu; }
const std::string& World::thread_name(uint32_t id) const { return threads_[id]->name; }

static void fiber_entry(bctx::transfer_t t) {
  auto* th = static_cast<World::Thread*>(t.data);
  World::thread_main(th, t.fctx);
}

void World::thread_main(Thread* t, void* hub_fctx) {
  World& w = *t->world;
  w.hub_fctx_ = hub_fctx;
#if defined(LAZYWQ_SIM_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &w.hub_stack_bottom_, &w.hub_stack_size_);
#endif
  try {
    t->body();
  } catch (const std::exception& e) {
    w.fail(RunStatus::crashed, "thread " + std::to_string(t->id) + " (" + t->name + ") threw: " + e.what());
  } catch (...) {
    w.fail(RunStatus::crashed, "thread " + std::to_string(t->id) + " (" + t->name + ") threw a non-std exception");
  }
  t->body = nullptr;
  t->state = Thread::State::finished;
  ++t->steps_taken;
  w.runnable_.erase(std::remove(w.runnable_.begin(), w.runnable_.end(), t->id), w.runnable_.end());
  w.wake_all(t->joiners);
  w.next_ = kNoThread;
#if defined(LAZYWQ_SIM_TSAN)
  __tsan_switch_to_fiber(w.hub_tsan_fiber_, 0);
#endif
#if defined(LAZYWQ_SIM_ASAN)
  __sanitizer_start_switch_fiber(nullptr, w.hub_stack_bottom_, w.hub_stack_size_);
#endif
  bctx::jump_fcontext(w.hub_fctx_, nullptr);
  std::abort();  // a finished thread is never resumed
}

void World::resume(Thread& t) {
  current_ = t.id;
  cur_clock_ = &t.clock;
#if defined(LAZYWQ_SIM_TSAN)
  __tsan_switch_to_fiber(t.tsan_fiber, 0);
#endif
#if defined(LAZYWQ_SIM_ASAN)
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, t.stack.usable_bottom(), t.stack.usable_size());
#endif
  bctx::transfer_t back = bctx::jump_fcontext(t.fctx, &t);
#if defined(LAZYWQ_SIM_ASAN)
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  t.fctx = back.fctx;
}

void World::switch_to_hub() {
#if defined(LAZYWQ_SIM_ASAN)
  Thread& t = *threads_[current_];
#endif
#if defined(LAZYWQ_SIM_TSAN)
  __tsan_switch_to_fiber(hub_tsan_fiber_, 0);
#endif
#if defined(LAZYWQ_SIM_ASAN)
  __sanitizer_start_switch_fiber(&t.asan_fake_stack, hub_stack_bottom_, hub_stack_size_);
#endif
  bctx::transfer_t back = bctx::jump_fcontext(hub_fctx_, nullptr);
  hub_fctx_ = back.fctx;
#if defined(LAZYWQ_SIM_ASAN)
  __sanitizer_finish_switch_fiber(t.asan_fake_stack, &hub_stack_bottom_, &hub_stack_size_);
#endif
}

int World::spawn_cpu(uint32_t id) const { return threads_.at(id)->spawn_cpu; }

uint32_t World::spawn(int cpu, std::string name, std::function<void()> body) {
  auto t = std::make_unique<Thread>();
  t->id = static_cast<uint32_t>(threads_.size());
  t->name = std::move(name);
  t->cpu = cpu;
  t->spawn_cpu = cpu;
  t->body = std::move(body);
  t->world = this;
  // Spawning happens before everything the child does: the parent
  // releases into the child's clock.
  if (current_ != kNoThread) hb_release(t->clock);
  t->clock.set(t->id, 1);
  t->stack = stacks_->get();
  t->fctx = bctx::make_fcontext(t->stack.top(), t->stack.usable_size(), fiber_entry);
#if defined(LAZYWQ_SIM_TSAN)
  t->tsan_fiber = __tsan_create_fiber(0);
#endif
  uint32_t id = t->id;
  threads_.push_back(std::move(t));
  strategy_->on_spawn(id);
  make_runnable(id);
  if (current_ != kNoThread) point("spawn");
  return id;
}

void World::mark_driver(uint32_t id) {
  Thread& t = *threads_[id];
  if (t.driver) return;
  t.driver = true;
  drivers_.push_back(id);
}

void World::make_runnable(uint32_t id) {
  Thread& t = *threads_[id];
  if (t.driver && t.state == Thread::State::blocked && t.deadline < 0 && !t.joining_driver)
    result_.longest_workload_wait_ns = std::max(result_.longest_workload_wait_ns, now_ - t.blocked_at);
  t.state = Thread::State::runnable;
  t.waiting = nullptr;
  t.deadline = -1;
  runnable_.insert(std::upper_bound(runnable_.begin(), runnable_.end(), id), id);
}

void World::wake_one(WaitQueue& q) {
  if (q.ids.empty()) return;
  uint32_t id = q.ids.front();
  q.ids.erase(q.ids.begin());
  make_runnable(id);
}

void World::wake_all(WaitQueue& q) {
  std::vector<uint32_t> ids;
  ids.swap(q.ids);
  for (uint32_t id : ids) make_runnable(id);
}

void World::wake_expired() {
  if (min_deadline_ < 0 || now_ < min_deadline_) return;
  int64_t next_min = -1;
  for (auto& tp : threads_) {
    Thread& t = *tp;
    if (t.state != Thread::State::blocked || t.deadline < 0) continue;
    if (t.deadline <= now_) {
      auto& ids = t.waiting->ids;
      ids.erase(std::remove(ids.begin(), ids.end(), t.id), ids.end());
      t.timed_out = true;
      make_runnable(t.id);
    } else if (next_min < 0 || t.deadline < next_min) {
      next_min = t.deadline;
    }
  }
  min_deadline_ = next_min;
}

uint32_t World::stuck_driver() const {
  if (cfg_.max_virtual_ns <= 0) return kNoThread;
  for (uint32_t id : drivers_) {
    const Thread& t = *threads_[id];
    if (t.state == Thread::State::blocked && t.deadline < 0 && !t.joining_driver &&
        now_ - t.blocked_at > cfg_.max_virtual_ns)
      return id;
  }
  return kNoThread;
}

bool World::past_horizon() const { return stuck_driver() != kNoThread; }

void World::fail_at_horizon() {
  const Thread& t = *threads_[stuck_driver()];
  fail(RunStatus::horizon, "thread " + std::to_string(t.id) + " '" + t.name + "' of the workload has waited (" + t.why +
                               ", untimed) since t=" + std::to_string(t.blocked_at) + "ns: " +
                               std::to_string((now_ - t.blocked_at) / 1'000'000) +
                               " ms of virtual time, past the horizon of " +
                               std::to_string(cfg_.max_virtual_ns / 1'000'000) +
                               " ms, while the run went on: a wait that never ends\n" + describe_blocked());
}

void World::fail(RunStatus s, std::string msg) {
  if (failed_) return;
  failed_ = true;
  result_.status = s;
  result_.message = std::move(msg);
}

void World::sync_destroyed(const void* obj, const char* what, uint32_t owner, const WaitQueue& waiters) {
  auto name = [&](uint32_t id) { return "thread " + std::to_string(id) + " (" + threads_[id]->name + ")"; };
  if (owner != kNoThread)
    misuse(std::string("destroyed a ") + what + " that " + name(owner) + " held (the engine freed memory in use)");
  if (!waiters.ids.empty())
    misuse(std::string("destroyed a ") + what + " that " + name(waiters.ids.front()) + " waited for" +
           (waiters.ids.size() > 1 ? " (and " + std::to_string(waiters.ids.size() - 1) + " more)" : "") +
           " (the engine freed memory in use)");
  dead_sync_.insert(obj);
}

void World::misuse(const std::string& msg) {
  const std::string who = current_ == kNoThread ? std::string("outside the threads")
                                                : "thread " + std::to_string(current_) + " (" + threads_[current_]->name + ")";
  fail(RunStatus::crashed, who + ": " + msg);
  if (current_ != kNoThread) {
    next_ = kNoThread;
    switch_to_hub();  // never resumed: the run is over
  }
  std::fprintf(stderr, "lazywq sim: %s\n", result_.message.c_str());
  std::abort();
}

void World::window_enter(RaceWindow w) {
  if (current_ == kNoThread) return;
  Thread& t = *threads_[current_];
  if (t.windows == 0) ++threads_in_windows_;
  t.windows |= 1u << static_cast<unsigned>(w);
  ++t.window_depth[static_cast<size_t>(w)];
}

void World::window_exit(RaceWindow w) {
  if (current_ == kNoThread) return;
  Thread& t = *threads_[current_];
  uint8_t& depth = t.window_depth[static_cast<size_t>(w)];
  if (depth == 0 || --depth > 0) return;  // still inside (an outer entry of the same window)
  t.windows &= ~(1u << static_cast<unsigned>(w));
  if (t.windows == 0) --threads_in_windows_;
}

void World::point(const char* why) {
  (void)why;
  if (current_ == kNoThread) return;
  if (threads_in_windows_ >= 2) {
    // Coverage of interleavings: this thread is inside window a while
    // another is inside b.
    const uint32_t mine = threads_[current_]->windows;
    if (mine)
      for (auto& other : threads_)
        if (other->id != current_ && other->windows && other->state != Thread::State::finished)
          for (uint32_t a = mine; a; a &= a - 1)
            for (uint32_t b = other->windows; b; b &= b - 1) {
              auto& cell = window_hits_[static_cast<size_t>(__builtin_ctz(a))][static_cast<size_t>(__builtin_ctz(b))];
              if (cell != UINT32_MAX) ++cell;
            }
  }
  ++steps_;
  if ((steps_ & 1023) == 0 && step_sink) step_sink->store(steps_, std::memory_order_relaxed);
  ++threads_[current_]->points_since_yield;
  ++threads_[current_]->steps_taken;
  int64_t spent = cfg_.step_ns;
  if (cfg_.delay_probability > 0 && rng_.chance(cfg_.delay_probability)) spent += rng_.range(0, cfg_.max_delay_ns);
  if (cfg_.clock_tick_ns <= 0) {
    now_ += spent;
  } else if ((unseen_ns_ += spent) >= cfg_.clock_tick_ns) {
    now_ += unseen_ns_;
    unseen_ns_ = 0;
  }
  // The horizon is looked at every 1024 points (a few virtual ms at most
  // late, deterministic), and at every time jump (World::run).
  if (steps_ > cfg_.max_steps || ((steps_ & 1023) == 0 && past_horizon())) {
    if (steps_ > cfg_.max_steps)
      fail(RunStatus::step_limit, "no end after " + std::to_string(cfg_.max_steps) +
                                      " scheduling points (livelock?)\n" + describe_blocked());
    else
      fail_at_horizon();
    next_ = kNoThread;
    switch_to_hub();  // never resumed: the run is over
    std::abort();
  }
  wake_expired();
  const bool yielding = yielding_;
  yielding_ = false;
  if (runnable_.size() == 1 && !failed_) return;
  uint32_t next = choose(current_, true, yielding);
  if (next == current_ && !failed_) return;
  next_ = next;
  switch_to_hub();
}

void World::yield() {
  // Yields far apart are separate short waits (a caller queueing over and
  // over, each time meeting a binder for a step or two), not one spin.
  constexpr uint64_t kSpinLoopPoints = 50;
  if (current_ != kNoThread) {
    Thread& self = *threads_[current_];
    if (self.points_since_yield > kSpinLoopPoints) self.yields_in_a_row = 0;
    self.points_since_yield = 0;
  }
  if (current_ != kNoThread && cfg_.max_spin_yields > 0 &&
      ++threads_[current_]->yields_in_a_row >= cfg_.max_spin_yields) {
    const Thread& t = *threads_[current_];
    fail(RunStatus::spin, "thread " + std::to_string(t.id) + " (" + t.name + ") yielded " +
                              std::to_string(cfg_.max_spin_yields) +
                              " times in a row without blocking: a busy wait, where it should sleep on a "
                              "condition\n" + describe_blocked());
    next_ = kNoThread;
    switch_to_hub();  // never resumed: the run is over
    std::abort();
  }
  yielding_ = true;
  point("yield");
}

bool World::block(WaitQueue& q, int64_t deadline_ns, const char* why) {
  Thread& t = *threads_[current_];
  if (deadline_ns < 0 || deadline_ns > now_) {
    t.expired_waits_in_a_row = 0;
  } else if (cfg_.max_spin_yields > 0 && ++t.expired_waits_in_a_row >= cfg_.max_spin_yields) {
    fail(RunStatus::spin, "thread " + std::to_string(t.id) + " (" + t.name + ") began " +
                              std::to_string(cfg_.max_spin_yields) + " timed waits in a row (" + why +
                              ") whose deadline the clock had already reached (t=" + std::to_string(now_) +
                              "ns): it polls the clock, where it should sleep until a time still to come\n" +
                              describe_blocked());
    next_ = kNoThread;
    switch_to_hub();  // never resumed: the run is over
    std::abort();
  }
  t.state = Thread::State::blocked;
  t.waiting = &q;
  t.deadline = deadline_ns;
  t.blocked_at = now_;
  t.timed_out = false;
  t.why = why;
  t.yields_in_a_row = 0;
  q.ids.push_back(t.id);
  runnable_.erase(std::remove(runnable_.begin(), runnable_.end(), t.id), runnable_.end());
  if (deadline_ns >= 0 && (min_deadline_ < 0 || deadline_ns < min_deadline_)) min_deadline_ = deadline_ns;
  ++steps_;
  ++t.steps_taken;
  next_ = kNoThread;
  switch_to_hub();
  return !t.timed_out;
}

void World::join(uint32_t id) {
  point("join");
  Thread& self = *threads_[current_];
  self.joining_driver = threads_[id]->driver;
  while (threads_[id]->state != Thread::State::finished) block(threads_[id]->joiners, -1, "join");
  self.joining_driver = false;
  hb_acquire(threads_[id]->clock);  // everything the joined thread did happens before the join returns
}

void World::drop_safety_net() {
  ++safety_nets_dropped_;
  if (current_ != kNoThread) threads_[current_]->next_wait_safety_net = true;
}

const char* World::wait_why(const char* plain) {
  if (current_ == kNoThread || !std::exchange(threads_[current_]->next_wait_safety_net, false)) return plain;
  return kSafetyNetWait;
}

std::string World::describe_blocked() const {
  std::string out;
  for (auto& tp : threads_) {
    const Thread& t = *tp;
    if (t.state == Thread::State::finished) continue;
    out += "  thread " + std::to_string(t.id) + " '" + t.name + "' cpu " + std::to_string(t.cpu) + ": ";
    if (t.state == Thread::State::runnable)
      out += "runnable";
    else
      out += std::string("blocked in ") + t.why + " since t=" + std::to_string(t.blocked_at) + "ns" +
             (t.deadline >= 0 ? " until t=" + std::to_string(t.deadline) + "ns" : "");
    out += "\n";
  }
  return out;
}

uint32_t World::choose(uint32_t cur, bool cur_runnable, bool yielding) {
  const uint64_t cur_steps = cur < threads_.size() ? threads_[cur]->steps_taken : steps_;
  strategy_->at(cur, cur_steps);
  const uint32_t next = strategy_->pick(runnable_, cur, cur_runnable, yielding, steps_);
  hash_ = (hash_ ^ next) * 0x100000001b3ull;
  if (runnable_.size() >= 2) {
    const uint32_t def = default_pick(runnable_, cur, cur_runnable, yielding);
    if (next != def) {
      ++result_.decisions;
      // The default keeps a runnable thread that did not yield: anything
      // else switched away from it.
      if (cur_runnable && !yielding) ++result_.preemptions;
      if (cfg_.record_schedule) result_.schedule.push_back({cur, cur_steps, next});
    }
    if (cfg_.record_choices) result_.choices.push_back({cur, cur_steps, def, runnable_});
    ++result_.choice_points;
  }
  return next;
}

RunResult World::run(std::function<void()> main) {
  if (ran_) throw std::logic_error("a World runs once");
  ran_ = true;
  World* outer = tls_world;
  tls_world = this;
  // Frees held back until the run is over (sim/quarantine.hpp).
  struct Quarantine {
    World& world;
    QuarantineState outer = quarantine_begin(world.cfg_.reuse_freed_blocks);
    ~Quarantine() {
      world.blocks_reused_ = quarantine_reused();
      quarantine_end(outer);
    }
  } quarantine{*this};
#if defined(LAZYWQ_SIM_TSAN)
  hub_tsan_fiber_ = __tsan_get_current_fiber();
#endif
  mark_driver(spawn(0, "main", std::move(main)));
  for (;;) {
    if (failed_) break;
    uint32_t next = next_;
    next_ = kNoThread;
    if (next == kNoThread) {
      if (runnable_.empty()) {
        bool all_done = std::all_of(threads_.begin(), threads_.end(),
                                    [](auto& t) { return t->state == Thread::State::finished; });
        if (all_done) break;
        if (min_deadline_ >= 0) {
          now_ = std::max(now_, min_deadline_);  // every thread waits: time jumps
          unseen_ns_ = 0;
          if (past_horizon()) {
            fail_at_horizon();
            break;
          }
          wake_expired();
          continue;
        }
        fail(RunStatus::deadlock, "every thread is blocked and no deadline is pending:\n" + describe_blocked());
        break;
      }
      uint32_t cur = current_;
      next = choose(cur, false, false);
    }
    resume(*threads_[next]);
    Thread& t = *threads_[next];
    if (t.state == Thread::State::finished && t.stack.base) {
#if defined(LAZYWQ_SIM_TSAN)
      __tsan_destroy_fiber(t.tsan_fiber);
      t.tsan_fiber = nullptr;
#endif
      stacks_->put(t.stack);
      t.stack = Stack{};
    }
  }
  current_ = kNoThread;
  cur_clock_ = nullptr;
  tls_world = outer;
  if (!race_pcs_.empty()) symbolize_race_sites();
  result_.steps = steps_;
  result_.virtual_ns = now_;
  result_.threads = static_cast<uint32_t>(threads_.size());
  result_.schedule_hash = hash_;
  result_.window_hits = window_hits_;
  uint32_t n = static_cast<uint32_t>(threads_.size());
  result_.strategy_report = strategy_->report(steps_, n);
  return result_;
}

// --- happens-before (sim/happens_before.hpp) ---

namespace {
void reset_if_stale(AccessShadow& s, uint64_t world) {
  if (s.world == world) return;
  s.world = world;
  s.write = Access{};
  s.read = Access{};
  s.reads.reset();
}
}  // namespace

void World::hb_read_slow(AccessShadow& s, const void* pc, const char* what) {
  if (s.world == kFreedShadowWorld) report_use_after_free(pc, false, what);
  reset_if_stale(s, id_);
  if (!ordered(s.write)) report_race(s.write, true, pc, false, what);
  const Access a{current_, cur_clock_->get(current_), pc, steps_};
  if (s.reads) {
    if (s.reads->size() <= current_) s.reads->resize(current_ + 1);
    (*s.reads)[current_] = a;
  } else if (ordered(s.read)) {
    s.read = a;  // the earlier read happens before this one: this one is enough
  } else {
    s.reads = std::make_unique<std::vector<Access>>(std::max(current_, s.read.tid) + 1);
    (*s.reads)[s.read.tid] = s.read;
    (*s.reads)[current_] = a;
    s.read = Access{};
  }
}

void World::hb_write_slow(AccessShadow& s, const void* pc, const char* what) {
  if (s.world == kFreedShadowWorld) report_use_after_free(pc, true, what);
  reset_if_stale(s, id_);
  if (!ordered(s.write)) report_race(s.write, true, pc, true, what);
  if (s.reads) {
    for (const Access& r : *s.reads)
      if (!ordered(r)) report_race(r, false, pc, true, what);
  } else if (!ordered(s.read)) {
    report_race(s.read, false, pc, true, what);
  }
  s.write = Access{current_, cur_clock_->get(current_), pc, steps_};
  s.read = Access{};
  s.reads.reset();
}

void World::report_race(const Access& earlier, bool earlier_wrote, const void* pc, bool writes, const char* what) {
  auto name = [&](uint32_t id) { return "thread " + std::to_string(id) + " '" + threads_[id]->name + "'"; };
  race_pcs_ = {pc, earlier.pc};
  misuse(kDataRaceMessage + std::string(what) + ": this thread " + (writes ? "writes" : "reads") +
         " it{site0} at step " + std::to_string(steps_) + ", and " + name(earlier.tid) + " " +
         (earlier_wrote ? "wrote" : "read") + " it{site1} at step " + std::to_string(earlier.step) +
         ", and nothing orders the two accesses (no lock held across both, no release/acquire pair, spawn or "
         "join between them): on real threads they can happen at the same time");
}

void World::report_use_after_free(const void* pc, bool writes, const char* what, const char* evidence) {
  race_pcs_ = {pc};
  misuse(std::string("use after free: this thread ") + (writes ? "writes " : "reads ") + what + "{site0} at step " +
         std::to_string(steps_) + ", " + evidence + " (sim/quarantine.hpp)");
}

void World::symbolize_race_sites() {
  std::vector<std::string> sites = describe_code_sites(race_pcs_);
  for (size_t i = 0; i < sites.size(); ++i) {
    const std::string key = "{site" + std::to_string(i) + "}";
    const size_t at = result_.message.find(key);
    if (at != std::string::npos) result_.message.replace(at, key.size(), sites[i]);
  }
}

}  // namespace lazywq::sim
