// The scenarios. Each draws its own knobs from the seed (swarm testing, as
// TigerBeetle's simulator does) unless a --param fixes them, and notes every
// draw so the report prints the configuration under the seed.
#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>

#include "sim/delay_bounds.hpp"
#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

// ---------------------------------------------------------------------------
// Params and context helpers

void Params::add(const std::string& assignment) {
  size_t start = 0;
  while (start <= assignment.size()) {
    size_t comma = assignment.find(',', start);
    std::string one = assignment.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!one.empty()) {
      size_t eq = one.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::invalid_argument("parameter '" + one + "' must look like key=value");
      kv_[one.substr(0, eq)] = one.substr(eq + 1);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

std::string Params::get_string(const std::string& key) const {
  used_[key] = true;
  auto it = kv_.find(key);
  return it == kv_.end() ? std::string() : it->second;
}

bool ScenarioContext::op(const std::string& site) {
  const std::string skip = params.get_string("skip");
  for (size_t start = 0; start < skip.size();) {
    const size_t plus = std::min(skip.find('+', start), skip.size());
    if (skip.compare(start, plus - start, site) == 0 && plus - start == site.size()) return false;
    start = plus + 1;
  }
  op_sites.push_back(site);
  return true;
}

int64_t Params::get_int(const std::string& key, int64_t def) const {
  used_[key] = true;
  auto it = kv_.find(key);
  if (it == kv_.end()) return def;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument("parameter " + key + " must be a whole number, got '" + it->second + "'");
  }
}

double Params::get_double(const std::string& key, double def) const {
  used_[key] = true;
  auto it = kv_.find(key);
  if (it == kv_.end()) return def;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument("parameter " + key + " must be a number, got '" + it->second + "'");
  }
}

EngineConfig ScenarioContext::engine_config(int default_ncpus, Duration default_idle, Duration default_cooldown,
                                            int min_ncpus) {
  EngineConfig cfg;
  // The engine swarm (issue #13: every knob a user can set is drawn), from
  // a side stream so the workload's own draws stay as they were. Each knob
  // keeps the scenario's value about half the time; a --param fixes it.
  Rng swarm = Rng(rng).fork(0xe9c);
  auto swarm_duration = [&](Duration def) {
    switch (swarm.below(6)) {
      case 0: return Duration::zero();
      case 1: return Duration(swarm.range(1, 9999));  // tiny: below 10 us
      case 2: return Duration::max();                  // huge: never
      default: return def;
    }
  };
  const int drawn_ncpus = swarm.chance(0.4) ? static_cast<int>(swarm.range(min_ncpus, 8)) : default_ncpus;
  cfg.ncpus = static_cast<int>(params.get_int("ncpus", drawn_ncpus));
  if (params.has("cap.ncpus"))  // the shrinker's: at most N, the other draws as they were
    cfg.ncpus = std::max(min_ncpus, std::min(cfg.ncpus, static_cast<int>(params.get_int("cap.ncpus", cfg.ncpus))));
  if (cfg.ncpus < min_ncpus || cfg.ncpus > 64)
    throw std::invalid_argument("parameter ncpus must be in " + std::to_string(min_ncpus) + "..64");
  const int drawn_core = cfg.ncpus > 1 && swarm.chance(0.2) ? static_cast<int>(swarm.range(1, cfg.ncpus - 1)) : 0;
  cfg.core_cpu = static_cast<int>(params.get_int("core", drawn_core));
  if (cfg.core_cpu < 0 || cfg.core_cpu >= cfg.ncpus) throw std::invalid_argument("parameter core must be in 0..ncpus-1");
  const Duration idle = swarm_duration(default_idle), cooldown = swarm_duration(default_cooldown);
  auto us_param = [&](const char* key, Duration drawn) {
    if (!params.has(key)) {
      params.get_int(key, 0);  // mark as known
      return drawn;
    }
    const int64_t us = params.get_int(key, 0);
    if (us < 0) throw std::invalid_argument(std::string("parameter ") + key + " must not be negative");
    return us >= INT64_MAX / 1000 ? Duration::max() : Duration(us * 1000);
  };
  cfg.idle_timeout = us_param("idle_us", idle);
  cfg.spawn_cooldown = us_param("cooldown_us", cooldown);
  // The watchdog: off, or never firing, now and then (scenarios whose
  // works block outside the engine set their own).
  const uint64_t stall = swarm.below(4);
  cfg.stall_timeout = stall == 0 ? Duration::zero() : stall == 1 ? Duration::max() : cfg.stall_timeout;
  cfg.dependency_check = static_cast<DependencyCheck>(swarm.below(3));
  cfg.record_events = true;
  cfg.planted_bug = bug;
  note("ncpus", cfg.ncpus);
  if (cfg.core_cpu != 0) note("core", cfg.core_cpu);
  auto us_text = [](Duration d) { return d == Duration::max() ? std::string("max") : std::to_string(d.count() / 1000); };
  note("idle_us", us_text(cfg.idle_timeout));
  note("cooldown_us", us_text(cfg.spawn_cooldown));
  return cfg;
}

void ScenarioContext::sleep_ns(int64_t ns) {
  SimPlatform::Mutex m;
  SimPlatform::CondVar cv;
  m.lock();
  // Saturating: a scenario may sleep for a drawn "huge" duration.
  const int64_t now = World::current()->now();
  const int64_t until = ns > INT64_MAX - now ? INT64_MAX : now + ns;
  while (World::current()->now() < until) cv.wait_until(m, until);
  m.unlock();
}

void ScenarioContext::clients(int n, const std::function<void(int)>& fn) {
  std::vector<SimPlatform::Thread> ts;
  const int ncpus = engine ? engine->ncpus() : 1;
  for (int i = 0; i < n; ++i) {
    ts.push_back(*SimPlatform::spawn(i % ncpus, "client" + std::to_string(i), [&fn, i] { fn(i); }));
    world.mark_driver(ts.back().id());  // the horizon watches the workload's threads
  }
  for (auto& t : ts) t.join();
}

