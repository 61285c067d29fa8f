// lazywq-torture: a torture test of the engine on real threads, in the
// manner of the Linux kernel's rcutorture and scftorture.
//
// Several caller threads issue a weighted, seeded stream of operations
// (queueing, delayed queueing, cancels, flushes, drains, CPU hotplug, queue
// re-creation) on several queues of every kind. Works check that they never
// run concurrently with themselves (C3), take a few microseconds and some
// requeue themselves a bounded number of times. Stutter phases stop every
// caller for longer than the idle timeout so that lazy workers exit and are
// re-created (the idle-exit race, C8); thread creation fails at random (C7).
// The engine records its event stream; at the end the callers stop, every
// queue is flushed and destroyed, and the contract oracle checks the whole
// stream. The engine runs on ProbedPlatform (probed_platform.hpp), which
// counts how often each race window was entered while another thread was
// inside a window.
//
// --workload rpc (or both) runs instead (or as well) an rpciod-shaped
// client, the simulator's rpc_client scenario on real threads, with its own
// exact-count, C3, C10 and C16 checks; see "The rpc workload" below.
//
// Built in every preset; under the tsan preset this is the ThreadSanitizer
// torture (any data race the engine has on real threads is a TSan report).
// Real-thread interleavings are not replayable: the seed fixes each caller's
// operation stream, not the schedule. `wqcheck explore` is the replayable
// search.
//
// Exit codes: 0 clean (or, with --expect, the expected violation was found),
// 1 a violation (or, with --expect, not found), 2 bad input.

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "lazywq/version.hpp"
#include "probed_platform.hpp"
#include "sim/oracle.hpp"
#include "sim/rng.hpp"
#include "sim/seed.hpp"  // the same seed syntax (and commit-hash folding) as wqcheck
#include "tools/build_info.hpp"
#include "tools/duration.hpp"

// The engine on the probed platform is compiled once, in probed_engine.cpp
// (probed_platform.hpp declares it extern).

namespace lazywq::torture {
namespace {

using P = ProbedPlatform;
using TEngine = BasicEngine<P>;
using TWorkqueue = BasicWorkqueue<P>;
using TWork = BasicWork<P>;
using TDelayedWork = BasicDelayedWork<P>;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr int kExitClean = 0;
constexpr int kExitViolation = 1;
constexpr int kExitBadInput = 2;

// ---------------------------------------------------------------------------
// Operations and their weights

enum class Op : uint8_t {
  queue,
  queue_on,
  delayed,
  mod_delayed,
  cancel,
  cancel_sync,
  cancel_delayed_sync,
  flush_work,
  flush_delayed,
  flush_workqueue,
  drain,
  offline,
  online,
  recreate,
  idle_edge,
  count
};
constexpr size_t kOps = static_cast<size_t>(Op::count);

struct OpInfo {
  const char* name;
  unsigned default_weight;
  const char* what;
};

// Defaults in parts per thousand: mostly queueing (it feeds every race),
// a steady trickle of cancels and flushes, rare heavy operations (drain,
// hotplug, re-creation: each of them waits for running works and joins
// threads).
constexpr std::array<OpInfo, kOps> kOpInfo{{
    {"queue", 240, "queue_work on the caller's CPU"},
    {"queue_on", 240, "queue_work_on a random CPU"},
    {"delayed", 100, "queue_delayed_work_on a random CPU, delay 0..--max-delay"},
    {"mod_delayed", 60, "mod_delayed_work_on a random CPU"},
    {"cancel", 60, "cancel_work (no wait)"},
    {"cancel_sync", 50, "cancel_work_sync"},
    {"cancel_delayed_sync", 30, "cancel_delayed_work_sync"},
    {"flush_work", 60, "flush_work"},
    {"flush_delayed", 20, "flush_delayed_work (fires an armed timer now)"},
    {"flush_workqueue", 25, "flush_workqueue"},
    {"drain", 6, "drain_workqueue (outside queueing is refused meanwhile)"},
    {"offline", 4, "cpu_offline of a random non-core CPU"},
    {"online", 4, "cpu_online of a random CPU"},
    {"recreate", 2, "destroy a queue while others use it, and create its replacement"},
    {"idle_edge", 1, "private lazy queue: run a work on a CPU, wait ~idle timeout, queue again as the worker exits (C8)"},
}};

const char* op_name(Op op) { return kOpInfo[static_cast<size_t>(op)].name; }

using Weights = std::array<unsigned, kOps>;

Weights default_weights() {
  Weights w{};
  for (size_t i = 0; i < kOps; ++i) w[i] = kOpInfo[i].default_weight;
  return w;
}

std::string known_op_names() {
  std::string s;
  for (auto& i : kOpInfo) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

// "queue=30,cancel_sync=5": overrides entries of `w`.
void parse_weights(const std::string& text, Weights& w) {
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    any = true;
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("weight '" + item + "' must look like name=N (e.g. queue=30)");
    const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    size_t idx = kOps;
    for (size_t i = 0; i < kOps; ++i)
      if (name == kOpInfo[i].name) idx = i;
    if (idx == kOps) throw std::invalid_argument("unknown operation '" + name + "' in --weights (known: " + known_op_names() + ")");
    if (!value.empty() && value[0] == '-')
      throw std::invalid_argument("weight of '" + name + "' is negative (" + value + "); weights are integers >= 0");
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 6)
      throw std::invalid_argument("weight of '" + name + "' must be an integer from 0 to 999999, not '" + value + "'");
    w[idx] = static_cast<unsigned>(std::stoul(value));
  }
  if (!any) throw std::invalid_argument("--weights '" + text + "' names no operation");
  unsigned total = 0;
  for (unsigned x : w) total += x;
  if (total == 0) throw std::invalid_argument("every operation weight is 0: nothing to do");
}

using lazywq::tools::parse_duration;  // tools/duration.hpp: the one duration syntax

std::string fmt_duration(std::chrono::nanoseconds d) {
  if (d == std::chrono::nanoseconds::max()) return "Duration::max (never)";
  const double ns = static_cast<double>(d.count());
  char buf[64];
  if (ns >= 1e9 && std::fmod(ns, 1e9) == 0) std::snprintf(buf, sizeof buf, "%.0f s", ns / 1e9);
  else if (ns >= 1e9) std::snprintf(buf, sizeof buf, "%.2f s", ns / 1e9);
  else if (ns >= 1e6) std::snprintf(buf, sizeof buf, "%.3g ms", ns / 1e6);
  else std::snprintf(buf, sizeof buf, "%.3g us", ns / 1e3);
  return buf;
}

WqKind parse_kind(const std::string& s, const char* option = "--queues") {
  for (WqKind k : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered, WqKind::shared})
    if (s == to_string(k)) return k;
  throw std::invalid_argument("unknown queue kind '" + s + "' in " + option +
                              " (known: lazy, per_cpu, single_thread, ordered, shared)");
}

// ---------------------------------------------------------------------------
// Options

struct Options {
  uint64_t seed = 0;
  std::string seed_text;
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  int callers = 4;
  int hotplug_callers = 1;  // callers 0..n-1 issue offline/online
  int cpus = 4;
  std::vector<WqKind> kinds;
  int works = 32;
  int delayed_works = 12;
  Weights weights = default_weights();
  std::chrono::nanoseconds idle_timeout = std::chrono::milliseconds(5);
  std::chrono::nanoseconds spawn_cooldown = std::chrono::milliseconds(2);
  std::chrono::nanoseconds stutter_every = std::chrono::seconds(1);
  std::chrono::nanoseconds stutter_pause{0};  // 0: derived from the idle timeout
  std::chrono::nanoseconds max_delay = std::chrono::milliseconds(2);
  std::chrono::nanoseconds hang_timeout = std::chrono::seconds(20);
  double fail_p = 0.05;
  double perturb = 0.0;
  int max_callback_us = 20;
  int max_requeue = 3;
  uint64_t max_events = 2'000'000;
  PlantedBug bug = PlantedBug::none;
  std::string expect;  // "" | "any" | "C1".."C16"
  std::string json_path;
  std::string events_path;  // the whole event stream as text, when asked
  bool quiet = false;
  std::string rerun_command;  // the command line that reruns this operation stream
  // --workload: `ops` (the weighted operation stream above, the default),
  // `rpc` (the rpciod-shaped client below) or `both` on one engine.
  bool ops_workload = true;
  bool rpc_workload = false;
  std::string workload = "ops";
  std::vector<WqKind> rpc_kinds;  // one client (an rpc + xprt queue pair) per entry
  int rpc_requests = 6;           // requests per client
  int rpc_max_retransmits = 3;    // re-arms of a retransmit timer per submission
  std::string dependency_check = "drawn";  // off | report | error | drawn (from the seed; rpc workload)
  // rpc workload: the idle timeout and the creation cooldown are drawn from
  // the seed (0, tiny, the default or Duration::max, as the simulator's
  // engine swarm) unless given on the command line; the text says which.
  std::string durations_drawn;
  // rpc workload: 1 in this many submissions arms its retransmit timer with
  // Duration::max (it never fires by itself: only a cancel, a flush or the
  // queue's destruction ends it); 0 = never.
  int rpc_never_fire_one_in = 16;  // not an option yet: the seed decides which arms
};

// The rpc workload's engine durations, drawn from the seed where the
// command line did not set them: the classes the simulator's engine swarm
// draws (sim/scenario.hpp): 0, tiny, the torture's default, Duration::max.
void draw_durations(Options& o, bool idle_given, bool cooldown_given) {
  sim::Rng rng = sim::Rng(o.seed).fork(0xd07a);
  const uint64_t ri = rng.below(4), rc = rng.below(4);
  static const char* const kClass[] = {"0", "tiny", "default", "huge"};
  std::string text;
  if (!idle_given) {
    const std::chrono::nanoseconds idle[] = {std::chrono::nanoseconds(0), std::chrono::microseconds(20), o.idle_timeout,
                                             std::chrono::nanoseconds::max()};
    o.idle_timeout = idle[ri % 4];
    text += std::string("idle timeout ") + kClass[ri % 4];
  }
  if (!cooldown_given) {
    const std::chrono::nanoseconds cooldown[] = {std::chrono::nanoseconds(0), std::chrono::microseconds(10),
                                                 o.spawn_cooldown, std::chrono::nanoseconds::max()};
    o.spawn_cooldown = cooldown[rc % 4];
    text += std::string(text.empty() ? "" : ", ") + "creation cooldown " + kClass[rc % 4];
  }
  o.durations_drawn = text;
}

// ---------------------------------------------------------------------------
// The torture run

// Errors the torture provokes on purpose: counted, not failures.
//   queue_destroyed: a caller raced a `recreate` that destroyed its queue;
//   spawn_failed: a re-created queue's core thread hit the injected
//   creation failure.
bool expected_error(Errc e) { return e == Errc::queue_destroyed || e == Errc::spawn_failed; }
// Room for every Errc value (the enum may grow; codes past this are counted
// in the last slot rather than written out of bounds).
constexpr size_t kErrcs = 32;
size_t errc_slot(Errc e) { return std::min<size_t>(static_cast<size_t>(e), kErrcs - 1); }

struct Finding {
  std::string rule;
  std::string message;
  std::string explanation;  // the related events (oracle violations only)
};

// What one run measured; printed as text and as JSON.
struct Report {
  std::vector<Finding> findings;
  std::map<std::string, uint64_t> findings_by_rule;
  std::array<uint64_t, kOps> issued{}, returned_true{}, returned_false{}, threw{};
  std::array<uint64_t, kErrcs> errors{};
  std::map<std::string, uint64_t> event_types;
  Stats stats;
  WindowCoverage coverage;
  uint64_t events = 0;
  double seconds = 0;  // operation phase
  double total_seconds = 0;
  bool event_cap_reached = false;
  bool hang = false;
  std::string hang_what;
  uint64_t c3_overlaps = 0;
  uint64_t stutters = 0;
  uint64_t stalled_stutters = 0;
  uint64_t requeues = 0;
  long peak_rss_kb = 0;
  int exit_code = 0;
  std::string verdict;
  // The rpc workload (--workload rpc|both).
  bool rpc = false;
  std::array<uint64_t, 16> rpc_issued{}, rpc_true{}, rpc_false{}, rpc_threw{};
  uint64_t rpc_runs = 0;          // callbacks of the rpc works that began
  uint64_t rpc_flush_checks = 0;  // flush_work results checked (C10)
  std::string rpc_setup;          // clients, their queues, the C16 mode, the fault plan
  std::vector<Finding> self_findings;  // the rpc workload's own checks (C1/C15, C3, C10, C16)
};

struct TortureWork {
  std::unique_ptr<TWork> work;          // a TWork or a TDelayedWork
  TDelayedWork* delayed = nullptr;      // the same object when it is delayed
  uint64_t salt = 0;                    // per-work randomness of callbacks
  std::atomic<int> in_callback{0};      // C3 self-check
  std::atomic<uint64_t> runs{0};
  std::atomic<int> chain_left{0};       // self-requeues still allowed
  std::atomic<TWorkqueue*> requeue_to{nullptr};
};

struct QueueSlot {
  WqKind kind = WqKind::lazy;
  std::string name;
  std::atomic<TWorkqueue*> current{nullptr};
  std::atomic<uint32_t> generation{0};
};

// Per caller: what it is doing now (for the hang watchdog) and its counts.
// Relaxed atomics: the progress line and the watchdog read them while the
// caller runs; nothing is ordered by them.
struct CallerState {
  std::atomic<int64_t> op_started_ns{0};  // 0: between operations
  std::atomic<uint8_t> op{0};
  std::atomic<bool> done{false};
  std::array<std::atomic<uint64_t>, kOps> issued{}, returned_true{}, returned_false{}, threw{};
};

uint64_t mix(uint64_t x) { return sim::Rng(x).next(); }