namespace kit {

// Draws a value in [lo, hi] unless the parameter fixes it (then it must be
// in [1, kKnobMax]), and notes it.
int64_t knob(ScenarioContext& ctx, const std::string& key, int64_t lo, int64_t hi) {
  int64_t v = ctx.params.has(key) ? ctx.params.get_int(key, lo) : ctx.rng.range(lo, hi);
  ctx.params.get_int(key, v);  // mark as known
  if (v < 1 || v > kKnobMax)
    throw std::invalid_argument("parameter " + key + " must be in 1.." + std::to_string(kKnobMax) + ", got " +
                                std::to_string(v));
  if (ctx.params.has("cap." + key)) {
    const int64_t cap = ctx.params.get_int("cap." + key, v);
    if (cap < 1) throw std::invalid_argument("parameter cap." + key + " must be at least 1");
    v = std::min(v, cap);
  }
  ctx.note(key, v);
  return v;
}
double knob_p(ScenarioContext& ctx, const std::string& key, std::initializer_list<double> choices) {
  double v;
  if (ctx.params.has(key)) {
    v = ctx.params.get_double(key, 0);
    if (!(v >= 0.0 && v <= 1.0)) throw std::invalid_argument("parameter " + key + " is a probability: 0..1");
  } else {
    std::vector<double> c(choices);
    v = c[ctx.rng.below(c.size())];
    ctx.params.get_double(key, v);
  }
  // The shrinker's `cap.KEY=P`, as for counts: drawn as usual, then at
  // most P. Rng::chance draws whatever p is, so a run with p capped to 0
  // is the same run without what p made happen.
  if (ctx.params.has("cap." + key)) {
    const double cap = ctx.params.get_double("cap." + key, v);
    if (!(cap >= 0.0 && cap <= 1.0)) throw std::invalid_argument("parameter cap." + key + " is a probability: 0..1");
    v = std::min(v, cap);
  }
  ctx.note(key, std::to_string(v).substr(0, 5));
  return v;
}

WqKind kind_knob(ScenarioContext& ctx, WqKind def, bool draw) {
  int64_t k = ctx.params.has("kind") ? ctx.params.get_int("kind", 0)
                                     : (draw ? ctx.rng.range(0, 4) : static_cast<int64_t>(def));
  ctx.params.get_int("kind", k);
  if (k < 0 || k > 4)
    throw std::invalid_argument("parameter kind must be 0 (per_cpu), 1 (lazy), 2 (single_thread), 3 (ordered) or 4 (shared)");
  auto kind = static_cast<WqKind>(k);
  ctx.note("kind", std::string(to_string(kind)));
  return kind;
}

// A kind drawn over every kind, with the shared kind's options drawn too.
SimWorkqueue& drawn_queue(ScenarioContext& ctx, SimEngine& eng, const std::string& name) {
  const auto kind = static_cast<WqKind>(ctx.rng.range(0, 4));
  WqOptions opts;
  std::string text(to_string(kind));
  if (kind == WqKind::shared) {
    switch (ctx.rng.below(5)) {
      case 0: opts.highpri = true; text += ",highpri"; break;
      case 1: opts.unbound = true; text += ",unbound"; break;
      case 2: opts.ordered = true; text += ",ordered"; break;
      case 3: opts.max_active = static_cast<int>(ctx.rng.range(1, 3)); text += ",max_active=" + std::to_string(opts.max_active); break;
      default: break;
    }
  }
  ctx.note(name, text);
  return kit::create_queue(ctx, eng, name, kind, opts);
}

DependencyCheck check_knob(ScenarioContext& ctx, Rng& rng) {
  const int64_t c = ctx.params.has("check") ? ctx.params.get_int("check", 1) : static_cast<int64_t>(rng.below(3));
  ctx.params.get_int("check", c);  // mark as known
  if (c < 0 || c > 2) throw std::invalid_argument("parameter check must be 0 (off), 1 (report) or 2 (error)");
  const char* names[] = {"off", "report", "error"};
  ctx.note("check", names[c]);
  return static_cast<DependencyCheck>(c);
}

}  // namespace kit

namespace {

using kit::kind_knob;
using kit::knob;
using kit::knob_p;

// A set of works whose callbacks count runs, may requeue themselves a
// bounded number of times (C2) and may take virtual time.
struct WorkSet {
  ScenarioContext& ctx;
  SimWorkqueue* wq = nullptr;
  // A second queue the same works also go to (mixed, from a side stream:
  // scenarios without it draw exactly what they drew before). Works move
  // between queues as real clients move them: C1-C12 hold per work.
  SimWorkqueue* wq2 = nullptr;
  double stray_p = 0;
  Rng stray_rng{0};
  std::vector<std::unique_ptr<SimWork>> works;
  std::vector<std::unique_ptr<SimDelayedWork>> delayed;
  std::vector<int> requeue_left;
  // C17 for delays: the calls on the delayed works (sim/delay_bounds.hpp),
  // checked against the event stream at the end (check_delays).
  DelayBounds delay_bounds{0};
  double requeue_p = 0;
  int64_t busy_ns = 0;
  int ncpus = 2;

  WorkSet(ScenarioContext& c, SimWorkqueue& q, int n, int n_delayed, int requeues, double rp, int64_t busy)
      : ctx(c), wq(&q), requeue_p(rp), busy_ns(busy), ncpus(c.engine->ncpus()) {
    for (int i = 0; i < n; ++i) {
      requeue_left.push_back(requeues);
      works.push_back(std::make_unique<SimWork>([this, i](SimWork& self) { body(i, self); }, "w" + std::to_string(i)));
    }
    for (int i = 0; i < n_delayed; ++i)
      delayed.push_back(std::make_unique<SimDelayedWork>([this](SimWork&) { take_time(); }, "d" + std::to_string(i)));
    delay_bounds = DelayBounds(delayed.size());
  }
  int64_t engine_now() const { return ctx.engine->now_ns(); }
  // Records a call on delayed work i around `call` (sim/delay_bounds.hpp):
  // `call(dw)` returns whether it left dw armed for `delay_ns`.
  template <class F>
  void delay_call(int i, int64_t delay_ns, F&& call) {
    const size_t k = static_cast<size_t>(i);
    const int64_t t0 = engine_now();
    const DelayBounds::Token token = delay_bounds.call_begin(k, t0);
    bool armed = false;
    try {
      armed = call(*delayed[k]);
    } catch (...) {
      delay_bounds.call_end(k, token, engine_now(), false, t0, 0);
      throw;
    }
    delay_bounds.call_end(k, token, engine_now(), armed, t0, delay_ns);
  }
  // After the last destroy, with the engine's events: C17 for delays.
  void check_delays() {
    const auto late = delay_bounds.check(
        ctx.engine->events(), [&](size_t i) { return delayed[i]->id(); }, [](size_t i) { return "d" + std::to_string(i); });
    for (const std::string& v : late) ctx.expect(false, "C17", v);
  }
  void take_time() {
    if (busy_ns > 0) ScenarioContext::sleep_ns(ctx.rng.range(0, busy_ns));
  }
  void body(int i, SimWork& self) {
    take_time();
    if (requeue_left[static_cast<size_t>(i)] > 0 && ctx.rng.chance(requeue_p)) {
      --requeue_left[static_cast<size_t>(i)];
      try {
        wq->queue_work_on(static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))), self);
      } catch (const Error&) {
        // the queue is being destroyed: fine
      }
    }
  }
  // The queue of the next queueing: wq, or now and then wq2.
  SimWorkqueue& pick() { return wq2 && stray_rng.chance(stray_p) ? *wq2 : *wq; }
  SimWork& any() { return *works[ctx.rng.below(works.size())]; }
  int any_delayed() { return static_cast<int>(ctx.rng.below(delayed.size())); }
  int any_cpu(bool include_core = true) {
    return include_core ? static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus)))
                        : kit::non_core_cpu(ctx, *ctx.engine);
  }
};

// Operation weights of the mixed workloads.
enum Op { op_queue, op_flush_work, op_cancel_sync, op_cancel, op_flush_wq, op_delayed, op_mod, op_cancel_delayed,
          op_flush_delayed, op_sleep, op_hotplug, op_count };
const char* kOpNames[op_count] = {"queue", "flush_work", "cancel_sync", "cancel", "flush_wq", "delayed",
                                  "mod_delayed", "cancel_delayed", "flush_delayed", "sleep", "hotplug"};

struct Weights {
  int w[op_count] = {};
  int total() const {
    int t = 0;
    for (int x : w) t += x;
    return t;
  }
  Op draw(Rng& rng) const {
    int r = static_cast<int>(rng.below(static_cast<uint64_t>(total())));
    for (int i = 0; i < op_count; ++i) {
      if (r < w[i]) return static_cast<Op>(i);
      r -= w[i];
    }
    return op_queue;
  }
};

// Swarm: each weight is either off or drawn in 1..max (queue always on).
Weights swarm_weights(ScenarioContext& ctx, std::initializer_list<std::pair<Op, int>> allowed) {
  Weights ws;
  std::string line;
  for (auto [op, max] : allowed) {
    int v = op == op_queue ? static_cast<int>(ctx.rng.range(max / 2 + 1, max))
                           : (ctx.rng.chance(0.25) ? 0 : static_cast<int>(ctx.rng.range(1, max)));
    ws.w[op] = v;
    if (v) line += std::string(line.empty() ? "" : ",") + kOpNames[op] + ":" + std::to_string(v);
  }
  ctx.note("weights", line);
  return ws;
}

// `site` names the operation for the shrinker (ScenarioContext::op): a
// skipped one makes its draws and nothing else.
void run_op(ScenarioContext& ctx, WorkSet& ws, Op op, int64_t max_delay_ns, int64_t sleep_ns,
            const std::string& site = "") {
  SimEngine& eng = *ctx.engine;
  SimWorkqueue& wq = ws.pick();
  const bool live = site.empty() || ctx.op(site);
  switch (op) {
    case op_queue: {
      const int cpu = ws.any_cpu();
      SimWork& w = ws.any();
      if (live) wq.queue_work_on(cpu, w);
      break;
    }
    case op_flush_work: {
      SimWork& w = ws.any();
      if (live) eng.flush_work(w);
      break;
    }
    case op_cancel_sync: {
      SimWork& w = ws.any();
      if (live) eng.cancel_work_sync(w);
      break;
    }
    case op_cancel: {
      SimWork& w = ws.any();
      if (live) eng.cancel_work(w);
      break;
    }
    case op_flush_wq:
      if (live) wq.flush();
      break;
    case op_delayed:
    case op_mod:
      if (!ws.delayed.empty()) {
        // The draws in the order they always were: cpu, work, delay.
        const int cpu = ws.any_cpu();
        const int i = ws.any_delayed();
        const Duration d = kit::delay(ctx, max_delay_ns);
        if (live)
          ws.delay_call(i, d.count(), [&](SimDelayedWork& dw) {
            return op == op_delayed ? wq.queue_delayed_work_on(cpu, dw, d) : (wq.mod_delayed_work_on(cpu, dw, d), true);
          });
      }
      break;
    case op_cancel_delayed:
      if (!ws.delayed.empty()) {
        const bool sync = ctx.rng.chance(0.5);  // drawn before the work, as always
        const int i = ws.any_delayed();
        if (live)
          ws.delay_call(i, 0, [&](SimDelayedWork& dw) {
            sync ? eng.cancel_delayed_work_sync(dw) : eng.cancel_delayed_work(dw);
            return false;
          });
      }
      break;
    case op_flush_delayed:
      if (!ws.delayed.empty()) {
        const int i = ws.any_delayed();
        if (live)
          ws.delay_call(i, 0, [&](SimDelayedWork& dw) {
            eng.flush_delayed_work(dw);
            return false;
          });
      }
      break;
    case op_sleep: {
      const int64_t ns = ctx.rng.range(0, sleep_ns);
      if (live) ScenarioContext::sleep_ns(ns);
      break;
    }
    case op_hotplug: {
      int c = ws.any_cpu(false);
      if (!live) break;
      if (eng.cpu_is_online(c)) eng.cpu_offline(c);
      else eng.cpu_online(c);
      break;
    }
    case op_count: break;
  }
}

// The shrinker's name for client `who`'s operation `i`.
std::string op_site(int who, int i) { return "c" + std::to_string(who) + "." + std::to_string(i); }

// C8's first half, "an idle worker exits": once nothing is queued, armed
// or running, every CPU worker of a lazy queue exits within idle_timeout
// (virtual time: a client's sleep lets every engine thread run first).
// Inconclusive, so not judged, while anything is pending: a work that
// keeps requeueing itself, an armed timer, a huge idle timeout.
void check_idle_workers_exit(ScenarioContext& ctx, WorkSet& ws) {
  SimEngine& eng = *ctx.engine;
  SimWorkqueue& wq = *ws.wq;
  const int64_t idle = std::chrono::duration_cast<std::chrono::nanoseconds>(eng.config().idle_timeout).count();
  if (idle > 10'000'000) return;
  auto busy = [&] {
    for (const auto& w : ws.works)
      if (w->pending()) return true;
    for (const auto& d : ws.delayed)
      if (d->pending()) return true;
    return false;
  };
  for (int round = 0; round < 4; ++round) {
    // Each flush waits for what was queued before it; requeues are bounded.
    for (int i = 0; i < 64 && busy(); ++i) wq.flush();
    if (busy()) return;
    const uint64_t ran = eng.stats().works_run;  // counted as runs end
    ScenarioContext::sleep_ns(2 * idle + 200'000);  // past every idle timeout
    // A run under way when the sleep began (queued after the flush began)
    // ended meanwhile, or requeued: its worker's idle time began late.
    if (busy() || eng.stats().works_run != ran) continue;
    // From the events, not live_threads: an exited worker counts there
    // until the core joins it, which may come a little after the exit.
    std::map<uint32_t, int> alive;  // the queue's CPU workers not exited: thread -> CPU
    for (const Event& e : eng.events()) {
      if (e.queue != wq.id()) continue;
      if (e.type == EventType::spawn && e.cpu != eng.config().core_cpu) alive[e.thread] = e.cpu;
      if (e.type == EventType::idle_exit || e.type == EventType::thread_exit) alive.erase(e.thread);
    }
    if (alive.empty()) return;
    if (round < 3) continue;  // a slow exit (the swarm's delays) gets more time; a missing one does not end
    std::string which;
    for (const auto& [thread, cpu] : alive)
      which += (which.empty() ? "" : ", ") + std::string("cpu ") + std::to_string(cpu) + " (thread w" +
               std::to_string(thread) + ")";
    ctx.expect(false, "C8",
               "lazy workqueue '" + wq.name() + "' still has " + std::to_string(alive.size()) + " CPU worker(s) [" +
                   which + "] after sitting idle for twice its idle_timeout (" + std::to_string(idle) +
                   " ns) plus 200 us with nothing queued, armed or running: an idle worker exits (C8)");
    return;
  }
}

// Ends a scenario: bring CPUs back, flush, destroy (C14 drains everything,
// so the oracle can demand that every queueing ran).
void finish(ScenarioContext& ctx, WorkSet& ws) {
  SimWorkqueue& wq = *ws.wq;
  for (int c = 0; c < ctx.engine->ncpus(); ++c)
    if (c != ctx.engine->config().core_cpu) ctx.engine->cpu_online(c);
  kit::set_faults(ctx, *ctx.engine, {});
  wq.flush();
  // From a side stream (every other draw stays as it was): in half the
  // runs the queue first sits idle, for C8's first half; in the others
  // destroy meets the last runs' requeues and idle exits.
  if (wq.kind() == WqKind::lazy && Rng(ctx.rng).fork(0x1d1e).chance(0.5)) check_idle_workers_exit(ctx, ws);
  wq.destroy();
}

// --- the scenarios ---------------------------------------------------------

// Admitted race 1: thread creation fails while work is queued for the CPU.
void creation_failure(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(4, 200us, 30us);
  // Sometimes the faults come with the engine, before the queue exists
  // (EngineConfig::spawn_faults): the Nth creation fails, never the first,
  // the core thread (that would be Error(spawn_failed) from create).
  Rng side = Rng(ctx.rng).fork(0xbef0);
  const bool from_config = !ctx.params.has("fail_p") && side.below(4) == 0;
  if (from_config) {
    cfg.spawn_faults = {.fail_nth = static_cast<uint64_t>(side.range(2, 5))};
    ctx.note("faults", "config nth=" + std::to_string(cfg.spawn_faults.fail_nth));
  }
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  auto& wq = kit::create_queue(ctx, eng, "lazy", WqKind::lazy);
  double p = knob_p(ctx, "fail_p", {0.3, 0.6, 0.9, 1.0});
  const uint64_t fault_seed = ctx.rng.next();
  if (!from_config) kit::set_faults(ctx, eng, {.fail_probability = p, .seed = fault_seed});
  int nclients = static_cast<int>(knob(ctx, "clients", 1, 3));
  int nops = static_cast<int>(knob(ctx, "ops", 6, 20));
  WorkSet ws(ctx, wq, static_cast<int>(knob(ctx, "works", 2, 6)), 0, 2, 0.3, 3000);
  ctx.clients(nclients, [&](int who) {
    for (int i = 0; i < nops; ++i) {
      const int cpu = ws.any_cpu(false);
      SimWork& w = ws.any();
      if (ctx.op(op_site(who, i))) wq.queue_work_on(cpu, w);
      if (ctx.rng.chance(0.2)) {
        SimWork& f = ws.any();
        if (ctx.op(op_site(who, i) + "f")) eng.flush_work(f);
      }
      if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 40000));
    }
  });
  finish(ctx, ws);
}