// ---------------------------------------------------------------------------
// The rpc workload (--workload rpc): an rpciod-shaped client, the torture's
// version of the simulator's `rpc_client` scenario (sim/scenario_rpc.cpp).
//
// Each client has two queues, as the kernel's sunrpc: `rpc` runs each
// request's reply handler and its retransmit timer, `xprt` runs the
// transmits, which never wait. Waits only go from rpc works to xprt works
// (and to the retransmit, which never waits), so no wait-for cycle exists:
// a hang is the engine's (C15), a reported cycle or a refused wait is false
// (C16). Threads: a bursty submitter per virtual CPU (transmit + arm the
// retransmit timer on its CPU), a reply thread (cancels a retransmit, sync
// or not, queues the reply, sometimes flushes a reply), a flusher
// (flush_workqueue, drain), a hotplug thread and a fault thread (creation
// faults switched on after the queues exist, phases up to permanent
// failure).

enum class RpcOp : uint8_t {
  transmit,
  arm,
  cancel,
  cancel_sync,
  reply,
  flush_reply,
  flush_workqueue,
  drain,
  offline,
  online,
  faults,
  count
};
constexpr size_t kRpcOps = static_cast<size_t>(RpcOp::count);
static_assert(kRpcOps <= 16, "Report::rpc_* arrays hold 16 operations");

constexpr std::array<OpInfo, kRpcOps> kRpcOpInfo{{
    {"transmit", 0, "submitter: queue_work_on(its CPU) of a request's transmit on the client's xprt queue"},
    {"arm", 0, "submitter: queue_delayed_work_on(its CPU) of the retransmit timer on the rpc queue, 0..--max-delay"},
    {"cancel", 0, "reply thread: cancel_delayed_work(retransmit)"},
    {"cancel_sync", 0, "reply thread: cancel_delayed_work_sync(retransmit)"},
    {"reply", 0, "reply thread: queue_work_on(a random CPU) of the reply handler on the rpc queue"},
    {"flush_reply", 0, "reply thread: flush_work(a reply handler), result checked (C10)"},
    {"flush_workqueue", 0, "flusher: flush_workqueue of a client's rpc or xprt queue"},
    {"drain", 0, "flusher: drain_workqueue of a client's rpc or xprt queue"},
    {"offline", 0, "hotplug thread: cpu_offline of a random non-core CPU"},
    {"online", 0, "hotplug thread: cpu_online of a random non-core CPU"},
    {"faults", 0, "fault thread: set_spawn_faults to the plan's next phase"},
}};

const char* rpc_op_name(RpcOp op) { return kRpcOpInfo[static_cast<size_t>(op)].name; }

// What the workload knows for sure about one work from the API's return
// values, checked against what ran. Atomics: real threads.
struct RpcCount {
  std::atomic<uint64_t> accepted{0};        // queueings (or arms) that returned true
  std::atomic<uint64_t> cancel_started{0};  // cancels called...
  std::atomic<uint64_t> cancel_false{0};    // ...that returned false (or threw)
  std::atomic<uint64_t> cancelled{0};       // ...that returned true: a pending queueing removed
  std::atomic<uint64_t> began{0}, ended{0};
  std::atomic<int> inside{0};               // callbacks running now: more than one breaks C3
  std::atomic<uint64_t> overlaps{0};
  std::atomic<int64_t> running_since{0};    // the watchdog's: when the running callback began (0: none)
};

struct RpcClient;

struct RpcRequest {
  RpcClient* client = nullptr;
  int index = 0;      // within its client
  int global = 0;     // over every client (the watchdog's name for it)
  std::string name;   // "c2.r3"
  std::unique_ptr<TWork> transmit, reply;
  std::unique_ptr<TDelayedWork> retransmit;
  RpcCount tx, rt, rp;
  uint64_t salt = 0;
  std::atomic<bool> replied{false};
  std::atomic<int> retransmits_left{0};
  // Whether the last accepted arm of the retransmit timer was with
  // Duration::max (it never fires by itself), for the stutter's stall check:
  // such a timer is pending legitimately. arm_mu makes each arm and its note
  // one step, so the note always describes the arm that is pending; it is
  // held only around queue_delayed_work_on, which never waits.
  std::mutex arm_mu;
  std::atomic<bool> armed_forever{false};
  // The reply handler's own wait (cancel_sync of its retransmit, flush_work
  // of a transmit), for the watchdog: 0 none, 1 cancel_sync, 2 flush_work.
  std::atomic<int64_t> wait_since{0};
  std::atomic<uint8_t> wait_what{0};
  std::atomic<int> wait_target{-1};
};

struct RpcClient {
  int index = 0;
  TWorkqueue* rpc = nullptr;
  TWorkqueue* xprt = nullptr;
  std::string rpc_desc, xprt_desc;  // kind and options
  std::vector<std::unique_ptr<RpcRequest>> reqs;
  std::atomic<bool> destroyed{false};
};

enum class RpcRole : uint8_t { submitter, reply, flusher, hotplug, faults };

// One thread of the rpc workload: what it is doing now (for the watchdog)
// and its counts; as CallerState.
struct RpcThread {
  RpcRole role = RpcRole::submitter;
  int cpu = 0;  // a submitter's CPU
  std::string name;
  std::atomic<int64_t> op_started_ns{0};
  std::atomic<uint8_t> op{0};
  std::atomic<int> target{-1};  // request (global index) or client, -1 none
  std::atomic<bool> done{false};
  std::array<std::atomic<uint64_t>, kRpcOps> issued{}, returned_true{}, returned_false{}, threw{};
};

class Torture {
 public:
  explicit Torture(const Options& o) : opt_(o) {}
  Torture(const Torture&) = delete;
  Torture& operator=(const Torture&) = delete;

  // Runs the whole torture and reports. On a hang the process cannot tear
  // the engine down (its threads are stuck): the report is written and the
  // process exits from inside run().
  Report run();

 private:
  void setup();
  void caller_main(size_t index, sim::Rng rng);
  void do_op(size_t index, CallerState& me, Op op, sim::Rng& rng);
  void on_run(TortureWork& tw);
  void count_error(const Error& e);
  bool recreate(QueueSlot& slot);
  bool idle_edge(TortureWork& tw, int cpu, uint64_t r_jitter);
  Op pick(size_t caller, sim::Rng& rng) const;
  int64_t now_ns() const { return P::now_ns(); }
  void progress_line(double elapsed, bool final_line);
  // Watchdog: the first caller stuck in one operation longer than the hang
  // timeout, or an empty string.
  std::string stuck_caller() const;
  // The first work that is pending (queued or armed), or an empty string.
  std::string pending_work() const;
  // `stats`: the engine's statistics if already taken (null: take them now).
  Report collect(double op_seconds, double total_seconds, const Stats* stats = nullptr);
  [[noreturn]] void die_hung(const std::string& what, double op_seconds, double total_seconds);

  // The rpc workload (--workload rpc|both).
  void rpc_setup(sim::Rng root);
  void rpc_thread_main(size_t index, sim::Rng rng);
  uint64_t rpc_enter(RpcCount& c, const RpcRequest& r, const char* what);
  void rpc_leave(RpcCount& c) const;
  void spin(uint64_t h, int max_us) const;
  bool rpc_queue(TWorkqueue& q, int cpu, TWork& w, RpcCount& c);
  bool rpc_arm(RpcRequest& r, int cpu, std::chrono::nanoseconds delay);
  bool rpc_cancel(RpcRequest& r, bool sync);
  // flush_work(w), then C10: every run of `c` accepted before the call has
  // ended (or its queueing was cancelled).
  // `who`: the reply handler that flushes (null: the reply thread); `what`
  // of `of`: the flushed work.
  bool rpc_flush_checked(TWork& w, RpcCount& c, const RpcRequest* who, const char* what, const RpcRequest& of);
  void on_transmit(RpcRequest& r);
  void on_retransmit(RpcRequest& r);
  void on_reply(RpcRequest& r);
  void rpc_finding(const std::string& rule, const std::string& message);
  void rpc_error(const Error& e, const std::string& where);
  void rpc_final_checks();
  std::string rpc_target(const RpcThread& t) const;
  std::string rpc_stuck() const;

  const Options opt_;
  std::unique_ptr<TEngine> engine_;
  // Declared after the engine, destroyed before it: a Work must outlive its
  // runs and its destructor cancels it through the engine.
  std::vector<std::unique_ptr<TortureWork>> works_;
  size_t n_plain_ = 0;  // works_[0, n_plain_) are plain, the rest delayed
  // idle_edge's own lazy queue and one work per caller, used by nothing
  // else: a work stranded by a bad idle exit stays stranded (no other
  // queueing for its CPU comes to rescue it) and the caller's flush hangs.
  TWorkqueue* edge_queue_ = nullptr;
  std::vector<std::unique_ptr<TortureWork>> edge_works_;
  std::vector<std::unique_ptr<QueueSlot>> slots_;
  // The rpc workload's clients (their works, like works_, go before the
  // engine), a flat list of their requests, and its threads.
  std::vector<std::unique_ptr<RpcClient>> rpc_clients_;
  std::vector<RpcRequest*> rpc_reqs_;
  std::vector<std::unique_ptr<RpcThread>> rpc_threads_;
  struct FaultPhase {
    SpawnFaults faults;
    std::string text;
  };
  std::vector<FaultPhase> fault_phases_;  // applied in turn by the fault thread
  bool fault_cycle_ = false;              // several phases, each 50-300 ms, round and round
  DependencyCheck dependency_check_ = DependencyCheck::report;
  std::string rpc_setup_text_;
  std::mutex rpc_findings_mu_;
  std::vector<Finding> rpc_findings_;  // guarded by rpc_findings_mu_
  std::atomic<uint64_t> rpc_flush_checks_{0};
  std::vector<std::unique_ptr<CallerState>> callers_;
  // Per caller: cumulative weights (a caller that does no hotplug has
  // offline/online at 0).
  std::vector<Weights> cumulative_;
  std::vector<unsigned> total_weight_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::array<std::atomic<uint64_t>, kErrcs> errors_{};
  std::atomic<uint64_t> c3_overlaps_{0};
  std::atomic<uint64_t> c3_first_work_{0};
  std::atomic<uint64_t> requeues_{0};
  uint64_t stutters_ = 0;  // main thread only
  uint64_t stalled_stutters_ = 0;  // main thread only: pauses that ended with work pending
  bool event_cap_reached_ = false;  // main thread only
  Clock::time_point start_;
};

Op Torture::pick(size_t caller, sim::Rng& rng) const {
  const uint64_t r = rng.below(total_weight_[caller]);
  for (size_t i = 0; i < kOps; ++i)
    if (r < cumulative_[caller][i]) return static_cast<Op>(i);
  return Op::queue;
}

void Torture::count_error(const Error& e) {
  errors_[errc_slot(e.code())].fetch_add(1, std::memory_order_relaxed);
}

void Torture::setup() {
  EngineConfig cfg;
  cfg.ncpus = opt_.cpus;
  cfg.core_cpu = 0;
  cfg.idle_timeout = opt_.idle_timeout;
  cfg.spawn_cooldown = opt_.spawn_cooldown;
  cfg.record_events = true;
  cfg.planted_bug = opt_.bug;
  sim::Rng root(opt_.seed);
  if (opt_.dependency_check == "off") dependency_check_ = DependencyCheck::off;
  else if (opt_.dependency_check == "error") dependency_check_ = DependencyCheck::error;
  else if (opt_.dependency_check == "drawn" && opt_.rpc_workload)
    dependency_check_ = static_cast<DependencyCheck>(root.fork(0xdc).below(3));
  cfg.dependency_check = dependency_check_;
  P::set_perturbation(opt_.perturb);
  engine_ = std::make_unique<TEngine>(cfg);

  if (opt_.rpc_workload) rpc_setup(root);
  if (!opt_.ops_workload) return;
  for (size_t i = 0; i < opt_.kinds.size(); ++i) {
    auto slot = std::make_unique<QueueSlot>();
    slot->kind = opt_.kinds[i];
    slot->name = std::string(to_string(slot->kind)) + std::to_string(i);
    slot->current.store(&engine_->create_workqueue(slot->name, slot->kind), std::memory_order_release);
    slots_.push_back(std::move(slot));
  }
  edge_queue_ = &engine_->create_workqueue("lazy-edge", WqKind::lazy);
  // Creation faults start after the initial queues exist: a failed core
  // thread would make the queue unusable before the run even starts. (The
  // rpc workload's fault thread sets them when it runs.)
  if (opt_.fail_p > 0 && !opt_.rpc_workload) {
    SpawnFaults f;
    f.fail_probability = opt_.fail_p;
    f.seed = root.fork(0xfa11).next();
    engine_->set_spawn_faults(f);
  }
  const int total_works = opt_.works + opt_.delayed_works;
  for (int i = 0; i < total_works; ++i) {
    auto tw = std::make_unique<TortureWork>();
    TortureWork* raw = tw.get();
    const bool delayed = i >= opt_.works;
    auto fn = [this, raw](TWork&) { on_run(*raw); };
    const std::string name = (delayed ? "dw" : "w") + std::to_string(delayed ? i - opt_.works : i);
    if (delayed) {
      auto dw = std::make_unique<TDelayedWork>(fn, name);
      tw->delayed = dw.get();
      tw->work = std::move(dw);
    } else {
      tw->work = std::make_unique<TWork>(fn, name);
    }
    tw->salt = root.fork(0x3000 + static_cast<uint64_t>(i)).next();
    works_.push_back(std::move(tw));
  }
  n_plain_ = static_cast<size_t>(opt_.works);
  for (int c = 0; c < opt_.callers; ++c) {
    auto tw = std::make_unique<TortureWork>();
    TortureWork* raw = tw.get();
    tw->work = std::make_unique<TWork>([this, raw](TWork&) { on_run(*raw); }, "edge" + std::to_string(c));
    tw->salt = root.fork(0x4000 + static_cast<uint64_t>(c)).next();
    edge_works_.push_back(std::move(tw));
  }
  for (int c = 0; c < opt_.callers; ++c) {
    Weights cum{};
    unsigned acc = 0;
    for (size_t i = 0; i < kOps; ++i) {
      const bool hotplug = static_cast<Op>(i) == Op::offline || static_cast<Op>(i) == Op::online;
      acc += (hotplug && c >= opt_.hotplug_callers) ? 0 : opt_.weights[i];
      cum[i] = acc;
    }
    if (acc == 0) {
      // Only hotplug has a weight and this caller does none: it queues.
      cum.fill(1);
      acc = 1;
    }
    cumulative_.push_back(cum);
    total_weight_.push_back(acc);
    callers_.push_back(std::make_unique<CallerState>());
  }
}