// Admitted race 2: a lazy worker decides to exit while work is queued for it.
void idle_exit_race(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(3, 20us, 10us));
  SimEngine& eng = *scoped;
  auto& wq = kit::create_queue(ctx, eng, "lazy", WqKind::lazy);
  // The engine swarm may draw 0 or a huge idle timeout: come back after a
  // bounded time then (no worker ever exits, or every one at once).
  const int64_t idle = std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(eng.config().idle_timeout).count(), 4, 10'000'000);
  int rounds = static_cast<int>(knob(ctx, "rounds", 4, 12));
  int nclients = static_cast<int>(knob(ctx, "clients", 1, 2));
  WorkSet ws(ctx, wq, 4, 0, 0, 0, 0);
  ctx.clients(nclients, [&](int who) {
    for (int r = 0; r < rounds; ++r) {
      const int cpu = ws.any_cpu(false);
      SimWork& w = ws.any();
      if (ctx.op(op_site(who, r))) wq.queue_work_on(cpu, w);
      // Come back right around the moment the worker's idle timeout fires.
      ScenarioContext::sleep_ns(idle + ctx.rng.range(-idle / 4, idle / 2));
    }
  });
  finish(ctx, ws);
}

// Admitted race 3: migration from the core thread, raced by flush and cancel.
void migration(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(4, 100us, 10us));
  SimEngine& eng = *scoped;
  auto& wq = kit::create_queue(ctx, eng, "lazy", WqKind::lazy);
  int burst = static_cast<int>(knob(ctx, "burst", 2, 6));
  int rounds = static_cast<int>(knob(ctx, "rounds", 2, 5));
  WorkSet ws(ctx, wq, static_cast<int>(knob(ctx, "works", 4, 10)), 0, 1, 0.2, 2000);
  ctx.clients(3, [&](int who) {
    for (int r = 0; r < rounds; ++r) {
      if (who < 2) {
        int cpu = ws.any_cpu(false);  // a burst for one CPU piles up on the core list
        for (int i = 0; i < burst; ++i) wq.queue_work_on(cpu, ws.any());
        ScenarioContext::sleep_ns(ctx.rng.range(0, 200000));  // sometimes past the idle timeout
      } else {
        switch (ctx.rng.below(3)) {
          case 0: eng.flush_work(ws.any()); break;
          case 1: eng.cancel_work_sync(ws.any()); break;
          default: eng.cancel_work(ws.any()); break;
        }
      }
    }
  });
  finish(ctx, ws);
}

// CPU hotplug while work is queued, migrated and run.
void hotplug(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(4, 50us, 10us));
  SimEngine& eng = *scoped;
  const WqKind drawn[] = {WqKind::lazy, WqKind::per_cpu, WqKind::shared};
  WqKind kind = kind_knob(ctx, drawn[ctx.rng.below(3)], false);
  auto& wq = kit::create_queue(ctx, eng, "hp", kind);
  int nops = static_cast<int>(knob(ctx, "ops", 8, 20));
  WorkSet ws(ctx, wq, 6, 0, 1, 0.2, 3000);
  // From a side stream (the other draws stay as they were): in half the
  // runs a second hotplug client, so two threads may bring one CPU online
  // at once; in half creation faults; in half a client that creates and
  // destroys per_cpu queues meanwhile, so a queue's start() and cpu_online
  // may both want to create one CPU's worker (one creator at a time:
  // mutation testing found that wait unchecked).
  Rng side = Rng(ctx.rng).fork(0x407);
  const bool two_pluggers = side.chance(0.5);
  const double fail_p = side.chance(0.5) ? 0.3 : 0.0;
  const bool creator = side.chance(0.5);
  ctx.note("hotplug_clients", two_pluggers ? 2 : 1);
  ctx.note("queue_creator", creator ? 1 : 0);
  if (fail_p > 0) kit::set_faults(ctx, eng, {.fail_probability = fail_p, .seed = side.next()});
  enum Role { plugger, worker, queue_maker };
  std::vector<Role> roles = {plugger, worker, worker};
  if (two_pluggers) roles.push_back(plugger);
  if (creator) roles.push_back(queue_maker);
  const int ncpus = eng.config().ncpus;
  ctx.clients(static_cast<int>(roles.size()), [&](int who) {
    for (int i = 0; i < nops; ++i) {
      switch (roles[static_cast<size_t>(who)]) {
        case plugger:
          run_op(ctx, ws, op_hotplug, 0, 0);
          ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
          break;
        case worker: run_op(ctx, ws, ctx.rng.chance(0.8) ? op_queue : op_flush_work, 0, 0); break;
        case queue_maker: {
          if (i % 4 != 0) break;  // a few queues per run
          SimWorkqueue* q = nullptr;
          try {
            q = &kit::create_queue(ctx, eng, "made" + std::to_string(i), WqKind::per_cpu);
          } catch (const Error& e) {
            // Creation faults may fail the queue's first creations (C7).
            ctx.expect(e.code() == Errc::spawn_failed && fail_p > 0, "C7",
                       std::string("create_workqueue threw Error(") + std::string(to_string(e.code())) + ")");
            break;
          }
          SimWork mine([](SimWork&) {}, "made_work");
          q->queue_work_on(static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))), mine);
          ScenarioContext::sleep_ns(ctx.rng.range(0, 10000));
          q->destroy();
          break;
        }
      }
    }
  });
  finish(ctx, ws);
}

// Flushes and cancels against self-requeueing works.
void flush_cancel_storm(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(3, 100us, 10us));
  SimEngine& eng = *scoped;
  WqKind kind = kind_knob(ctx, WqKind::lazy, true);
  auto& wq = kit::create_queue(ctx, eng, "storm", kind);
  Weights w = swarm_weights(ctx, {{op_queue, 8}, {op_flush_work, 3}, {op_cancel_sync, 3}, {op_cancel, 3}, {op_flush_wq, 2}});
  int nops = static_cast<int>(knob(ctx, "ops", 8, 24));
  WorkSet ws(ctx, wq, static_cast<int>(knob(ctx, "works", 2, 5)), 0, 3, 0.5, 2000);
  ctx.clients(static_cast<int>(knob(ctx, "clients", 2, 3)), [&](int who) {
    for (int i = 0; i < nops; ++i) run_op(ctx, ws, w.draw(ctx.rng), 0, 0, op_site(who, i));
  });
  finish(ctx, ws);
}

// Delayed works: arm, re-arm, cancel and flush them against their timers.
void delayed_work(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(3, 100us, 10us));
  SimEngine& eng = *scoped;
  auto& wq = kit::create_queue(ctx, eng, "delayed", WqKind::lazy);
  Weights w = swarm_weights(ctx, {{op_delayed, 6}, {op_mod, 3}, {op_cancel_delayed, 3}, {op_flush_delayed, 3},
                                  {op_sleep, 3}, {op_queue, 2}});
  int nops = static_cast<int>(knob(ctx, "ops", 8, 20));
  WorkSet ws(ctx, wq, 2, static_cast<int>(knob(ctx, "delayed", 1, 4)), 0, 0, 1000);
  const int64_t max_delay = knob(ctx, "max_delay_us", 5, 100) * 1000;
  ctx.clients(2, [&](int who) {
    for (int i = 0; i < nops; ++i) run_op(ctx, ws, w.draw(ctx.rng), max_delay, max_delay, op_site(who, i));
  });
  ws.delay_bounds.drain_begin(ws.engine_now());  // finish destroys the queue
  finish(ctx, ws);
  ws.check_delays();
}

// Everything at once, with swarm weights and faults.
void mixed(ScenarioContext& ctx) {
  ScopedEngine scoped(ctx, ctx.engine_config(4, 50us, 10us));
  SimEngine& eng = *scoped;
  WqKind kind = kind_knob(ctx, WqKind::lazy, true);
  auto& wq = kit::create_queue(ctx, eng, "mixed", kind);
  // One run in three also has a second queue of another drawn kind, and
  // a share of the queueings (plain, delayed, mod) and queue flushes go
  // there: works move between two queues (side stream, see WorkSet).
  Rng side2 = Rng(ctx.rng).fork(0x2ce2);
  SimWorkqueue* wq2 = nullptr;  // before the faults: its creation must not fail
  if (side2.below(3) == 0) {
    const WqKind kind2 = static_cast<WqKind>(side2.below(5));
    wq2 = &kit::create_queue(ctx, eng, "mixed2", kind2);
  }
  double p = knob_p(ctx, "fail_p", {0.0, 0.0, 0.2, 0.5});
  SpawnFaults faults{.fail_probability = p, .seed = ctx.rng.next()};
  // The other ways to fail creations (SpawnFaults), from a side stream:
  // the Nth creation, the next N, every one (C7: never a hang).
  Rng side = Rng(ctx.rng).fork(0xfa17);
  switch (ctx.params.has("fail_p") ? 0 : side.below(6)) {
    case 1: faults = {.fail_nth = static_cast<uint64_t>(side.range(1, 4))}; ctx.note("faults", "nth=" + std::to_string(faults.fail_nth)); break;
    case 2: faults = {.fail_next = static_cast<uint64_t>(side.range(1, 3))}; ctx.note("faults", "next=" + std::to_string(faults.fail_next)); break;
    case 3: faults = {.fail_always = true}; ctx.note("faults", "always"); break;
    default: break;
  }
  kit::set_faults(ctx, eng, faults);
  Weights w = swarm_weights(ctx, {{op_queue, 10}, {op_flush_work, 3}, {op_cancel_sync, 2}, {op_cancel, 2},
                                  {op_flush_wq, 2}, {op_delayed, 3}, {op_mod, 2}, {op_cancel_delayed, 2},
                                  {op_flush_delayed, 2}, {op_sleep, 3}, {op_hotplug, 1}});
  int nops = static_cast<int>(knob(ctx, "ops", 8, 24));
  WorkSet ws(ctx, wq, static_cast<int>(knob(ctx, "works", 2, 6)), 2, 2, 0.3, 3000);
  if (wq2) {
    ws.wq2 = wq2;
    ws.stray_p = side2.chance(0.5) ? 0.2 : 0.5;
    ws.stray_rng = side2.fork(1);
    ctx.note("queue2", std::string(to_string(wq2->kind())) + ",stray_p=" + (ws.stray_p < 0.3 ? "0.2" : "0.5"));
  }
  ctx.clients(static_cast<int>(knob(ctx, "clients", 1, 3)), [&](int who) {
    for (int i = 0; i < nops; ++i) run_op(ctx, ws, w.draw(ctx.rng), 60000, 60000, op_site(who, i));
  });
  ws.delay_bounds.drain_begin(ws.engine_now());  // the destroys fire what is armed
  if (wq2) {
    wq2->flush();
    wq2->destroy();
  }
  finish(ctx, ws);
  ws.check_delays();
}