// A work's callback: checks C3 with an in-callback counter, maybe requeues
// itself, then takes a few microseconds.
void Torture::on_run(TortureWork& tw) {
  if (tw.in_callback.fetch_add(1, std::memory_order_acq_rel) != 0) {
    if (c3_overlaps_.fetch_add(1, std::memory_order_relaxed) == 0)
      c3_first_work_.store(tw.work->id(), std::memory_order_relaxed);
  }
  // Per-run randomness from (work, run number): no state shared between
  // runs, so a C3 break shows up as an overlap above, not as a data race on
  // the work's generator.
  const uint64_t h = mix(tw.salt + tw.runs.fetch_add(1, std::memory_order_relaxed));
  int left = tw.chain_left.load(std::memory_order_relaxed);
  while (left > 0 && !tw.chain_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  if (left > 0) {
    // Requeue first, then spin: a requeue to another CPU lets that CPU's
    // worker find the work still running here (the C3 wait,
    // reentrant_wait), and a requeue to this CPU tests C2 (PENDING cleared
    // before the callback, so the requeue must succeed).
    TWorkqueue* wq = tw.requeue_to.load(std::memory_order_acquire);
    if (wq) {
      try {
        requeues_.fetch_add(1, std::memory_order_relaxed);
        if (h & 1)
          wq->queue_work(*tw.work);
        else
          wq->queue_work_on(static_cast<int>((h >> 1) % static_cast<uint64_t>(opt_.cpus)), *tw.work);
      } catch (const Error& e) {
        count_error(e);
      }
    }
  }
  if (opt_.max_callback_us > 0) {
    const int64_t spin_ns = static_cast<int64_t>((h >> 8) % (static_cast<uint64_t>(opt_.max_callback_us) + 1)) * 1000;
    const int64_t until = now_ns() + spin_ns;
    while (now_ns() < until) {
    }
  }
  tw.in_callback.fetch_sub(1, std::memory_order_acq_rel);
}

bool Torture::recreate(QueueSlot& slot) {
  const uint32_t gen = slot.generation.fetch_add(1, std::memory_order_relaxed) + 1;
  TWorkqueue* fresh = &engine_->create_workqueue(slot.name + ".g" + std::to_string(gen), slot.kind);
  // Whoever swaps a queue out destroys it, so every queue is destroyed once
  // even when two callers re-create the same slot at the same time.
  TWorkqueue* old = slot.current.exchange(fresh, std::memory_order_acq_rel);
  old->destroy();
  return true;
}

// The idle-exit race (C8) on purpose, on the private lazy queue: make
// CPU `cpu`'s worker run the caller's own work, wait about the idle
// timeout, and queue it again just as the worker decides to exit (from a
// little before to a little after the deadline: real sleeps are only that
// precise), then wait for that run. A work stranded on a list nobody serves
// makes this flush hang, which the watchdog reports (C15, and the oracle
// names C8).
bool Torture::idle_edge(TortureWork& tw, int cpu, uint64_t r_jitter) {
  if (opt_.cpus < 2) return false;
  if (!edge_queue_->queue_work_on(cpu, *tw.work)) return false;
  engine_->flush_work(*tw.work);
  // The worker's idle deadline is its last run's end + idle_timeout: aim
  // from 300 us early to 100 us late.
  const int64_t jitter_ns = static_cast<int64_t>(r_jitter % 400'000) - 300'000;
  // Capped well below the hang timeout: with a huge --idle-timeout this
  // caller would otherwise sleep past it and be reported as an engine hang
  // (a limit of the torture blamed on the engine).
  const auto wait = std::clamp<std::chrono::nanoseconds>(opt_.idle_timeout + std::chrono::nanoseconds(jitter_ns),
                                                         std::chrono::nanoseconds(0), opt_.hang_timeout / 4);
  std::this_thread::sleep_for(wait);
  const bool queued = edge_queue_->queue_work_on(cpu, *tw.work);
  engine_->flush_work(*tw.work);
  return queued;
}

void Torture::do_op(size_t index, CallerState& me, Op op, sim::Rng& rng) {
  // Every draw happens up front, whatever the operation, so a caller's
  // operation stream depends only on the seed, never on results.
  const uint64_t r_work = rng.next(), r_queue = rng.next(), r_cpu = rng.next(), r_delay = rng.next(),
                 r_chain = rng.next();
  TortureWork& any_work = *works_[r_work % works_.size()];
  TortureWork& delayed_work =
      works_.size() > n_plain_ ? *works_[n_plain_ + r_work % (works_.size() - n_plain_)] : any_work;
  QueueSlot& slot = *slots_[r_queue % slots_.size()];
  TWorkqueue* wq = slot.current.load(std::memory_order_acquire);
  const int cpu = static_cast<int>(r_cpu % static_cast<uint64_t>(opt_.cpus));
  const int noncore_cpu = opt_.cpus > 1 ? 1 + static_cast<int>(r_cpu % static_cast<uint64_t>(opt_.cpus - 1)) : 0;
  const auto delay = std::chrono::nanoseconds(
      opt_.max_delay.count() > 0 ? static_cast<int64_t>(r_delay % static_cast<uint64_t>(opt_.max_delay.count() + 1)) : 0);
  const int chain = static_cast<int>(r_chain % static_cast<uint64_t>(opt_.max_requeue + 1));
  auto arm_chain = [&](TortureWork& tw) {
    tw.requeue_to.store(wq, std::memory_order_release);
    tw.chain_left.store(chain, std::memory_order_relaxed);
  };

  const size_t i = static_cast<size_t>(op);
  me.op.store(static_cast<uint8_t>(op), std::memory_order_relaxed);
  me.op_started_ns.store(now_ns(), std::memory_order_relaxed);
  me.issued[i].fetch_add(1, std::memory_order_relaxed);
  bool result = false;
  try {
    switch (op) {
      case Op::queue:
        arm_chain(any_work);
        result = wq->queue_work(*any_work.work);
        break;
      case Op::queue_on:
        arm_chain(any_work);
        result = wq->queue_work_on(cpu, *any_work.work);
        break;
      case Op::delayed:
        if (!delayed_work.delayed) break;
        arm_chain(delayed_work);
        result = wq->queue_delayed_work_on(cpu, *delayed_work.delayed, delay);
        break;
      case Op::mod_delayed:
        if (!delayed_work.delayed) break;
        arm_chain(delayed_work);
        result = wq->mod_delayed_work_on(cpu, *delayed_work.delayed, delay);
        break;
      case Op::cancel: result = engine_->cancel_work(*any_work.work); break;
      case Op::cancel_sync: result = engine_->cancel_work_sync(*any_work.work); break;
      case Op::cancel_delayed_sync:
        if (delayed_work.delayed) result = engine_->cancel_delayed_work_sync(*delayed_work.delayed);
        break;
      case Op::flush_work: result = engine_->flush_work(*any_work.work); break;
      case Op::flush_delayed:
        if (delayed_work.delayed) result = engine_->flush_delayed_work(*delayed_work.delayed);
        break;
      case Op::flush_workqueue: result = wq->flush(); break;
      case Op::drain:
        wq->drain();
        result = true;
        break;
      case Op::offline:
        if (opt_.cpus > 1) result = engine_->cpu_offline(noncore_cpu);
        break;
      case Op::online: result = engine_->cpu_online(cpu); break;
      case Op::recreate: result = recreate(slot); break;
      case Op::idle_edge: result = idle_edge(*edge_works_[index], noncore_cpu, r_delay); break;
      case Op::count: break;
    }
    (result ? me.returned_true : me.returned_false)[i].fetch_add(1, std::memory_order_relaxed);
  } catch (const Error& e) {
    me.threw[i].fetch_add(1, std::memory_order_relaxed);
    count_error(e);
  }
  me.op_started_ns.store(0, std::memory_order_relaxed);
}

void Torture::caller_main(size_t index, sim::Rng rng) {
  CallerState& me = *callers_[index];
  while (!stop_.load(std::memory_order_acquire)) {
    if (paused_.load(std::memory_order_acquire)) {
      // Stutter: everybody stops so that lazy workers idle out and exit.
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      continue;
    }
    const Op op = pick(index, rng);
    do_op(index, me, op, rng);
    // Now and then a short pause, so that queueings do not always arrive
    // back to back (workers go to sleep, and timers get to fire between).
    const uint64_t think = rng.next();
    if ((think & 15) == 0) std::this_thread::sleep_for(std::chrono::microseconds((think >> 8) % 100));
    else if ((think & 3) == 0) std::this_thread::yield();
  }
  me.done.store(true, std::memory_order_release);
}

// ---------------------------------------------------------------------------
// The rpc workload

std::string queue_desc(WqKind kind, const WqOptions& o) {
  std::string s(to_string(kind));
  if (o.highpri) s += ",highpri";
  if (o.unbound) s += ",unbound";
  if (o.ordered) s += ",ordered";
  if (o.max_active) s += ",max_active=" + std::to_string(o.max_active);
  return s;
}

void Torture::rpc_setup(sim::Rng root) {
  sim::Rng rng = root.fork(0x52c0);
  const int ncpus = opt_.cpus;
  // The shared kind's options, in turn from a drawn start: each run covers
  // as many of them as it has shared queues.
  uint64_t shared_turn = rng.below(5);
  auto options_for = [&](WqKind k) {
    WqOptions o;
    if (k != WqKind::shared) return o;
    switch (shared_turn++ % 5) {
      case 0: o.highpri = true; break;
      case 1: o.unbound = true; break;
      case 2: o.ordered = true; break;
      case 3: o.max_active = 1 + static_cast<int>(rng.below(3)); break;
      default: break;
    }
    return o;
  };
  std::string text;
  for (size_t i = 0; i < opt_.rpc_kinds.size(); ++i) {
    auto c = std::make_unique<RpcClient>();
    c->index = static_cast<int>(i);
    const WqKind rk = opt_.rpc_kinds[i];
    const WqOptions ro = options_for(rk);
    const auto xk = static_cast<WqKind>(rng.below(5));
    const WqOptions xo = options_for(xk);
    c->rpc_desc = queue_desc(rk, ro);
    c->xprt_desc = queue_desc(xk, xo);
    c->rpc = &engine_->create_workqueue("rpc" + std::to_string(i), rk, ro);
    c->xprt = &engine_->create_workqueue("xprt" + std::to_string(i), xk, xo);
    text += "  client " + std::to_string(i) + ": rpc " + c->rpc_desc + ", xprt " + c->xprt_desc + "\n";
    for (int k = 0; k < opt_.rpc_requests; ++k) {
      auto r = std::make_unique<RpcRequest>();
      RpcRequest* raw = r.get();
      r->client = c.get();
      r->index = k;
      r->global = static_cast<int>(rpc_reqs_.size());
      r->name = "c" + std::to_string(i) + ".r" + std::to_string(k);
      r->salt = rng.next();
      r->transmit = std::make_unique<TWork>([this, raw](TWork&) { on_transmit(*raw); }, "tx." + r->name);
      r->retransmit = std::make_unique<TDelayedWork>([this, raw](TWork&) { on_retransmit(*raw); }, "rt." + r->name);
      r->reply = std::make_unique<TWork>([this, raw](TWork&) { on_reply(*raw); }, "rp." + r->name);
      rpc_reqs_.push_back(raw);
      c->reqs.push_back(std::move(r));
    }
    rpc_clients_.push_back(std::move(c));
  }
  // Creation faults, switched on by the fault thread once the queues exist.
  sim::Rng frng = rng.fork(0xfa11);
  auto phase = [&](int kind) {
    FaultPhase p;
    switch (kind) {
      case 0: p.text = "none"; break;
      case 1: p.faults.fail_probability = 0.05; p.text = "p=0.05"; break;
      case 2: p.faults.fail_probability = 0.3; p.text = "p=0.3"; break;
      case 3: p.faults.fail_always = true; p.text = "fail_always"; break;
      default: p.faults.fail_probability = 1.0; p.text = "p=1"; break;
    }
    p.faults.seed = frng.next();
    return p;
  };
  std::string plan;
  switch (rng.below(4)) {
    case 0: fault_phases_.push_back(phase(0)); plan = "off"; break;
    case 1: fault_phases_.push_back(phase(1 + static_cast<int>(rng.below(2)))); plan = "random"; break;
    case 2: fault_phases_.push_back(phase(3 + static_cast<int>(rng.below(2)))); plan = "permanent failure"; break;
    default: {
      int order[5] = {0, 1, 2, 3, 4};
      for (int k = 4; k > 0; --k) std::swap(order[k], order[rng.below(static_cast<uint64_t>(k) + 1)]);
      for (int k : order) fault_phases_.push_back(phase(k));
      fault_cycle_ = true;
      plan = "phases";
      break;
    }
  }
  std::string phases;
  for (auto& p : fault_phases_) phases += (phases.empty() ? "" : " -> ") + p.text;
  // Threads: a submitter per virtual CPU, the reply thread, the flusher, the
  // hotplug thread (unless the ops workload's caller 0 already does hotplug:
  // two hotplug threads trip the oracle's known C13 false positive), the
  // fault thread.
  auto add = [&](RpcRole role, int cpu, std::string name) {
    auto t = std::make_unique<RpcThread>();
    t->role = role;
    t->cpu = cpu;
    t->name = std::move(name);
    rpc_threads_.push_back(std::move(t));
  };
  for (int c = 0; c < ncpus; ++c) add(RpcRole::submitter, c, "submitter " + std::to_string(c));
  add(RpcRole::reply, 0, "reply thread");
  add(RpcRole::flusher, 0, "flusher");
  const bool hotplug = ncpus > 1 && opt_.hotplug_callers > 0 && !opt_.ops_workload;
  if (hotplug) add(RpcRole::hotplug, 0, "hotplug thread");
  add(RpcRole::faults, 0, "fault thread");
  static const char* const check_names[] = {"off", "report", "error"};
  text += "  " + std::to_string(opt_.rpc_requests) + " requests per client (transmit on xprt; retransmit timer, re-armed up to " +
          std::to_string(opt_.rpc_max_retransmits) + " times per submission, and reply handler on rpc)\n";
  text += "  threads: " + std::to_string(ncpus) + " bursty submitters (one per CPU), reply thread, flusher, " +
          (hotplug ? std::string("hotplug thread, ") : std::string(opt_.ops_workload ? "(hotplug: ops caller 0), " : "(no hotplug), ")) +
          "fault thread\n";
  text += "  DependencyCheck " + std::string(check_names[static_cast<int>(dependency_check_)]) +
          (opt_.dependency_check == "drawn" ? " (drawn from the seed)" : "") + "; creation faults after setup: " + plan +
          " (" + phases + (fault_cycle_ ? ", each 50-300 ms, round and round" : "") + ")\n";
  rpc_setup_text_ = text;
}

void Torture::rpc_finding(const std::string& rule, const std::string& message) {
  std::lock_guard<std::mutex> g(rpc_findings_mu_);
  if (rpc_findings_.size() < 1000) rpc_findings_.push_back({rule, message, {}});
}

void Torture::rpc_error(const Error& e, const std::string& where) {
  count_error(e);
  if (e.code() == Errc::deadlock)
    rpc_finding("C16", where + " was refused with Error(deadlock), but no wait-for cycle exists in the rpc workload "
                               "(waits go only from rpc works to xprt works and retransmits, which never wait): " +
                           e.what());
  else
    rpc_finding("error", where + ": unexpected lazywq::Error(" + std::string(to_string(e.code())) + "): " + e.what());
}

uint64_t Torture::rpc_enter(RpcCount& c, const RpcRequest& r, const char* what) {
  const uint64_t seq = c.began.fetch_add(1, std::memory_order_acq_rel);
  c.running_since.store(now_ns(), std::memory_order_relaxed);
  if (c.inside.fetch_add(1, std::memory_order_acq_rel) != 0 && c.overlaps.fetch_add(1, std::memory_order_relaxed) == 0)
    rpc_finding("C3", std::string(what) + " of request " + r.name +
                          " started while another run of it was still inside its callback (the rpc workload's "
                          "in-callback counter)");
  return seq;
}

void Torture::rpc_leave(RpcCount& c) const {
  c.running_since.store(0, std::memory_order_relaxed);
  c.inside.fetch_sub(1, std::memory_order_acq_rel);
  c.ended.fetch_add(1, std::memory_order_acq_rel);
}

void Torture::spin(uint64_t h, int max_us) const {
  if (max_us <= 0) return;
  const int64_t until = now_ns() + static_cast<int64_t>((h >> 8) % (static_cast<uint64_t>(max_us) + 1)) * 1000;
  while (now_ns() < until) {
  }
}

bool Torture::rpc_queue(TWorkqueue& q, int cpu, TWork& w, RpcCount& c) {
  if (!q.queue_work_on(cpu, w)) return false;
  c.accepted.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool Torture::rpc_arm(RpcRequest& r, int cpu, std::chrono::nanoseconds delay) {
  {
    std::lock_guard<std::mutex> g(r.arm_mu);
    if (!r.client->rpc->queue_delayed_work_on(cpu, *r.retransmit, delay)) return false;
    r.armed_forever.store(delay == std::chrono::nanoseconds::max(), std::memory_order_release);
  }
  r.rt.accepted.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool Torture::rpc_cancel(RpcRequest& r, bool sync) {
  r.rt.cancel_started.fetch_add(1, std::memory_order_acq_rel);
  bool removed = false;
  try {
    removed = sync ? engine_->cancel_delayed_work_sync(*r.retransmit) : engine_->cancel_delayed_work(*r.retransmit);
  } catch (...) {
    r.rt.cancel_false.fetch_add(1, std::memory_order_acq_rel);
    throw;
  }
  (removed ? r.rt.cancelled : r.rt.cancel_false).fetch_add(1, std::memory_order_acq_rel);
  return removed;
}

bool Torture::rpc_flush_checked(TWork& w, RpcCount& c, const RpcRequest* who, const char* what, const RpcRequest& of) {
  // Queueings counted before the call were accepted before it (the count
  // follows the accepting call). Cancels are bounded from above: every
  // cancel that may have removed one has started and not returned false.
  const uint64_t accepted_before = c.accepted.load(std::memory_order_acquire);
  const bool waited = engine_->flush_work(w);
  const uint64_t ended = c.ended.load(std::memory_order_acquire);
  const uint64_t cancel_false = c.cancel_false.load(std::memory_order_acquire);
  const uint64_t cancel_started = c.cancel_started.load(std::memory_order_acquire);
  rpc_flush_checks_.fetch_add(1, std::memory_order_relaxed);
  if (ended + (cancel_started - cancel_false) < accepted_before)
    rpc_finding("C10", (who ? "the reply handler of " + who->name : std::string("the reply thread")) + ": flush_work(" +
                           what + " of " + of.name + ") returned (" + (waited ? "true" : "false") + ") with " +
                           std::to_string(ended) + " runs ended, " + std::to_string(accepted_before) +
                           " queueings accepted before the call and at most " +
                           std::to_string(cancel_started - cancel_false) + " cancelled");
  return waited;
}

void Torture::on_transmit(RpcRequest& r) {
  const uint64_t h = mix(r.salt + 3 * rpc_enter(r.tx, r, "the transmit"));
  spin(h, opt_.max_callback_us);
  rpc_leave(r.tx);
}

// The retransmit timer: sends the request again and re-arms itself, a
// bounded number of times per submission, until the reply came.
void Torture::on_retransmit(RpcRequest& r) {
  const uint64_t h = mix(r.salt + 3 * rpc_enter(r.rt, r, "the retransmit") + 1);
  const int ncpus = opt_.cpus;
  try {
    rpc_queue(*r.client->xprt, static_cast<int>(h % static_cast<uint64_t>(ncpus)), *r.transmit, r.tx);
  } catch (const Error& e) {
    rpc_error(e, "the retransmit of " + r.name + ": queue_work_on(transmit)");
  }
  if (!r.replied.load(std::memory_order_acquire)) {
    int left = r.retransmits_left.load(std::memory_order_relaxed);
    while (left > 0 && !r.retransmits_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
    }
    if (left > 0) {
      const uint64_t max = static_cast<uint64_t>(opt_.max_delay.count());
      try {
        rpc_arm(r, static_cast<int>((h >> 4) % static_cast<uint64_t>(ncpus)),
                std::chrono::nanoseconds(max ? static_cast<int64_t>((h >> 12) % (max + 1)) : 0));
      } catch (const Error& e) {
        rpc_error(e, "the retransmit of " + r.name + ": re-arming itself");
      }
    }
  }
  spin(h >> 3, opt_.max_callback_us / 4);
  rpc_leave(r.rt);
}

// The reply handler: stops the retransmit timer (synchronously: it may be
// running), sometimes waits for a transmit of its client (the xprt queue's
// works never wait: no cycle), and sometimes continues with the next
// request's reply.
void Torture::on_reply(RpcRequest& r) {
  const uint64_t h = mix(r.salt + 3 * rpc_enter(r.rp, r, "the reply handler") + 2);
  RpcClient& c = *r.client;
  r.replied.store(true, std::memory_order_release);
  auto waiting = [&](uint8_t what, int target) {
    r.wait_what.store(what, std::memory_order_relaxed);
    r.wait_target.store(target, std::memory_order_relaxed);
    r.wait_since.store(now_ns(), std::memory_order_release);
  };
  waiting(1, r.global);
  try {
    rpc_cancel(r, true);
  } catch (const Error& e) {
    rpc_error(e, "the reply handler of " + r.name + ": cancel_delayed_work_sync(its retransmit)");
  }
  r.wait_since.store(0, std::memory_order_release);
  if (h & 1) {
    RpcRequest& t = *c.reqs[(h >> 1) % c.reqs.size()];
    waiting(2, t.global);
    try {
      rpc_flush_checked(*t.transmit, t.tx, &r, "the transmit", t);
    } catch (const Error& e) {
      rpc_error(e, "the reply handler of " + r.name + ": flush_work(the transmit of " + t.name + ")");
    }
    r.wait_since.store(0, std::memory_order_release);
  }
  if ((h >> 8) % 10 < 3 && static_cast<size_t>(r.index) + 1 < c.reqs.size()) {  // continuation
    RpcRequest& next = *c.reqs[static_cast<size_t>(r.index) + 1];
    try {
      rpc_queue(*c.rpc, static_cast<int>((h >> 16) % static_cast<uint64_t>(opt_.cpus)), *next.reply, next.rp);
    } catch (const Error& e) {
      rpc_error(e, "the reply handler of " + r.name + ": queueing the reply of " + next.name);
    }
  }
  spin(h >> 5, opt_.max_callback_us / 2);
  rpc_leave(r.rp);
}

void Torture::rpc_thread_main(size_t index, sim::Rng rng) {
  RpcThread& me = *rpc_threads_[index];
  const uint64_t ncpus = static_cast<uint64_t>(opt_.cpus);
  const size_t nreq = rpc_reqs_.size();
  const uint64_t max_delay = static_cast<uint64_t>(opt_.max_delay.count());
  // One operation, tracked for the watchdog and counted.
  auto op = [&](RpcOp o, int target, auto&& fn) {
    const size_t i = static_cast<size_t>(o);
    me.op.store(static_cast<uint8_t>(o), std::memory_order_relaxed);
    me.target.store(target, std::memory_order_relaxed);
    me.op_started_ns.store(now_ns(), std::memory_order_relaxed);
    me.issued[i].fetch_add(1, std::memory_order_relaxed);
    try {
      (fn() ? me.returned_true : me.returned_false)[i].fetch_add(1, std::memory_order_relaxed);
    } catch (const Error& e) {
      me.threw[i].fetch_add(1, std::memory_order_relaxed);
      rpc_error(e, "the rpc " + me.name + ": " + rpc_op_name(o) + " (" + rpc_target(me) + ")");
    }
    me.op_started_ns.store(0, std::memory_order_relaxed);
  };
  // Sleeps, but wakes up for the end of the run.
  auto nap = [&](int64_t ns) {
    const int64_t until = now_ns() + ns;
    for (int64_t now = now_ns(); now < until && !stop_.load(std::memory_order_acquire); now = now_ns())
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(until - now, 2'000'000)));
  };
  size_t phase = 0;
  if (me.role == RpcRole::faults) {
    op(RpcOp::faults, 0, [&] {
      engine_->set_spawn_faults(fault_phases_[0].faults);
      return true;
    });
    if (!fault_cycle_) {
      me.done.store(true, std::memory_order_release);
      return;
    }
  }
  while (!stop_.load(std::memory_order_acquire)) {
    if (paused_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      continue;
    }
    // Every draw up front, whatever the results: the seed fixes the stream.
    switch (me.role) {
      case RpcRole::submitter: {
        const uint64_t burst = 1 + rng.below(8);
        for (uint64_t b = 0; b < burst; ++b) {
          const uint64_t rr = rng.next(), rd = rng.next();
          RpcRequest& r = *rpc_reqs_[rr % nreq];
          const bool never_fires =
              opt_.rpc_never_fire_one_in > 0 && (rd >> 40) % static_cast<uint64_t>(opt_.rpc_never_fire_one_in) == 0;
          const auto delay = never_fires ? std::chrono::nanoseconds::max()
                                         : std::chrono::nanoseconds(max_delay ? static_cast<int64_t>(rd % (max_delay + 1)) : 0);
          r.replied.store(false, std::memory_order_release);
          r.retransmits_left.store(opt_.rpc_max_retransmits, std::memory_order_relaxed);
          op(RpcOp::transmit, r.global, [&] { return rpc_queue(*r.client->xprt, me.cpu, *r.transmit, r.tx); });
          op(RpcOp::arm, r.global, [&] { return rpc_arm(r, me.cpu, delay); });
        }
        // Bursty: mostly a short gap, now and then a long one (workers idle).
        const uint64_t think = rng.next();
        nap((think & 3) == 0 ? 1'000'000 + static_cast<int64_t>((think >> 8) % 3'000'000)
                             : 50'000 + static_cast<int64_t>((think >> 8) % 450'000));
        break;
      }
      case RpcRole::reply: {
        const uint64_t rr = rng.next(), rs = rng.next(), rc = rng.next(), rf = rng.next(), think = rng.next();
        RpcRequest& r = *rpc_reqs_[rr % nreq];
        const bool sync = rs & 1;
        op(sync ? RpcOp::cancel_sync : RpcOp::cancel, r.global, [&] { return rpc_cancel(r, sync); });
        op(RpcOp::reply, r.global,
           [&] { return rpc_queue(*r.client->rpc, static_cast<int>(rc % ncpus), *r.reply, r.rp); });
        if (rf % 5 == 0) {
          RpcRequest& f = *rpc_reqs_[(rf >> 8) % nreq];
          op(RpcOp::flush_reply, f.global, [&] { return rpc_flush_checked(*f.reply, f.rp, nullptr, "the reply handler", f); });
        }
        nap(static_cast<int64_t>((think >> 8) % 200'000));
        break;
      }
      case RpcRole::flusher: {
        const uint64_t rw = rng.next(), rq = rng.next();
        nap(1'000'000 + static_cast<int64_t>(rw % 4'000'000));
        if (stop_.load(std::memory_order_acquire)) break;
        RpcClient& c = *rpc_clients_[rq % rpc_clients_.size()];
        TWorkqueue& q = (rq >> 8) & 1 ? *c.rpc : *c.xprt;
        if ((rq >> 9) % 5 == 0)
          op(RpcOp::drain, c.index, [&] {
            q.drain();  // refuses outside queueings meanwhile: they return false and are not counted
            return true;
          });
        else
          op(RpcOp::flush_workqueue, c.index, [&] { return q.flush(); });
        break;
      }
      case RpcRole::hotplug: {
        const uint64_t rw = rng.next(), rc = rng.next();
        nap(2'000'000 + static_cast<int64_t>(rw % 8'000'000));
        if (stop_.load(std::memory_order_acquire)) break;
        const int cpu = 1 + static_cast<int>(rc % (ncpus - 1));
        if ((rc >> 16) & 1)
          op(RpcOp::offline, cpu, [&] { return engine_->cpu_offline(cpu); });
        else
          op(RpcOp::online, cpu, [&] { return engine_->cpu_online(cpu); });
        break;
      }
      case RpcRole::faults: {
        nap(50'000'000 + static_cast<int64_t>(rng.below(250'000'000)));
        if (stop_.load(std::memory_order_acquire)) break;
        phase = (phase + 1) % fault_phases_.size();
        op(RpcOp::faults, static_cast<int>(phase), [&] {
          engine_->set_spawn_faults(fault_phases_[phase].faults);
          return true;
        });
        break;
      }
    }
  }
  me.done.store(true, std::memory_order_release);
}

std::string Torture::rpc_target(const RpcThread& t) const {
  const int target = t.target.load(std::memory_order_relaxed);
  const auto op = static_cast<RpcOp>(t.op.load(std::memory_order_relaxed));
  auto client = [&](const RpcClient& c) { return "rpc " + c.rpc_desc + ", xprt " + c.xprt_desc; };
  switch (op) {
    case RpcOp::flush_workqueue:
    case RpcOp::drain:
      if (target >= 0 && static_cast<size_t>(target) < rpc_clients_.size())
        return "a queue of client " + std::to_string(target) + ": " + client(*rpc_clients_[static_cast<size_t>(target)]);
      return "?";
    case RpcOp::offline:
    case RpcOp::online: return "CPU " + std::to_string(target);
    case RpcOp::faults:
      if (target >= 0 && static_cast<size_t>(target) < fault_phases_.size())
        return "phase " + fault_phases_[static_cast<size_t>(target)].text;
      return "?";
    default:
      if (target >= 0 && static_cast<size_t>(target) < rpc_reqs_.size()) {
        const RpcRequest& r = *rpc_reqs_[static_cast<size_t>(target)];
        return "request " + r.name + " (" + client(*r.client) + ")";
      }
      return "?";
  }
}

std::string Torture::rpc_stuck() const {
  const int64_t now = now_ns();
  const int64_t limit = opt_.hang_timeout.count();
  std::string out;
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += "; ";
    out += s;
  };
  for (auto& t : rpc_threads_) {
    const int64_t started = t->op_started_ns.load(std::memory_order_relaxed);
    if (started != 0 && now - started > limit)
      add("the rpc " + t->name + " has been inside " + rpc_op_name(static_cast<RpcOp>(t->op.load(std::memory_order_relaxed))) +
          " of " + rpc_target(*t) + " for " + fmt_duration(std::chrono::nanoseconds(now - started)));
  }
  for (const RpcRequest* r : rpc_reqs_) {
    const int64_t since = r->wait_since.load(std::memory_order_acquire);
    if (since == 0 || now - since <= limit) continue;
    const int target = r->wait_target.load(std::memory_order_relaxed);
    const RpcRequest& of = *rpc_reqs_[static_cast<size_t>(std::max(target, 0))];
    add("the reply handler of " + r->name + " (rpc " + r->client->rpc_desc + ") has been inside " +
        (r->wait_what.load(std::memory_order_relaxed) == 1 ? "cancel_delayed_work_sync(its retransmit)"
                                                           : "flush_work(the transmit of " + of.name + ", xprt " +
                                                                 of.client->xprt_desc + ")") +
        " for " + fmt_duration(std::chrono::nanoseconds(now - since)));
  }
  for (const RpcRequest* r : rpc_reqs_) {
    const std::pair<const char*, const RpcCount*> all[] = {{"transmit", &r->tx}, {"retransmit", &r->rt}, {"reply handler", &r->rp}};
    for (auto [what, c] : all) {
      const int64_t since = c->running_since.load(std::memory_order_relaxed);
      if (since != 0 && now - since > limit)
        add(std::string("the ") + what + " of " + r->name + " (rpc " + r->client->rpc_desc + ", xprt " +
            r->client->xprt_desc + ") has been inside its callback for " +
            fmt_duration(std::chrono::nanoseconds(now - since)));
    }
  }
  if (!out.empty()) out += " (hang timeout " + fmt_duration(opt_.hang_timeout) + ")";
  return out;
}

// After every queue is flushed and destroyed.
void Torture::rpc_final_checks() {
  for (const RpcRequest* r : rpc_reqs_) {
    const std::pair<const char*, const RpcCount*> all[] = {{"transmit", &r->tx}, {"retransmit", &r->rt}, {"reply handler", &r->rp}};
    for (auto [what, c] : all) {
      const uint64_t began = c->began.load(), ended = c->ended.load(), accepted = c->accepted.load(),
                     cancelled = c->cancelled.load();
      const std::string w = std::string("the ") + what + " of request " + r->name + " (rpc " + r->client->rpc_desc +
                            ", xprt " + r->client->xprt_desc + ")";
      if (ended != began)
        rpc_finding("C14", w + " still running after its queue was destroyed (" + std::to_string(began) + " began, " +
                               std::to_string(ended) + " ended)");
      if (began + cancelled != accepted)
        rpc_finding(began + cancelled > accepted ? "C1" : "C15",
                    w + " ran " + std::to_string(began) + " times for " + std::to_string(accepted) +
                        " accepted queueings and " + std::to_string(cancelled) +
                        " successful cancels (runs must equal accepted - cancelled)");
    }
  }
  const auto cycles = engine_->dependency_cycles();
  if (!cycles.empty())
    rpc_finding("C16", std::to_string(cycles.size()) +
                           " wait-for cycle(s) reported, but none exists (waits go only from rpc works to xprt works "
                           "and retransmits, which never wait); the first: " +
                           cycles[0].describe());
}

std::string Torture::stuck_caller() const {
  const int64_t now = now_ns();
  for (size_t i = 0; i < callers_.size(); ++i) {
    const int64_t started = callers_[i]->op_started_ns.load(std::memory_order_relaxed);
    if (started != 0 && now - started > opt_.hang_timeout.count())
      return "caller " + std::to_string(i) + " has been inside " +
             op_name(static_cast<Op>(callers_[i]->op.load(std::memory_order_relaxed))) + " for " +
             fmt_duration(std::chrono::nanoseconds(now - started)) + " (hang timeout " + fmt_duration(opt_.hang_timeout) + ")";
  }
  return rpc_stuck();
}

std::string Torture::pending_work() const {
  for (const auto* list : {&works_, &edge_works_})
    for (auto& tw : *list)
      if (tw->work->pending()) return "work " + std::to_string(tw->work->id()) + " ('" + tw->work->name() + "')";
  for (const RpcRequest* r : rpc_reqs_)
    for (const TWork* w : {r->transmit.get(), static_cast<TWork*>(r->retransmit.get()), r->reply.get()}) {
      // A retransmit armed with Duration::max waits for a cancel, a flush or
      // its queue's destruction: pending, not stranded.
      if (w == r->retransmit.get() && r->armed_forever.load(std::memory_order_acquire)) continue;
      if (w->pending()) return "work " + std::to_string(w->id()) + " ('" + w->name() + "')";
    }
  return {};
}

// Reads only atomics and the event count (a leaf lock), never a queue lock:
// the monitor must keep running when an engine thread is stuck holding one.
void Torture::progress_line(double elapsed, bool final_line) {
  uint64_t ops = 0, runs = 0;
  for (auto& c : callers_)
    for (auto& n : c->issued) ops += n.load(std::memory_order_relaxed);
  for (auto& tw : works_) runs += tw->runs.load(std::memory_order_relaxed);
  for (auto& t : rpc_threads_)
    for (auto& n : t->issued) ops += n.load(std::memory_order_relaxed);
  for (const RpcRequest* r : rpc_reqs_)
    runs += r->tx.began.load(std::memory_order_relaxed) + r->rt.began.load(std::memory_order_relaxed) +
            r->rp.began.load(std::memory_order_relaxed);
  const WindowCoverage cov = P::coverage();
  std::fprintf(stderr, "\r  %5.1f/%.0f s  ops %-10" PRIu64 " events %-9" PRIu64 " runs %-9" PRIu64
                       " threads created %-6" PRIu64 " idle exits %-6" PRIu64 " %s",
               elapsed, std::chrono::duration<double>(opt_.duration).count(), ops, engine_->event_count(), runs,
               cov.entries[static_cast<size_t>(RaceWindow::spawn_unlocked)],
               cov.entries[static_cast<size_t>(RaceWindow::idle_exit_decision)],
               paused_.load(std::memory_order_relaxed) ? "[stutter]" : "         ");
  if (final_line) std::fprintf(stderr, "\n");
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

Report Torture::collect(double op_seconds, double total_seconds, const Stats* stats) {
  Report r;
  for (auto& c : callers_)
    for (size_t i = 0; i < kOps; ++i) {
      r.issued[i] += c->issued[i].load(std::memory_order_relaxed);
      r.returned_true[i] += c->returned_true[i].load(std::memory_order_relaxed);
      r.returned_false[i] += c->returned_false[i].load(std::memory_order_relaxed);
      r.threw[i] += c->threw[i].load(std::memory_order_relaxed);
    }
  for (size_t e = 0; e < kErrcs; ++e) r.errors[e] = errors_[e].load(std::memory_order_relaxed);
  r.stats = stats ? *stats : engine_->stats();
  r.coverage = P::coverage();
  r.seconds = op_seconds;
  r.total_seconds = total_seconds;
  r.event_cap_reached = event_cap_reached_;
  r.c3_overlaps = c3_overlaps_.load(std::memory_order_relaxed);
  r.stutters = stutters_;
  r.stalled_stutters = stalled_stutters_;
  r.requeues = requeues_.load(std::memory_order_relaxed);
  r.rpc = opt_.rpc_workload;
  for (auto& t : rpc_threads_)
    for (size_t i = 0; i < kRpcOps; ++i) {
      r.rpc_issued[i] += t->issued[i].load(std::memory_order_relaxed);
      r.rpc_true[i] += t->returned_true[i].load(std::memory_order_relaxed);
      r.rpc_false[i] += t->returned_false[i].load(std::memory_order_relaxed);
      r.rpc_threw[i] += t->threw[i].load(std::memory_order_relaxed);
    }
  for (const RpcRequest* q : rpc_reqs_)
    r.rpc_runs += q->tx.began.load(std::memory_order_relaxed) + q->rt.began.load(std::memory_order_relaxed) +
                  q->rp.began.load(std::memory_order_relaxed);
  r.rpc_flush_checks = rpc_flush_checks_.load(std::memory_order_relaxed);
  r.rpc_setup = rpc_setup_text_;
  {
    std::lock_guard<std::mutex> g(rpc_findings_mu_);
    r.self_findings = rpc_findings_;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Verdict and output

void write_events(const std::string& path, const std::vector<Event>& events) {
  if (path.empty()) return;
  std::ofstream f(path);
  if (!f) {
    std::fprintf(stderr, "lazywq-torture: cannot write %s\n", path.c_str());
    return;
  }
  for (const Event& e : events) f << format_event(e) << '\n';
}

void judge(const Options& opt, const std::vector<Event>& events, Report& r) {
  std::vector<Finding> out;
  if (r.hang) out.push_back({"C15", "hang: " + r.hang_what, {}});
  for (auto& f : r.self_findings) out.push_back(f);
  if (r.c3_overlaps) {
    out.push_back({"C3", "a work's callback started while another run of it was still inside its callback (" +
                             std::to_string(r.c3_overlaps) + " time(s); seen by the torture's in-callback counter)",
                   {}});
  }
  for (size_t e = 0; e < kErrcs; ++e)
    if (r.errors[e] && !expected_error(static_cast<Errc>(e)))
      out.push_back({"error", std::to_string(r.errors[e]) + " unexpected lazywq::Error(" +
                                  std::string(to_string(static_cast<Errc>(e))) + ")",
                     {}});
  check::OracleOptions oo;
  oo.ncpus = opt.cpus;
  oo.core_cpu = 0;
  oo.quiescent_end = true;
  oo.idle_timeout_ns = opt.idle_timeout.count();  // C8's lower bound: the engine's clock is the events'
  std::vector<check::Violation> vs = check::check_events(events, oo);
  // As the simulator's judge: in a hung run, a work that never ran with no
  // more specific cause is a liveness failure (C15) — already said above.
  size_t explained = 0;
  for (auto& v : vs) {
    Finding f{v.rule, v.message, {}};
    // explain() scans the stream: only the first few get their events.
    if (explained < 5) {
      f.explanation = check::explain(events, v, 40);
      ++explained;
    }
    out.push_back(std::move(f));
  }
  for (auto& f : out) ++r.findings_by_rule[f.rule];
  r.findings = std::move(out);
  for (const Event& e : events) ++r.event_types[std::string(to_string(e.type))];
  r.events = events.size();

  bool expected_found = false;
  for (auto& f : r.findings)
    if (opt.expect == "any" || f.rule == opt.expect) expected_found = true;
  if (!opt.expect.empty()) {
    r.exit_code = expected_found ? kExitClean : kExitViolation;
    r.verdict = expected_found ? "expected violation found" : "expected violation NOT found";
  } else {
    r.exit_code = r.findings.empty() ? kExitClean : kExitViolation;
    r.verdict = r.findings.empty() ? "clean" : "violation";
  }
}

std::string kinds_summary(const std::vector<WqKind>& kinds) {
  std::map<std::string, int> n;
  std::vector<std::string> order;
  for (WqKind k : kinds) {
    std::string s(to_string(k));
    if (!n[s]++) order.push_back(s);
  }
  std::string out;
  for (auto& s : order) out += (out.empty() ? "" : ", ") + s + " x" + std::to_string(n[s]);
  return out;
}

void print_header(const Options& o, const std::string& rpc_setup) {
  if (!o.ops_workload) {
    std::printf("lazywq-torture: workload rpc, seed %" PRIu64 "%s, duration %s, %d virtual CPUs, %zu rpc clients\n", o.seed,
                (!o.seed_text.empty() && o.seed_text != std::to_string(o.seed)) ? (" (from " + o.seed_text + ")").c_str() : "",
                fmt_duration(o.duration).c_str(), o.cpus, o.rpc_kinds.size());
    std::printf("  idle timeout %s, creation cooldown %s%s, stutter %s; perturbation p=%.3g; callbacks 0..%d us; timers "
                "0..%s (1 in %d arms: Duration::max); max events %" PRIu64 "%s\n",
                fmt_duration(o.idle_timeout).c_str(), fmt_duration(o.spawn_cooldown).c_str(),
                o.durations_drawn.empty() ? "" : (" (drawn: " + o.durations_drawn + ")").c_str(),
                o.stutter_every.count() ? ("every " + fmt_duration(o.stutter_every) + " for " + fmt_duration(o.stutter_pause)).c_str()
                                        : "off",
                o.perturb, o.max_callback_us, fmt_duration(o.max_delay).c_str(), o.rpc_never_fire_one_in, o.max_events,
                o.bug != PlantedBug::none ? (", PLANTED BUG " + std::string(to_string(o.bug))).c_str() : "");
  } else {
    std::printf("lazywq-torture: seed %" PRIu64 "%s, duration %s, %d callers, %d virtual CPUs, queues %s\n", o.seed,
                (!o.seed_text.empty() && o.seed_text != std::to_string(o.seed)) ? (" (from " + o.seed_text + ")").c_str() : "",
                fmt_duration(o.duration).c_str(), o.callers, o.cpus, kinds_summary(o.kinds).c_str());
    std::printf("  %d works + %d delayed works; idle timeout %s, creation cooldown %s%s, creation failure p=%.3g; "
                "stutter %s; perturbation p=%.3g; callbacks 0..%d us, up to %d self-requeues; max events %" PRIu64 "%s\n",
                o.works, o.delayed_works, fmt_duration(o.idle_timeout).c_str(), fmt_duration(o.spawn_cooldown).c_str(),
                o.durations_drawn.empty() ? "" : (" (drawn: " + o.durations_drawn + ")").c_str(), o.fail_p,
                o.stutter_every.count() ? ("every " + fmt_duration(o.stutter_every) + " for " + fmt_duration(o.stutter_pause)).c_str()
                                        : "off",
                o.perturb, o.max_callback_us, o.max_requeue, o.max_events,
                o.bug != PlantedBug::none ? (", PLANTED BUG " + std::string(to_string(o.bug))).c_str() : "");
    unsigned total = 0;
    for (unsigned w : o.weights) total += w;
    std::printf("operation weights (--weights name=N,...); offline/online by %d of the %d callers (--hotplug-callers):\n",
                std::min(o.hotplug_callers, o.callers), o.callers);
    for (size_t i = 0; i < kOps; ++i)
      std::printf("  %-20s %6u  %5.1f%%  %s\n", kOpInfo[i].name, o.weights[i], 100.0 * o.weights[i] / total, kOpInfo[i].what);
  }
  if (o.rpc_workload)
    std::printf("rpc workload (--workload %s; sim/scenario_rpc.cpp on real threads), checked on top of the oracle: runs == "
                "accepted - cancelled (C1/C15), no self-concurrency (C3), flush_work results (C10), no wait-for cycle (C16):\n%s",
                o.workload.c_str(), rpc_setup.c_str());
  std::printf("note: real-thread interleavings are not replayable; the seed fixes each caller's operation stream only.\n"
              "  same operation stream: %s\n"
              "  replayable search on the simulator: wqcheck explore --seeds %" PRIu64 "+1000 (and wqcheck replay)\n",
              o.rerun_command.c_str(), o.seed);
  std::fflush(stdout);
}

void print_report(const Options& o, const Report& r) {
  if (r.rpc) {
    std::printf("\nrpc operations             issued     true    false   Error\n");
    uint64_t total = 0;
    for (size_t i = 0; i < kRpcOps; ++i) {
      total += r.rpc_issued[i];
      std::printf("  %-20s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %7" PRIu64 "\n", kRpcOpInfo[i].name, r.rpc_issued[i],
                  r.rpc_true[i], r.rpc_false[i], r.rpc_threw[i]);
    }
    std::printf("rpc: %" PRIu64 " operations (%.0f/s), %" PRIu64 " callbacks run (%.0f/s), %" PRIu64
                " flush_work results checked\n",
                total, r.seconds > 0 ? static_cast<double>(total) / r.seconds : 0.0, r.rpc_runs,
                r.total_seconds > 0 ? static_cast<double>(r.rpc_runs) / r.total_seconds : 0.0, r.rpc_flush_checks);
  }
  if (o.ops_workload) std::printf("\noperations                 issued     true    false   Error\n");
  for (size_t i = 0; i < kOps && o.ops_workload; ++i)
    std::printf("  %-20s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %7" PRIu64 "\n", kOpInfo[i].name, r.issued[i],
                r.returned_true[i], r.returned_false[i], r.threw[i]);
  auto et = [&](const char* n) {
    auto it = r.event_types.find(n);
    return it == r.event_types.end() ? uint64_t{0} : it->second;
  };
  std::printf("queueings: %" PRIu64 " accepted, %" PRIu64 " timers armed (%" PRIu64 " fired), %" PRIu64
              " busy (PENDING already set), %" PRIu64 " rejected (queue draining), %" PRIu64 " dequeued by cancel/mod; "
              "%" PRIu64 " self-requeues tried\n",
              et("queue"), et("timer_arm"), et("timer_fire"), et("queue_busy"), et("queue_rejected"), et("dequeue"), r.requeues);
  std::printf("lazywq::Error by code:");
  bool any_err = false;
  for (size_t e = 0; e < kErrcs; ++e)
    if (r.errors[e]) {
      std::printf(" %s %" PRIu64 " (%s)", std::string(to_string(static_cast<Errc>(e))).c_str(), r.errors[e],
                  expected_error(static_cast<Errc>(e)) ? "expected" : "UNEXPECTED");
      any_err = true;
    }
  std::printf("%s\n", any_err ? "" : " none");
  const Stats& s = r.stats;
  std::printf("engine: %" PRIu64 " works run, threads %" PRIu64 " created / %" PRIu64 " exited (%d live), %" PRIu64
              " creation failures, %" PRIu64 " fallbacks, %" PRIu64 " migrations, %" PRIu64 " idle exits, %" PRIu64
              " callback exceptions, %zu queues created\n",
              s.works_run, s.threads_created, s.threads_exited, s.live_threads, s.spawn_failures, s.fallbacks,
              s.migrations, s.idle_exits, s.callback_exceptions, s.queues.size());
  std::printf("run: operations for %.2f s (%" PRIu64 " stutter pauses, %" PRIu64
              " extended: work still pending at the end)%s, %.2f s in all; %" PRIu64 " events (%.0f events/s); peak RSS %.0f MB\n",
              r.seconds, r.stutters, r.stalled_stutters, r.event_cap_reached ? ", stopped early: --max-events reached" : "", r.total_seconds,
              r.events, r.total_seconds > 0 ? static_cast<double>(r.events) / r.total_seconds : 0.0, r.peak_rss_kb / 1024.0);

  std::printf("\nrace window          entries  hits(another thread inside)  top partner windows\n");
  std::vector<std::string> never;
  for (size_t a = 0; a < kRaceWindows; ++a) {
    std::vector<std::pair<uint64_t, size_t>> partners;
    for (size_t b = 0; b < kRaceWindows; ++b)
      if (r.coverage.pairs[a][b]) partners.emplace_back(r.coverage.pairs[a][b], b);
    std::sort(partners.rbegin(), partners.rend());
    std::string top;
    for (size_t k = 0; k < partners.size() && k < 3; ++k)
      top += (top.empty() ? "" : ", ") + std::string(to_string(static_cast<RaceWindow>(partners[k].second))) + " " +
             std::to_string(partners[k].first);
    const std::string name(to_string(static_cast<RaceWindow>(a)));
    if (!r.coverage.hits[a]) never.push_back(name);
    std::printf("  %-18s %9" PRIu64 " %12" PRIu64 "%s  %s\n", name.c_str(), r.coverage.entries[a], r.coverage.hits[a],
                r.coverage.hits[a] ? "" : " NEVER HIT", top.c_str());
  }
  std::string nv;
  for (auto& n : never) nv += (nv.empty() ? "" : ", ") + n;
  std::printf("windows never hit: %s\n", never.empty() ? "none" : nv.c_str());

  std::printf("\noracle and self-checks: %zu finding(s)", r.findings.size());
  for (auto& [rule, n] : r.findings_by_rule) std::printf(" %s x%" PRIu64, rule.c_str(), n);
  std::printf("\n");
  for (size_t i = 0; i < r.findings.size() && i < 10; ++i) {
    std::printf("FAIL %s: %s\n", r.findings[i].rule.c_str(), r.findings[i].message.c_str());
    if (i == 0 && !r.findings[i].explanation.empty())
      std::printf("  events (> marks the violating ones):\n%s", r.findings[i].explanation.c_str());
  }
  if (r.findings.size() > 10) std::printf("... and %zu more (--json has them all)\n", r.findings.size() - 10);
  if (!r.findings.empty())
    std::printf("same operation stream: %s\n"
                "real threads do not replay a schedule; for a replayable search: wqcheck explore --seeds %" PRIu64
                "+5000%s\n",
                o.rerun_command.c_str(), o.seed,
                o.bug != PlantedBug::none ? (" --planted " + std::string(to_string(o.bug))).c_str() : "");
  std::printf("\n%s: %s%s\n", r.exit_code == 0 ? "PASS" : "FAIL", r.verdict.c_str(),
              o.expect.empty() ? "" : (" (--expect " + o.expect + ")").c_str());
  std::fflush(stdout);
}

json report_json(const Options& o, const Report& r) {
  json j;
  j["schema_version"] = 2;  // 2: seed as a string (jq rounds numbers past 2^53), version and commit
  j["tool"] = "lazywq-torture";
  j["lazywq_version"] = LAZYWQ_VERSION_STRING;
  j["commit"] = lazywq::tools::build_commit();
  j["seed"] = std::to_string(o.seed);
  j["seed_text"] = o.seed_text;
  j["duration_s"] = std::chrono::duration<double>(o.duration).count();
  j["elapsed_s"] = r.total_seconds;
  j["operation_s"] = r.seconds;
  j["config"] = {{"callers", o.callers},
                 {"hotplug_callers", o.hotplug_callers},
                 {"cpus", o.cpus},
                 {"works", o.works},
                 {"delayed_works", o.delayed_works},
                 {"idle_timeout_ns", o.idle_timeout.count()},
                 {"durations_drawn", o.durations_drawn},
                 {"rpc_never_fire_one_in", o.rpc_never_fire_one_in},
                 {"spawn_cooldown_ns", o.spawn_cooldown.count()},
                 {"stutter_every_ns", o.stutter_every.count()},
                 {"stutter_pause_ns", o.stutter_pause.count()},
                 {"max_delay_ns", o.max_delay.count()},
                 {"fail_p", o.fail_p},
                 {"perturb", o.perturb},
                 {"max_callback_us", o.max_callback_us},
                 {"max_requeue", o.max_requeue},
                 {"max_events", o.max_events},
                 {"hang_timeout_ns", o.hang_timeout.count()}};
  json kinds = json::array();
  for (WqKind k : o.kinds) kinds.push_back(std::string(to_string(k)));
  j["config"]["queues"] = kinds;
  j["workload"] = o.workload;
  if (r.rpc) {
    json rops = json::object();
    uint64_t total = 0;
    for (size_t i = 0; i < kRpcOps; ++i) {
      total += r.rpc_issued[i];
      rops[kRpcOpInfo[i].name] = {{"issued", r.rpc_issued[i]}, {"true", r.rpc_true[i]}, {"false", r.rpc_false[i]},
                                  {"error", r.rpc_threw[i]}};
    }
    json rk = json::array();
    for (WqKind k : o.rpc_kinds) rk.push_back(std::string(to_string(k)));
    j["rpc"] = {{"operations", rops},
                {"operations_total", total},
                {"runs", r.rpc_runs},
                {"flush_checks", r.rpc_flush_checks},
                {"clients", rk},
                {"requests_per_client", o.rpc_requests},
                {"max_retransmits", o.rpc_max_retransmits},
                {"setup", r.rpc_setup}};
  }
  j["planted_bug"] = std::string(to_string(o.bug));
  j["expect"] = o.expect;
  j["rerun"] = o.rerun_command;
  json w = json::object(), ops = json::object();
  for (size_t i = 0; i < kOps; ++i) {
    w[kOpInfo[i].name] = o.weights[i];
    ops[kOpInfo[i].name] = {{"issued", r.issued[i]}, {"true", r.returned_true[i]}, {"false", r.returned_false[i]},
                            {"error", r.threw[i]}};
  }
  j["weights"] = w;
  j["operations"] = ops;
  json errs = json::object();
  for (size_t e = 0; e < kErrcs; ++e)
    if (r.errors[e])
      errs[std::string(to_string(static_cast<Errc>(e)))] = {{"count", r.errors[e]},
                                                             {"expected", expected_error(static_cast<Errc>(e))}};
  j["errors"] = errs;
  j["event_types"] = r.event_types;
  const Stats& s = r.stats;
  j["stats"] = {{"works_run", s.works_run},
                {"threads_created", s.threads_created},
                {"threads_exited", s.threads_exited},
                {"live_threads", s.live_threads},
                {"spawn_failures", s.spawn_failures},
                {"fallbacks", s.fallbacks},
                {"migrations", s.migrations},
                {"idle_exits", s.idle_exits},
                {"callback_exceptions", s.callback_exceptions},
                {"queues_created", s.queues.size()}};
  j["events"] = {{"count", r.events},
                 {"per_second", r.total_seconds > 0 ? static_cast<double>(r.events) / r.total_seconds : 0.0},
                 {"cap_reached", r.event_cap_reached}};
  j["stutters"] = r.stutters;
  j["stutters_extended"] = r.stalled_stutters;
  j["self_requeues"] = r.requeues;
  j["peak_rss_kb"] = r.peak_rss_kb;
  j["hang"] = r.hang;
  if (r.hang) j["hang_what"] = r.hang_what;
  json fs = json::array();
  for (auto& f : r.findings) fs.push_back({{"rule", f.rule}, {"message", f.message}, {"explanation", f.explanation}});
  j["violations"] = fs;
  j["violations_by_rule"] = r.findings_by_rule;
  json hits = json::object(), entries = json::object(), pairs = json::object(), never = json::array();
  for (size_t a = 0; a < kRaceWindows; ++a) {
    const std::string name(to_string(static_cast<RaceWindow>(a)));
    hits[name] = r.coverage.hits[a];
    entries[name] = r.coverage.entries[a];
    json row = json::object();
    for (size_t b = 0; b < kRaceWindows; ++b)
      if (r.coverage.pairs[a][b]) row[std::string(to_string(static_cast<RaceWindow>(b)))] = r.coverage.pairs[a][b];
    pairs[name] = row;
    if (!r.coverage.hits[a]) never.push_back(name);
  }
  j["window_hits"] = hits;
  j["window_entries"] = entries;
  j["window_pairs"] = pairs;
  j["never_hit"] = never;
  j["verdict"] = r.verdict;
  j["exit_code"] = r.exit_code;
  return j;
}

// False when the report could not be written (the caller then exits
// non-zero: a lost report is never a clean run).
// --json -: the process's original stdout, kept for the JSON alone while
// stdout itself goes to stderr (main), so `... --json - | jq` parses.
FILE* g_json_stdout = nullptr;

bool write_json(const std::string& path, const json& j) {
  if (path.empty()) return true;
  if (path == "-") {
    FILE* out = g_json_stdout ? g_json_stdout : stdout;
    std::fprintf(out, "%s\n", j.dump(2).c_str());
    std::fflush(out);
    return true;
  }
  std::ofstream f(path);
  if (f) f << j.dump(2) << "\n";
  if (!f) {
    std::fprintf(stderr, "lazywq-torture: cannot write the JSON report to %s\n", path.c_str());
    return false;
  }
  return true;
}

void Torture::die_hung(const std::string& what, double op_seconds, double total_seconds) {
  // The engine cannot be torn down (a thread is stuck inside it): judge the
  // stream recorded so far, report, and leave without destructors.
  stop_.store(true, std::memory_order_release);
  // Engine::stats() takes every queue's lock, and a stuck thread may hold
  // one: ask from a helper thread and give up after a while (the process
  // exits below either way; the helper owns what it touches).
  struct StatsProbe {
    std::atomic<bool> done{false};
    Stats stats;
  };
  auto probe = std::make_shared<StatsProbe>();
  std::thread([probe, engine = engine_.get()] {
    probe->stats = engine->stats();
    probe->done.store(true, std::memory_order_release);
  }).detach();
  for (int i = 0; i < 400 && !probe->done.load(std::memory_order_acquire); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool have_stats = probe->done.load(std::memory_order_acquire);
  Report r = collect(op_seconds, total_seconds, have_stats ? &probe->stats : nullptr);
  r.hang = true;
  if (!have_stats) std::printf("(engine statistics unavailable: stats() blocked on a queue lock held by a stuck thread)\n");
  r.hang_what = what;
  const std::vector<Event> events = engine_->events();
  judge(opt_, events, r);
  write_events(opt_.events_path, events);
  r.peak_rss_kb = peak_rss_kb();
  print_report(opt_, r);
  write_json(opt_.json_path, report_json(opt_, r));
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(r.exit_code);
}

Report Torture::run() {
  setup();
  print_header(opt_, rpc_setup_text_);
  start_ = Clock::now();
  const bool tty = !opt_.quiet && isatty(2);
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start_).count(); };

  sim::Rng root(opt_.seed);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < callers_.size(); ++i) threads.emplace_back(&Torture::caller_main, this, i, root.fork(1 + i));
  for (size_t i = 0; i < rpc_threads_.size(); ++i)
    threads.emplace_back(&Torture::rpc_thread_main, this, i, root.fork(0x5200 + i));

  // The monitor: duration, event cap, stutter, watchdog, progress.
  const int64_t t0 = now_ns();
  const int64_t end_ns = t0 + opt_.duration.count();
  int64_t next_stutter = opt_.stutter_every.count() ? t0 + opt_.stutter_every.count() : INT64_MAX;
  int64_t stutter_end = 0;
  int64_t stall_since = 0;  // a stutter pause ended with work pending, since then
  int64_t next_progress = t0 + 1'000'000'000;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int64_t now = now_ns();
    if (now >= end_ns) break;
    if (engine_->event_count() >= opt_.max_events) {
      event_cap_reached_ = true;
      break;
    }
    if (std::string s = stuck_caller(); !s.empty()) die_hung(s, elapsed(), elapsed());
    if (stutter_end == 0 && now >= next_stutter) {
      paused_.store(true, std::memory_order_release);
      ++stutters_;
      stutter_end = now + opt_.stutter_pause.count();
    } else if (stutter_end != 0 && now >= stutter_end) {
      // Stall check (rcutorture's stall warnings): nobody has queued
      // anything for the whole pause, which is longer than any delay,
      // callback or self-requeue chain, so every work should be idle by
      // now. A work still pending may be stranded (a list nobody serves):
      // keep everybody paused, because the next queueing for its CPU would
      // rescue it and hide the bug, and call it a hang if it never runs.
      if (std::string w = pending_work(); !w.empty()) {
        if (stall_since == 0) {
          stall_since = now;
          ++stalled_stutters_;
        }
        if (now - stall_since > opt_.hang_timeout.count())
          die_hung(w + " stayed pending through a stutter pause and " + fmt_duration(opt_.hang_timeout) +
                       " more, with no caller queueing anything",
                   elapsed(), elapsed());
      } else {
        paused_.store(false, std::memory_order_release);
        stutter_end = 0;
        stall_since = 0;
        next_stutter = now + opt_.stutter_every.count();
      }
    }
    if (tty && now >= next_progress) {
      progress_line(elapsed(), false);
      next_progress += 1'000'000'000;
    }
  }
  const double op_seconds = elapsed();
  if (tty) progress_line(op_seconds, true);
  if (event_cap_reached_)
    std::printf("stopping early: %" PRIu64 " events recorded (--max-events %" PRIu64 ") after %.2f s\n",
                engine_->event_count(), opt_.max_events, op_seconds);

  // Stop the callers; one stuck in an operation is a hang.
  stop_.store(true, std::memory_order_release);
  paused_.store(false, std::memory_order_release);
  for (;;) {
    bool all = true;
    for (auto& c : callers_) all = all && c->done.load(std::memory_order_acquire);
    for (auto& t : rpc_threads_) all = all && t->done.load(std::memory_order_acquire);
    if (all) break;
    if (std::string s = stuck_caller(); !s.empty()) die_hung(s + ", after the callers were told to stop", op_seconds, elapsed());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& t : threads) t.join();

  // Quiesce: every CPU back online, then every queue flushed and destroyed,
  // all queues at once (so destroys race each other and the last chained
  // requeues: the destroy_drain window). Done on helper threads so the
  // watchdog can tell a hang from a slow drain.
  std::atomic<int> shutdown_stage{0};  // 0 onlining, 1 destroying, 2 done
  std::vector<std::unique_ptr<std::atomic<bool>>> destroyed;
  for (size_t i = 0; i < slots_.size(); ++i) destroyed.push_back(std::make_unique<std::atomic<bool>>(false));
  std::thread shutdown([&] {
    for (int c = 1; c < opt_.cpus; ++c) engine_->cpu_online(c);
    shutdown_stage.store(1, std::memory_order_release);
    std::vector<std::thread> ds;
    for (size_t i = 0; i < slots_.size(); ++i)
      ds.emplace_back([&, i] {
        TWorkqueue* q = slots_[i]->current.load(std::memory_order_acquire);
        try {
          q->flush();
          q->destroy();
        } catch (const Error& e) {
          count_error(e);
        }
        destroyed[i]->store(true, std::memory_order_release);
      });
    if (edge_queue_)
      ds.emplace_back([&] {
        try {
          edge_queue_->destroy();
        } catch (const Error& e) {
          count_error(e);
        }
      });
    // rpc clients: rpc first (its drain fires the retransmits, whose
    // transmits land on xprt), then xprt, as the simulator's scenario.
    for (auto& c : rpc_clients_)
      ds.emplace_back([&, cl = c.get()] {
        try {
          cl->rpc->flush();
          cl->xprt->flush();
          cl->rpc->destroy();
          cl->xprt->destroy();
        } catch (const Error& e) {
          rpc_error(e, "the final flush + destroy of client " + std::to_string(cl->index));
        }
        cl->destroyed.store(true, std::memory_order_release);
      });
    for (auto& t : ds) t.join();
    shutdown_stage.store(2, std::memory_order_release);
  });
  const int64_t shutdown_deadline = now_ns() + opt_.hang_timeout.count();
  while (shutdown_stage.load(std::memory_order_acquire) != 2) {
    if (now_ns() > shutdown_deadline) {
      std::string what = "the final quiescence did not finish within the hang timeout (" + fmt_duration(opt_.hang_timeout) + "): ";
      if (shutdown_stage.load(std::memory_order_acquire) == 0) {
        what += "bringing the CPUs back online is stuck";
      } else {
        std::string q;
        for (size_t i = 0; i < slots_.size(); ++i)
          if (!destroyed[i]->load(std::memory_order_acquire))
            q += (q.empty() ? "" : ", ") + slots_[i]->current.load(std::memory_order_acquire)->name() + " (" +
                 std::string(to_string(slots_[i]->kind)) + ")";
        for (auto& c : rpc_clients_)
          if (!c->destroyed.load(std::memory_order_acquire))
            q += (q.empty() ? "" : ", ") + std::string("rpc client ") + std::to_string(c->index) + " (rpc " + c->rpc_desc +
                 ", xprt " + c->xprt_desc + ")";
        what += "flush + destroy of " + q + " never returned";
      }
      die_hung(what, op_seconds, elapsed());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  shutdown.join();

  if (opt_.rpc_workload) rpc_final_checks();
  Report r = collect(op_seconds, elapsed());
  std::vector<Event> events = engine_->events();
  // Every queue is destroyed: tear down the works and the engine now, so
  // the engine's copy of the stream is freed before the oracle builds its
  // model (peak memory: two copies of the stream, not two plus the model).
  works_.clear();
  edge_works_.clear();
  rpc_reqs_.clear();
  rpc_clients_.clear();
  engine_.reset();
  judge(opt_, events, r);
  write_events(opt_.events_path, events);
  r.peak_rss_kb = peak_rss_kb();
  return r;
}

// ---------------------------------------------------------------------------
// --repeat: independent runs in child processes (a hung run exits from
// inside, and each run gets a fresh process and memory).

// argv without the options that --repeat sets per run.
std::vector<std::string> child_args(int argc, char** argv) {
  static const std::vector<std::string> drop{"--repeat", "--seed", "--json", "--events-out", "--quiet"};
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool dropped = false;
    for (auto& d : drop) {
      if (a == d) {
        dropped = true;
        if (d != "--quiet" && i + 1 < argc) ++i;  // its value
      } else if (a.rfind(d + "=", 0) == 0) {
        dropped = true;
      }
    }
    if (!dropped) out.push_back(a);
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int run_repeat(const Options& o, int repeat, int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/lazywq-torture-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::invalid_argument("cannot create a directory for the runs' logs: " + templ);
  const std::string dir = buf.data();
  const std::vector<std::string> base = child_args(argc, argv);
  std::printf("repeat: %d independent runs of %s, seeds %" PRIu64 "..%" PRIu64 "%s%s; logs in %s\n", repeat,
              fmt_duration(o.duration).c_str(), o.seed, o.seed + static_cast<uint64_t>(repeat) - 1,
              o.bug != PlantedBug::none ? (", planted bug " + std::string(to_string(o.bug))).c_str() : "",
              o.expect.empty() ? "" : (", expecting " + o.expect).c_str(), dir.c_str());
  std::fflush(stdout);
  int caught = 0, violated = 0, crashed = 0;
  json runs = json::array();
  std::map<std::string, int> rules_seen;
  for (int k = 0; k < repeat; ++k) {
    const uint64_t seed = o.seed + static_cast<uint64_t>(k);
    const std::string json_path = dir + "/run-" + std::to_string(k) + ".json";
    const std::string log_path = dir + "/run-" + std::to_string(k) + ".log";
    std::vector<std::string> args{"/proc/self/exe"};
    args.insert(args.end(), base.begin(), base.end());
    for (const char* a : {"--quiet", "--seed"}) args.push_back(a);
    args.push_back(std::to_string(seed));
    args.push_back("--json");
    args.push_back(json_path);
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::invalid_argument("cannot start a run: " + std::string(std::strerror(rc)));
    // The child has its own hang watchdog; this is the last resort if the
    // child itself is wedged (e.g. stuck in its watchdog's report).
    const auto limit = Clock::now() + o.duration + 3 * o.hang_timeout + std::chrono::seconds(60);
    int status = 0;
    bool killed = false;
    for (;;) {
      const pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (Clock::now() > limit && !killed) {
        kill(pid, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    json child;
    {
      std::ifstream f(json_path);
      if (f) {
        try {
          f >> child;
        } catch (const std::exception&) {
          child = json();
        }
      }
    }
    std::string line;
    std::vector<std::string> rules;
    bool run_caught = false;
    if (child.is_object() && (code == 0 || code == 1)) {
      for (auto& [rule, n] : child["violations_by_rule"].items()) {
        rules.push_back(rule);
        ++rules_seen[rule];
        if (o.expect == "any" || rule == o.expect) run_caught = true;
      }
      if (!rules.empty()) ++violated;
      std::string first;
      if (!child["violations"].empty()) first = child["violations"][0]["message"].get<std::string>();
      if (first.size() > 110) first = first.substr(0, 107) + "...";
      std::string rl;
      for (auto& x : rules) rl += (rl.empty() ? "" : ",") + x;
      line = rules.empty() ? "clean" : "violations " + rl + (child["hang"].get<bool>() ? " (hung)" : "") + ": " + first;
    } else {
      ++crashed;
      line = "crashed (exit " + std::to_string(code) + (killed ? ", killed after the time limit" : "") + "; see the log)";
    }
    if (run_caught) ++caught;
    std::printf("  run %d/%d seed %" PRIu64 ": %s%s\n", k + 1, repeat, seed,
                o.expect.empty() ? "" : (run_caught ? "CAUGHT  " : "missed  "), line.c_str());
    std::fflush(stdout);
    runs.push_back({{"seed", seed}, {"exit_code", code}, {"rules", rules}, {"caught", run_caught}, {"log", log_path}});
  }
  std::string seen;
  for (auto& [rule, n] : rules_seen) seen += (seen.empty() ? "" : ", ") + rule + " in " + std::to_string(n);
  std::printf("rules seen: %s\n", seen.empty() ? "none" : seen.c_str());
  int exit_code;
  if (!o.expect.empty()) {
    std::printf("caught %d/%d runs (%s)%s\n", caught, repeat, o.expect.c_str(),
                crashed ? (", " + std::to_string(crashed) + " crashed").c_str() : "");
    exit_code = caught > 0 ? kExitClean : kExitViolation;
  } else {
    std::printf("violations in %d/%d runs, %d crashed\n", violated, repeat, crashed);
    exit_code = (violated || crashed) ? kExitViolation : kExitClean;
  }
  if (!o.json_path.empty())
    write_json(o.json_path, {{"tool", "lazywq-torture"},
                             {"repeat", repeat},
                             {"planted_bug", std::string(to_string(o.bug))},
                             {"expect", o.expect},
                             {"caught", caught},
                             {"violated", violated},
                             {"crashed", crashed},
                             {"rules", rules_seen},
                             {"runs", runs},
                             {"exit_code", exit_code}});
  return exit_code;
}

}  // namespace
}  // namespace lazywq::torture

int main(int argc, char** argv) {
  using namespace lazywq;
  using namespace lazywq::torture;
  CLI::App app{
      "lazywq-torture: a torture test of the lazywq engine on real threads (rcutorture-style).\n"
      "Caller threads issue a weighted, seeded stream of operations on queues of every kind; stutter phases let\n"
      "lazy workers idle out and exit; thread creation fails at random. The engine records its events, and at the\n"
      "end every queue is flushed and destroyed and the contract oracle (docs/CONTRACT.md, C1-C15) checks the\n"
      "whole stream. A coverage table says which race windows were entered while another thread was inside one.\n"
      "--workload rpc runs an rpciod-shaped client instead (--workload both: the two at once), with its own checks.\n"
      "Built with -fsanitize=thread (the tsan preset) this is the ThreadSanitizer torture."};
  app.set_version_flag("--version", lazywq::tools::version_line("lazywq-torture"));
  app.footer(
      "Operation names for --weights: " + known_op_names() +
      ".\n"
      "Seeds: decimal, 0x-hex or a 40-hex commit hash (as wqcheck). The seed fixes each caller's operation stream,\n"
      "not the interleaving: real threads do not replay. For a replayable search use `wqcheck explore`.\n\n"
      "Examples:\n"
      "  lazywq-torture --duration 10s\n"
      "  lazywq-torture --seed $(git rev-parse HEAD) --duration 1m --json torture.json\n"
      "  lazywq-torture --weights queue=30,cancel_sync=5,recreate=0 --fail-p 0.2\n"
      "  lazywq-torture --planted migrate_reorders --expect C5 --repeat 10 --duration 3s   (planted build)\n\n"
      "Exit codes: 0 clean (with --expect: the expected violation was found; with --repeat: in at least one run),\n"
      "1 a violation, a hang or an unexpected error (with --expect: not found), 2 bad input.");

  Options o;
  std::string seed_text, duration = "10s", idle = "5ms", cooldown = "2ms", stutter = "1s", stutter_pause,
                         max_delay = "2ms", hang = "20s", weights, planted = "none", queues;
  int repeat = 0;
  std::string rpc_queues;
  app.add_option("--workload", o.workload,
                 "ops: the weighted operation stream (default); rpc: the rpciod-shaped client (sim/scenario_rpc.cpp on "
                 "real threads, for every kind); both: the two at once on one engine")
      ->capture_default_str()
      ->check(CLI::IsMember({"ops", "rpc", "both"}));
  app.add_option("--rpc-queues", rpc_queues,
                 "rpc workload: the rpc queue kind of each client, comma-separated (default "
                 "lazy,per_cpu,single_thread,ordered,shared,shared,shared; the shared options and each xprt queue "
                 "are drawn from the seed)");
  app.add_option("--rpc-requests", o.rpc_requests, "rpc workload: requests per client")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--rpc-retransmits", o.rpc_max_retransmits,
                 "rpc workload: re-arms of a retransmit timer per submission")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--dependency-check", o.dependency_check,
                 "The engine's DependencyCheck (C16): off, report, error, or drawn from the seed (rpc workload; the ops "
                 "workload keeps the engine's default, report)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "report", "error", "drawn"}));
  app.add_option("--duration", duration, "How long the callers issue operations (5s, 500ms, 1m)")->capture_default_str();
  app.add_option("--seed", seed_text, "Seed of the operation streams (default: random, printed)");
  app.add_option("--weights", weights, "Override operation weights: name=N,... (names below; N >= 0)");
  app.add_option("--callers", o.callers, "Caller threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--hotplug-callers", o.hotplug_callers,
                 "How many callers issue cpu_offline/cpu_online (the others never do; as rcutorture's single "
                 "onoff thread). More than 1 trips a known oracle false positive (C13), see the torture's notes")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  app.add_option("--cpus", o.cpus, "Virtual CPUs of the engine (CPU 0 is the core CPU)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--queues", queues,
                 "Queue kinds, comma-separated, a kind may repeat (default lazy,lazy,lazy,per_cpu,per_cpu,single_thread,ordered,shared,shared)");
  app.add_option("--works", o.works, "Plain works")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--delayed-works", o.delayed_works, "Delayed works")->capture_default_str()->check(CLI::Range(0, 100000));
  app.add_option("--idle-timeout", idle,
                 "Engine idle timeout of lazy workers (rpc and both workloads: drawn from the seed, 0, 20us, 5ms or "
                 "Duration::max, unless given)")
      ->capture_default_str();
  app.add_option("--spawn-cooldown", cooldown,
                 "Engine retry cooldown after a failed creation (rpc and both workloads: drawn from the seed, 0, 10us, "
                 "2ms or Duration::max, unless given)")
      ->capture_default_str();
  app.add_option("--stutter", stutter, "Pause every caller this often (0 = never)")->capture_default_str();
  app.add_option("--stutter-pause", stutter_pause, "Length of a stutter pause (default: 4 x idle timeout, at least 20ms)");
  app.add_option("--fail-p", o.fail_p, "Probability that a thread creation fails (injected, seeded)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--perturb", o.perturb,
                 "Probability that a thread yields or sleeps a few us at each race-window entry/exit and scheduling "
                 "point (widens windows real threads rarely lose the CPU in; 0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--max-delay", max_delay, "Largest delay of delayed queueings")->capture_default_str();
  app.add_option("--max-callback-us", o.max_callback_us, "Longest a callback spins, in microseconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  app.add_option("--max-requeue", o.max_requeue, "Self-requeues a callback may do per caller queueing")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--max-events", o.max_events,
                 "Stop issuing operations once this many events are recorded (peak memory about 100 bytes per "
                 "event, about 350 under TSan)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1000}, uint64_t{100'000'000}));
  app.add_option("--hang-timeout", hang, "An operation or the final drain taking longer is a hang (C15)")->capture_default_str();
  app.add_option("--json", o.json_path, "Write the report as JSON to this file ('-' for stdout)");
  app.add_option("--events-out", o.events_path,
                 "Write the whole event stream as text (one event a line, as wqcheck replay --events-out) to this file");
  app.add_option("--planted", planted, "Switch on a planted bug (planted build only; see wqcheck list)")->capture_default_str();
  app.add_option("--expect", o.expect,
                 "Exit 0 iff a violation of this rule (C1..C17, or 'any') was found; for catch rates of planted bugs");
  app.add_option("--repeat", repeat, "Independent runs with seeds seed, seed+1, ... (child processes); reports how many caught")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--quiet", o.quiet, "No progress line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitClean : kExitBadInput;
  }
  if (o.json_path == "-") {
    // Everything a person reads goes to stderr; stdout carries the JSON.
    g_json_stdout = lazywq::tools::take_stdout_for_json();
  }

  try {
    o.duration = parse_duration(duration, "--duration");
    if (o.duration.count() <= 0) throw std::invalid_argument("--duration must be positive");
    o.idle_timeout = parse_duration(idle, "--idle-timeout");
    o.spawn_cooldown = parse_duration(cooldown, "--spawn-cooldown");
    o.stutter_every = stutter == "0" ? std::chrono::nanoseconds(0) : parse_duration(stutter, "--stutter");
    o.max_delay = parse_duration(max_delay, "--max-delay");
    o.hang_timeout = parse_duration(hang, "--hang-timeout");
    if (o.hang_timeout < std::chrono::milliseconds(100)) throw std::invalid_argument("--hang-timeout must be at least 100ms");
    if (o.hang_timeout <= 2 * o.max_delay)
      throw std::invalid_argument("--hang-timeout must be more than twice --max-delay (an armed timer is not a hang)");
    if (!weights.empty()) parse_weights(weights, o.weights);
    {
      std::stringstream ss(queues.empty() ? "lazy,lazy,lazy,per_cpu,per_cpu,single_thread,ordered,shared,shared" : queues);
      std::string k;
      while (std::getline(ss, k, ','))
        if (!k.empty()) o.kinds.push_back(parse_kind(k));
      if (o.kinds.empty()) throw std::invalid_argument("--queues names no queue kind");
    }
    o.ops_workload = o.workload != "rpc";
    o.rpc_workload = o.workload != "ops";
    {
      std::stringstream ss(rpc_queues.empty() ? "lazy,per_cpu,single_thread,ordered,shared,shared,shared" : rpc_queues);
      std::string k;
      while (std::getline(ss, k, ','))
        if (!k.empty()) o.rpc_kinds.push_back(parse_kind(k, "--rpc-queues"));
      if (o.rpc_kinds.empty()) throw std::invalid_argument("--rpc-queues names no queue kind");
    }
    if (seed_text.empty()) {
      std::random_device rd;
      o.seed = (uint64_t{rd()} << 32) ^ rd();
      o.seed_text = std::to_string(o.seed);
    } else {
      o.seed = sim::parse_seed(seed_text);
      o.seed_text = seed_text;
    }
    if (o.rpc_workload) draw_durations(o, app.count("--idle-timeout") > 0, app.count("--spawn-cooldown") > 0);
    // A pause lets lazy workers idle out: 4 idle timeouts, but at least 20 ms
    // and, for a huge idle timeout (nobody idles out), at most 1 s.
    o.stutter_pause = stutter_pause.empty()
                          ? std::clamp<std::chrono::nanoseconds>(
                                o.idle_timeout > std::chrono::seconds(1) ? std::chrono::seconds(1) : 4 * o.idle_timeout,
                                std::chrono::milliseconds(20), std::chrono::seconds(1))
                          : parse_duration(stutter_pause, "--stutter-pause");
    o.bug = planted_bug_from_string(planted);
#if !defined(LAZYWQ_ENABLE_PLANTED_BUGS)
    if (o.bug != PlantedBug::none)
      throw std::invalid_argument("this build has no planted bugs: configure with -DLAZYWQ_PLANTED_BUGS=ON (cmake --preset planted)");
#endif
    // The report's path is checked before the long run, not after it.
    if (!o.json_path.empty() && o.json_path != "-") {
      std::ofstream probe(o.json_path, std::ios::app);
      if (!probe) throw std::invalid_argument("--json " + o.json_path + ": cannot write there (" + std::strerror(errno) + ")");
    }
    if (!o.expect.empty() && o.expect != "any") {
      const std::string digits = o.expect.size() > 1 && o.expect[0] == 'C' ? o.expect.substr(1) : "";
      const bool ok = !digits.empty() && digits.size() <= 2 && digits[0] != '0' &&
                      std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                      std::stoi(digits) <= lazywq::kContractRules;
      if (!ok)
        throw std::invalid_argument("--expect '" + o.expect + "' must be a rule C1..C" +
                                    std::to_string(lazywq::kContractRules) + " or 'any'");
    }
    {
      std::string cmd = "lazywq-torture";
      for (auto& a : child_args(argc, argv)) cmd += " " + shell_quote(a);
      o.rerun_command = cmd + " --seed " + std::to_string(o.seed);
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "lazywq-torture: %s\n", e.what());
    return kExitBadInput;
  } catch (const Error& e) {
    std::fprintf(stderr, "lazywq-torture: %s\n", e.what());
    return kExitBadInput;
  }

  try {
    if (repeat > 0) return run_repeat(o, repeat, argc, argv);
    Report r;
    {
      Torture t(o);
      r = t.run();
    }  // run() tore the works and the engine down before judging the stream
    print_report(o, r);
    if (!write_json(o.json_path, report_json(o, r)) && r.exit_code == kExitClean) return kExitBadInput;
    return r.exit_code;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "lazywq-torture: %s\n", e.what());
    return kExitBadInput;
  } catch (const Error& e) {
    // The engine refused the setup itself (e.g. the system would not create
    // a queue's core thread): not the contract, but not a clean run either.
    std::fprintf(stderr, "lazywq-torture: engine error during setup or teardown: %s\n", e.what());
    return kExitViolation;
  }
}