// C16: works wait for each other across queues of every kind. Each work
// has a fixed plan of up to two waits (flush_work, cancel_work_sync,
// queue-then-flush, flush_workqueue), mostly "downhill" (on works with a
// higher index: acyclic in works) and sometimes uphill (cycles). Executors
// make cycles of their own (a wait on a work queued behind yourself). The
// engine runs with DependencyCheck::error: every wait that would close a
// cycle is refused with Error(deadlock), so the run must never hang. A hang
// here is a cycle the detector missed: rule C16 (Scenario::hang_rule).
void dependency(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 100us, 10us, /*min_ncpus=*/1);
  cfg.dependency_check = DependencyCheck::error;
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int nqueues = static_cast<int>(knob(ctx, "queues", 2, 3));
  const int nworks = static_cast<int>(knob(ctx, "works", 3, 6));
  const double uphill_p = knob_p(ctx, "uphill_p", {0.0, 0.1, 0.3});
  // A stray queueing puts a work on a queue other than its home, where it
  // may wait behind its own run on the home queue's thread: the wait for
  // it then waits for that run too (C3 with C5), a wait-for edge no
  // executor adds while the CPU's worker is busy elsewhere (mutation
  // testing: drop_conjunct wait_targets/2@17ea25 survived without it).
  const double stray_p = knob_p(ctx, "stray_p", {0.0, 0.3});
  // The callbacks' strays draw from a side stream: the seeds that once
  // failed (tests/sim, Regressions) keep the runs they had.
  Rng stray_rng = Rng(ctx.rng).fork(0x57a7);
  // Two shapes the detector's edges need, from side streams of their own
  // (issue #14: wait_targets' and note_wait's mutants of them were killed
  // by unit tests only): an ordered shared queue, whose one active slot a
  // waiter holds; and delayed works that a work arms (on its own queue,
  // whose core or manager fires the timer) before it waits, and that
  // other works flush_work while armed: a cycle through the executor that
  // fires the timer.
  // Drawn per seed (half the runs), from a coin of its own so that a run
  // given shapes=1 keeps its draws. They found four kinds of cycle the
  // detector missed (tests/sim Regressions): a timer armed behind a run
  // elsewhere; an ordered shared slot whose holder runs elsewhere; and,
  // closed after every wait of the cycle began, a queueing or a timer's
  // firing into a core order that a run elsewhere holds (note_core_skip),
  // and a work activated into an ordered shared slot while its run is
  // elsewhere (pool_dispatch_locked).
  Rng shape_coin = Rng(ctx.rng).fork(0x5a9e);
  const bool drawn_shapes = shape_coin.chance(0.5);
  const bool shapes = ctx.params.get_int("shapes", drawn_shapes ? 1 : 0) != 0;
  ctx.note("shapes", shapes ? 1 : 0);
  Rng shape_rng = Rng(ctx.rng).fork(0xd1a7);
  Rng timer_rng = Rng(ctx.rng).fork(0x7153);
  std::vector<SimWorkqueue*> queues;
  for (int q = 0; q < nqueues; ++q) {
    const auto kind = static_cast<WqKind>(ctx.rng.range(0, 4));
    WqOptions opts;
    opts.ordered = shapes && kind == WqKind::shared && shape_rng.chance(0.5);
    ctx.note("kind" + std::to_string(q), std::string(to_string(kind)) + (opts.ordered ? ",ordered" : ""));
    queues.push_back(&kit::create_queue(ctx, eng, "q" + std::to_string(q), kind, opts));
  }
  // After wait_kinds: the main stream draws below(wait_kinds) as before.
  enum WaitKind { wait_flush, wait_cancel_sync, wait_queue_flush, wait_flush_wq, wait_kinds, wait_arm, wait_flush_timer };
  struct Wait {
    WaitKind kind;
    int target;  // a work, or a queue for wait_flush_wq
  };
  struct Node {
    int home = 0;
    std::vector<Wait> plan;
    int runs = 0;
  };
  std::vector<Node> nodes(static_cast<size_t>(nworks));
  std::string graph;
  for (int i = 0; i < nworks; ++i) {
    Node& n = nodes[static_cast<size_t>(i)];
    n.home = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nqueues)));
    const int nwaits = static_cast<int>(ctx.rng.range(0, 2));
    for (int k = 0; k < nwaits; ++k) {
      const auto kind = static_cast<WaitKind>(ctx.rng.below(wait_kinds));
      int target;
      if (kind == wait_flush_wq) {
        target = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nqueues)));
      } else if (i + 1 < nworks && !ctx.rng.chance(uphill_p)) {
        target = static_cast<int>(ctx.rng.range(i + 1, nworks - 1));
      } else {
        target = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nworks)));
      }
      n.plan.push_back({kind, target});
      graph += " w" + std::to_string(i) + (kind == wait_flush_wq ? ">q" : ">w") + std::to_string(target);
    }
  }
  const int ntimers = shapes && shape_rng.chance(0.5) ? static_cast<int>(shape_rng.range(1, 2)) : 0;
  for (int i = 0; ntimers > 0 && i < nworks; ++i) {
    Node& n = nodes[static_cast<size_t>(i)];
    if (shape_rng.chance(0.4)) {
      const int t = static_cast<int>(shape_rng.below(static_cast<uint64_t>(ntimers)));
      n.plan.insert(n.plan.begin(), {wait_arm, t});
      graph += " w" + std::to_string(i) + "~t" + std::to_string(t);
    }
    if (shape_rng.chance(0.4)) {
      const int t = static_cast<int>(shape_rng.below(static_cast<uint64_t>(ntimers)));
      n.plan.push_back({wait_flush_timer, t});
      graph += " w" + std::to_string(i) + ">t" + std::to_string(t);
    }
  }
  ctx.note("waits", graph.empty() ? "none" : graph.substr(1));
  std::vector<std::unique_ptr<SimDelayedWork>> timers;
  for (int t = 0; t < ntimers; ++t) timers.push_back(std::make_unique<SimDelayedWork>([](SimWork&) {}, "t" + std::to_string(t)));
  int refused = 0;
  std::vector<std::unique_ptr<SimWork>> works;
  auto on_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(eng.ncpus()))); };
  for (int i = 0; i < nworks; ++i)
    works.push_back(std::make_unique<SimWork>(
        [&, i](SimWork&) {
          Node& n = nodes[static_cast<size_t>(i)];
          if (n.runs++ >= 2) return;  // the plan runs twice at most: every chain ends
          if (stray_p > 0 && ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));  // busy
          for (const Wait& w : n.plan) {
            try {
              if (w.kind == wait_arm) {
                queues[static_cast<size_t>(n.home)]->queue_delayed_work_on(
                    static_cast<int>(timer_rng.below(static_cast<uint64_t>(eng.ncpus()))), *timers[static_cast<size_t>(w.target)],
                    std::chrono::nanoseconds(timer_rng.range(1000, 50000)));
                continue;
              }
              if (w.kind == wait_flush_timer) {
                eng.flush_work(*timers[static_cast<size_t>(w.target)]);
                continue;
              }
              SimWork& t = *works[static_cast<size_t>(w.target % nworks)];
              switch (w.kind) {
                case wait_flush: eng.flush_work(t); break;
                case wait_cancel_sync: eng.cancel_work_sync(t); break;
                case wait_queue_flush: {
                  const size_t q = stray_p > 0 && stray_rng.chance(stray_p)
                                       ? stray_rng.below(static_cast<uint64_t>(nqueues))
                                       : static_cast<size_t>(nodes[static_cast<size_t>(w.target)].home);
                  queues[q]->queue_work_on(on_cpu(), t);
                  eng.flush_work(t);
                  break;
                }
                case wait_flush_wq: queues[static_cast<size_t>(w.target)]->flush(); break;
                case wait_kinds:
                case wait_arm:
                case wait_flush_timer: break;
              }
            } catch (const Error& e) {
              if (e.code() == Errc::deadlock) ++refused;  // a cycle refused (or a direct self-wait)
              // queue_rejected / queue_destroyed while the run winds down: fine
            }
          }
        },
        "w" + std::to_string(i)));
  ctx.clients(static_cast<int>(knob(ctx, "clients", 1, 2)), [&](int) {
    const int nops = static_cast<int>(ctx.rng.range(2, 6));
    for (int k = 0; k < nops; ++k) {
      const int i = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nworks)));
      const size_t q = stray_p > 0 && ctx.rng.chance(stray_p) ? ctx.rng.below(static_cast<uint64_t>(nqueues))
                                                             : static_cast<size_t>(nodes[static_cast<size_t>(i)].home);
      try {
        queues[q]->queue_work_on(on_cpu(), *works[static_cast<size_t>(i)]);
      } catch (const Error&) {
      }
      if (ctx.rng.chance(0.5)) ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
    }
  });
  for (int round = 0; round < 2; ++round)
    for (auto* q : queues) q->flush();
  for (auto* q : queues) q->destroy();
  // Every cycle a caller's wait closed was refused (the engine's own C3
  // waits cannot be refused: those are reported only).
  const auto reports = eng.dependency_cycles();
  uint64_t by_callers = 0;
  for (const auto& c : reports)
    if (!c.chain.empty() && c.chain.front().find("C3 wait") == std::string::npos) ++by_callers;
  ctx.expect(reports.size() >= 64 || static_cast<uint64_t>(refused) >= by_callers, "C16",
             "callers' waits closed " + std::to_string(by_callers) + " cycles in error mode but only " +
                 std::to_string(refused) + " waits were refused");
}

// C16's other half, the shared kind: works on shared queues (plain, high
// priority, unbound; ordered ones never wait) wait for works with a higher
// index only: an acyclic graph, which must complete (a hang is C16). With
// signal_p > 0 some works also wait for a later work's signal outside the
// engine (a condition variable): only the stall watchdog can help there.
// Without such waits the watchdog must never be needed: every wait is one
// the engine sees and manages (rule C16 again). Works also requeue
// themselves while they run, across CPUs (C3 across pools).
void shared_deps(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(3, 100us, 10us, /*min_ncpus=*/1);
  // Virtual time also passes while threads run (each step costs some):
  // far beyond any run's length, so only a true stall trips the watchdog.
  cfg.stall_timeout = 5ms;
  // A wait may last a watchdog stall per blocked work in its chain (clean
  // runs: up to 16 ms): the horizon allows 64 of them.
  ctx.world.extend_horizon(64 * std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.stall_timeout).count());
  // cap 64: beyond any run's blocked threads, a rescue means a failed
  // creation. cap 1: a pool is at its cap as soon as its one worker
  // blocks; the rescuer runs the rest, following chains of waits through
  // blocked workers. Drawn from a side stream: the draws below, and the
  // seeds that once failed (tests/sim, Regressions), stay as they were.
  Rng side = Rng(ctx.rng).fork(0xca9);
  const int cap = static_cast<int>(ctx.params.has("cap") ? ctx.params.get_int("cap", 64) : side.below(3) == 0 ? 1 : 64);
  ctx.params.get_int("cap", cap);  // mark as known
  if (cap < 1 || cap > 1024) throw std::invalid_argument("parameter cap must be in 1..1024, got " + std::to_string(cap));
  ctx.note("cap", cap);
  cfg.max_workers_per_pool = cap;
  // Issue #13's knobs, from a second side stream: the DependencyCheck mode
  // (an acyclic graph is never refused nor reported, in any mode) and, per
  // queue, a small max_active whose works never wait and which a waiter
  // fills before it flushes one of them (the rescuer must free a slot).
  Rng side2 = Rng(ctx.rng).fork(0x5107);
  cfg.dependency_check = kit::check_knob(ctx, side2);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int nqueues = static_cast<int>(knob(ctx, "queues", 1, 3));
  // Creation faults (after the manager and the rescuer exist): the rescuer
  // runs works, and a rescued work may wait for another one. With fail_p 1
  // creation fails for good: the rescuer alone runs everything, the works
  // it waits for nested in its waits (C7: never a hang).
  const double fail_p = knob_p(ctx, "fail_p", {0.0, 0.0, 0.3, 1.0});
  const int nworks = static_cast<int>(knob(ctx, "works", 3, 8));
  // A signal wait needs a second thread to run the signaller: none ever
  // exists when creation fails for good, nor beyond a pool's cap once the
  // rescuer waits too, so those runs have engine waits only (a signal_p
  // given with them is read, and overridden, visibly).
  // A cooldown that never ends makes the first failure permanent too.
  const bool fails_for_good = fail_p >= 1.0 || (fail_p > 0.0 && cfg.spawn_cooldown >= std::chrono::hours(1));
  double signal_p = 0.0;
  if (!fails_for_good && cap > 1) {
    signal_p = knob_p(ctx, "signal_p", {0.0, 0.0, 0.3});
  } else {
    ctx.params.get_double("signal_p", 0.0);
    ctx.note("signal_p", fails_for_good ? "0 (creation fails for good: no thread to signal)" : "0 (cap=1: no thread to signal)");
  }
  const double requeue_p = knob_p(ctx, "requeue_p", {0.0, 0.3});
  std::vector<SimWorkqueue*> queues;
  std::vector<bool> ordered;
  std::vector<bool> small;  // max_active 2 or 3
  for (int q = 0; q < nqueues; ++q) {
    const int o = static_cast<int>(ctx.rng.below(4));
    WqOptions opts;
    opts.highpri = o == 1;
    opts.unbound = o == 2;
    opts.ordered = o == 3;
    if (!opts.ordered && side2.below(3) == 0) opts.max_active = static_cast<int>(side2.range(2, 3));
    ctx.note("q" + std::to_string(q), std::string(o == 0 ? "plain" : o == 1 ? "highpri" : o == 2 ? "unbound" : "ordered") +
                                          (opts.max_active ? ",max_active=" + std::to_string(opts.max_active) : ""));
    queues.push_back(&kit::create_queue(ctx, eng, "s" + std::to_string(q), WqKind::shared, opts));
    ordered.push_back(opts.ordered);
    small.push_back(opts.max_active > 0);
  }
  enum WaitKind { wait_flush, wait_cancel_sync, wait_queue_flush, wait_signal, wait_fill_flush, wait_kinds };
  struct Wait {
    WaitKind kind;
    int target;
  };
  struct Node {
    int home = 0;
    std::vector<Wait> plan;
    int runs = 0;
    bool signalled = false;  // SimPlatform::Mutex below
    bool requeue = false;
  };
  std::vector<Node> nodes(static_cast<size_t>(nworks));
  std::string graph;
  for (int i = 0; i < nworks; ++i) {
    Node& n = nodes[static_cast<size_t>(i)];
    n.home = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nqueues)));
    n.requeue = ctx.rng.chance(requeue_p);
    if (ordered[static_cast<size_t>(n.home)] || i + 1 >= nworks) continue;  // holding an ordered slot, never wait
    const int nwaits = static_cast<int>(ctx.rng.range(0, 2));
    for (int k = 0; k < nwaits; ++k) {
      WaitKind kind = static_cast<WaitKind>(ctx.rng.below(3));
      // A cancel could take away the run a signal waits for: not both.
      if (signal_p > 0.0 && kind == wait_cancel_sync) kind = wait_flush;
      if (ctx.rng.chance(signal_p)) kind = wait_signal;
      const int target = static_cast<int>(ctx.rng.range(i + 1, nworks - 1));
      n.plan.push_back({kind, target});
    }
  }
  // A small queue's works hold its few slots: they never wait (a chain
  // longer than max_active within one queue can block, C16's known
  // limit). A flush of one of them sometimes fills its queue first.
  for (int i = 0; i < nworks; ++i) {
    Node& n = nodes[static_cast<size_t>(i)];
    if (small[static_cast<size_t>(n.home)]) n.plan.clear();
    for (Wait& w : n.plan) {
      if (small[static_cast<size_t>(nodes[static_cast<size_t>(w.target)].home)] && w.kind != wait_signal &&
          side2.chance(0.5))
        w.kind = wait_fill_flush;
      const char* names[] = {">w", "~w", "+>w", "?w", "*>w"};
      graph += " w" + std::to_string(i) + names[w.kind] + std::to_string(w.target);
    }
  }
  ctx.note("waits", graph.empty() ? "none" : graph.substr(1));
  // In a third of the runs (a third side stream: the other runs are as
  // before), a leaf queue whose works never wait; some works queue a leaf
  // and flush that whole queue (flush_workqueue) after their plan: a pool
  // thread, or the rescuer, waiting for an epoch (mutation testing found
  // that wait unchecked under creation faults).
  Rng side3 = Rng(ctx.rng).fork(0xa3f1);
  SimWorkqueue* leaf_q = nullptr;
  std::vector<std::unique_ptr<SimWork>> leaves;
  std::vector<bool> flushes_leaf(static_cast<size_t>(nworks), false);
  if (side3.below(3) == 0) {
    WqOptions lopts;
    lopts.ordered = side3.chance(0.5);
    leaf_q = &kit::create_queue(ctx, eng, "leaf", WqKind::shared, lopts);
    const int nleaves = static_cast<int>(side3.range(1, 3));
    for (int k = 0; k < nleaves; ++k) leaves.push_back(std::make_unique<SimWork>([](SimWork&) {}, "leaf" + std::to_string(k)));
    std::string who;
    for (int i = 0; i < nworks; ++i)
      if (!small[static_cast<size_t>(nodes[static_cast<size_t>(i)].home)] && !ordered[static_cast<size_t>(nodes[static_cast<size_t>(i)].home)] &&
          side3.chance(0.4)) {
        flushes_leaf[static_cast<size_t>(i)] = true;
        who += " w" + std::to_string(i);
      }
    ctx.note("leaf", std::string(lopts.ordered ? "ordered" : "plain") + " x" + std::to_string(nleaves) + ", flushed by" +
                         (who.empty() ? std::string(" none") : who));
  }
  kit::set_faults(ctx, eng, {.fail_probability = fail_p, .seed = ctx.rng.next()});
  SimPlatform::Mutex signal_lock;
  SimPlatform::CondVar signal_cv;
  std::vector<std::unique_ptr<SimWork>> works;
  auto on_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(eng.ncpus()))); };
  auto home_of = [&](int i) -> SimWorkqueue& { return *queues[static_cast<size_t>(nodes[static_cast<size_t>(i)].home)]; };
  for (int i = 0; i < nworks; ++i)
    works.push_back(std::make_unique<SimWork>(
        [&, i](SimWork& self) {
          Node& n = nodes[static_cast<size_t>(i)];
          const int run = n.runs++;
          if (run == 0 && n.requeue) home_of(i).queue_work_on(on_cpu(), self);  // C3: requeued while it runs
          for (const Wait& w : n.plan) {
            SimWork& t = *works[static_cast<size_t>(w.target)];
            switch (w.kind) {
              case wait_flush: eng.flush_work(t); break;
              case wait_cancel_sync: eng.cancel_work_sync(t); break;
              case wait_queue_flush:
                home_of(w.target).queue_work_on(on_cpu(), t);
                eng.flush_work(t);
                break;
              case wait_fill_flush:
                // Every other work of the target's queue first: they take
                // its slots, the target waits inactive behind them.
                for (int j = 0; j < nworks; ++j)
                  if (j != w.target && j != i && nodes[static_cast<size_t>(j)].home == nodes[static_cast<size_t>(w.target)].home)
                    home_of(j).queue_work_on(on_cpu(), *works[static_cast<size_t>(j)]);
                home_of(w.target).queue_work_on(on_cpu(), t);
                eng.flush_work(t);
                break;
              case wait_signal: {
                // The signaller is queued on our own CPU, behind us.
                home_of(w.target).queue_work(t);
                detail::Guard g(signal_lock);
                while (!nodes[static_cast<size_t>(w.target)].signalled) signal_cv.wait(signal_lock);
                break;
              }
              case wait_kinds: break;
            }
          }
          if (flushes_leaf[static_cast<size_t>(i)]) {
            for (auto& l : leaves) leaf_q->queue_work_on(on_cpu(), *l);
            leaf_q->flush();
          }
          {
            detail::Guard g(signal_lock);
            n.signalled = true;
          }
          signal_cv.notify_all();
        },
        "w" + std::to_string(i)));
  ctx.clients(static_cast<int>(knob(ctx, "clients", 1, 2)), [&](int who) {
    const int nops = static_cast<int>(ctx.rng.range(2, 6));
    for (int k = 0; k < nops; ++k) {
      const int i = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(nworks)));
      const int cpu = on_cpu();
      if (ctx.op(op_site(who, k)))
        home_of(i).queue_work_on(cpu, *works[static_cast<size_t>(i)]);
      if (ctx.rng.chance(0.5)) ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
    }
  });
  for (auto* q : queues) q->flush();
  for (auto* q : queues) q->destroy();
  if (leaf_q) leaf_q->destroy();
  ctx.expect(eng.dependency_cycles().empty(), "C16",
             "an acyclic wait graph was reported as a cycle: " +
                 (eng.dependency_cycles().empty() ? std::string() : eng.dependency_cycles()[0].describe()));
  if (signal_p == 0.0)
    ctx.expect(eng.stats().watchdog_rescues == 0, "C16",
               "the stall watchdog rescued a pool " + std::to_string(eng.stats().watchdog_rescues) +
                   " times although every wait was an engine wait: a blocked thread was still counted as running");
}

}  // namespace

const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> list = {
      {"creation_failure", "admitted race 1: worker creation fails while work is queued for its CPU (C7, C4, C1)",
       "ncpus=4 idle_us=200 cooldown_us=30 fail_p=0.3|0.6|0.9|1 clients=1..3 ops=6..20 works=2..6", creation_failure, ""},
      {"idle_exit", "admitted race 2: a lazy worker decides to exit while work is queued for it (C8, C15)",
       "ncpus=3 idle_us=20 cooldown_us=10 rounds=4..12 clients=1..2", idle_exit_race, ""},
      {"migration", "admitted race 3: bursts migrate from the core thread while flush and cancel race them (C9, C5, C10, C12)",
       "ncpus=4 idle_us=100 cooldown_us=10 burst=2..6 rounds=2..5 works=4..10", migration, ""},
      {"hotplug", "CPUs go offline and online while work is queued and migrated (C13, C4, C5)",
       "ncpus=4 idle_us=50 cooldown_us=10 kind=0|1|4 ops=8..20", hotplug, ""},
      {"flush_cancel_storm", "flushes and cancels against self-requeueing works (C2, C10, C11, C12)",
       "ncpus=3 idle_us=100 cooldown_us=10 kind=0..4 ops=8..24 works=2..5 clients=2..3", flush_cancel_storm, ""},
      {"delayed", "delayed works armed, re-armed, cancelled and flushed against their timers (C12, C10)",
       "ncpus=3 idle_us=100 cooldown_us=10 ops=8..20 delayed=1..4 max_delay_us=5..100", delayed_work, ""},
      {"mixed", "every operation, swarm weights, creation faults and hotplug; one run in three moves works between two queues (C1-C15)",
       "ncpus=4 idle_us=50 cooldown_us=10 kind=0..4 fail_p=0|0.2|0.5 ops=8..24 works=2..6 clients=1..3", mixed, ""},
      {"dependency", "works wait for works and queues across every kind; cycles must be refused, never hang (C16)",
       "ncpus=3 idle_us=100 cooldown_us=10 queues=2..3 works=3..6 uphill_p=0|0.1|0.3 stray_p=0|0.3 clients=1..2 "
       "shapes=0|1 (ordered shared queues and armed timers)", dependency,
       "C16", /*may_cycle=*/true},
      {"shared_deps", "shared pools: acyclic waits (engine waits, signals, self-requeue, waits behind a small "
       "max_active) must complete (C16, C3, C7)",
       "ncpus=3 idle_us=100 cooldown_us=10 check=0|1|2 queues=1..3 (max_active 2..3 for some) works=3..8 fail_p=0|0.3|1 "
       "cap=64|1 signal_p=0|0.3 (0 if fail_p=1 or cap=1) requeue_p=0|0.3 clients=1..2",
       shared_deps, "C16"},
      {"callback_waits", "callbacks flush and cancel works that clients keep queueing on their CPU, every kind and "
       "DependencyCheck mode (C10, C12, C16: no hang, no false cycle)",
       "ncpus=3 idle_us=100 cooldown_us=10 check=0|1|2 kind=0..4 waiters=1..2 leaves=1..3 ops=8..24 clients=1..3",
       callback_waits, "C10"},
      {"rpc_client", "a real client: bursty submitters, retransmit timers racing cancels, continuations, flushes of "
       "other requests' works, periodic queue flushes, hotplug and faults, two queues of drawn kinds (C1-C17)",
       "ncpus=4 idle_us=100 cooldown_us=10 check=0|1|2 fail_p=0|0.3|1 requests=2..6 ops=6..20 submitters=1..3",
       rpc_client, ""},
      {"teardown", "queues destroyed (sometimes twice at once) while others queue, cancel, flush, drain and hotplug "
       "(C11, C13, C14)",
       "ncpus=3 idle_us=50 cooldown_us=10 check=0|1|2 queues=2..3 fail_p=0|0.3 ops=6..16 clients=1..2", teardown, ""},
      {"liveness", "producers keep queueing until the operation under test returns: flush_work, flush_delayed_work, "
       "flush_workqueue, cancel_work_sync or drain must return anyway (C10, C11, C12)",
       "ncpus=3 idle_us=100 cooldown_us=10 op=0..4 producers=1..2 fair=0|1 (unbounded producers; default 1 under random)", liveness, ""},
      {"lifetime", "clients free and reallocate works while copies of them wait on other CPUs for their runs: "
       "the destructor (cancel_work_sync, then the engine's waiters) must leave nothing using the freed work (C12, C3)",
       "ncpus=4 idle_us=50 cooldown_us=10 check=0|1|2 fail_p=0|0.3 clients=1..3 slots=1..2 ops=8..24", lifetime, ""},
      {"lifecycle", "queues of every kind created at once by several clients while a CPU goes offline and online "
       "and creation fails (once, sometimes, for good), then destroyed by two clients at once (C7, C10, C13, C14)",
       "ncpus=3 idle_us=20 cooldown_us=10 faults=1..4 (none, nth, p=0.4, always) creators=2..3 queues=1..2", lifecycle, ""},
      {"rescue", "creation fails for good once shared queues exist, or one pool has one thread: the rescuer runs "
       "works that flush, cancel and requeue each other and flush the other queue, nested in their waits; refusals "
       "only where a cycle can close, each judged by the oracle (C7, C12, C16)",
       "ncpus=2 idle_us=50 cooldown_us=10 check=0|1|2 cap=1..2 (1 or 64) one_pool=1..2 queues=1..2 works=3..6 "
       "clients=1..2",
       rescue, ""},
      {"watchdog", "shared works block unseen (busy, or waiting for a later work's signal), wait in the engine, then "
       "block unseen again with works queued behind them: one running thread per pool, the stall watchdog only when "
       "no run ends (C19, C16)",
       "ncpus=2 idle_us=200 cooldown_us=10 stall=1..2 (200 us or 1 ms) queues=1..2 works=3..7 clients=1..2", watchdog,
       "C16"},
  };
  return list;
}

const Scenario& find_scenario(const std::string& name) {
  for (auto& s : all_scenarios())
    if (s.name == name) return s;
  std::string known;
  for (auto& s : all_scenarios()) known += (known.empty() ? "" : ", ") + s.name;
  throw std::invalid_argument("unknown scenario '" + name + "' (known: " + known + ")");
}

}  // namespace lazywq::sim
