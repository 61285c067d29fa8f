// Named, parameterised workloads that run the engine on the simulated
// platform. One scenario per admitted race of the 2009 patch (creation
// failure, idle exit during queue, migration), plus hotplug, flush/cancel
// storm, delayed work and a mixed one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lazywq/engine_decl.hpp"
#include "sim/platform_sim.hpp"
#include "sim/rng.hpp"
#include "sim/world.hpp"

// The engine on the simulated platform is compiled once, in sim_engine.cpp.
namespace lazywq {
extern template class BasicEngine<sim::SimPlatform>;
extern template class BasicWorkqueue<sim::SimPlatform>;
extern template class BasicWork<sim::SimPlatform>;
}  // namespace lazywq

namespace lazywq::sim {

using SimEngine = BasicEngine<SimPlatform>;
using SimWorkqueue = BasicWorkqueue<SimPlatform>;
using SimWork = BasicWork<SimPlatform>;
using SimDelayedWork = BasicDelayedWork<SimPlatform>;

// `--param key=value` settings of a scenario, with defaults in the code.
class Params {
 public:
  Params() = default;
  // Parses "k=v,k2=v2" (or repeated --param): throws std::invalid_argument.
  void add(const std::string& assignment);
  int64_t get_int(const std::string& key, int64_t def) const;
  double get_double(const std::string& key, double def) const;
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const std::map<std::string, std::string>& all() const { return kv_; }
  // The value as given (marked as read), or "" if none.
  std::string get_string(const std::string& key) const;
  // Keys a scenario read: unknown keys are reported as errors.
  const std::map<std::string, bool>& used() const { return used_; }

 private:
  std::map<std::string, std::string> kv_;
  mutable std::map<std::string, bool> used_;
};

// What a scenario sees while it runs inside the world (on thread 0).
struct ScenarioContext {
  World& world;
  Rng rng;  // the workload's own stream
  const Params& params;
  PlantedBug bug = PlantedBug::none;
  SimEngine* engine = nullptr;            // while alive (see ScopedEngine)
  int pool_cap = 0;                       // its max_workers_per_pool (for the oracle)
  int core_cpu = 0;                       // its core CPU (for the oracle)
  int64_t idle_timeout_ns = -1;           // its idle_timeout (for the oracle; -1 none)
  int64_t stall_timeout_ns = -1;          // its stall_timeout (for the oracle; -1 none)
  int64_t spawn_cooldown_ns = -1;         // its spawn_cooldown (for the oracle; -1 none)
  std::vector<Event> events;              // the engine's events, copied when it goes away
  std::vector<std::string> config_lines;  // swarm draws, printed under the seed
  std::vector<std::pair<std::string, std::string>> failures;  // (rule, message) from the scenario itself
  // Set while the operation under test runs (liveness scenarios): the rule a
  // hang breaks, more precise than the scenario's hang_rule.
  std::string hang_rule;
  // The user-settable knobs this run drew, "knob=class" (sim/knobs.hpp):
  // the explorer unions them so a test can see every knob drawn somewhere.
  std::set<std::string> knobs;
  int queues_created = 0;  // so fault settings know they come after the queues
  // The operations this run did that the shrinker may leave out (op()).
  std::vector<std::string> op_sites;

  ScenarioContext(World& w, uint64_t seed, const Params& p, PlantedBug b)
      : world(w), rng(Rng(seed).fork(0x5ce7a)), params(p), bug(b) {}

  // record_events on, the planted bug, ncpus / idle / cooldown from params.
  // The scenario's values are defaults: the engine swarm draws ncpus
  // (min_ncpus..8), core_cpu, idle_timeout, spawn_cooldown (0, tiny, huge),
  // stall_timeout and dependency_check around them.
  EngineConfig engine_config(int default_ncpus, Duration default_idle, Duration default_cooldown, int min_ncpus = 2);
  void note(const std::string& key, const std::string& value) { config_lines.push_back(key + "=" + value); }
  void note(const std::string& key, int64_t value) { note(key, std::to_string(value)); }
  // An operation of the workload that a run can do without: false if
  // param `skip` (sites joined by '+', "c0.r2+c1.r0") leaves it out. The
  // caller makes the operation's draws either way, so the rest of the
  // seed's workload stays as it was; the shrinker (sim/shrink.cpp) leaves
  // out what the failure does not need. `site` names it the same in every
  // run of the seed (client and index, never an address or a time).
  bool op(const std::string& site);
  void expect(bool ok, const std::string& rule, const std::string& message) {
    if (!ok) failures.emplace_back(rule, message);
  }
  // Blocks the calling simulated thread for `ns` of virtual time.
  static void sleep_ns(int64_t ns);
  // Runs `fn(i)` on `n` simulated client threads and joins them.
  void clients(int n, const std::function<void(int)>& fn);
};

// Records the classes of every EngineConfig knob of `cfg` (sim/knobs.cpp).
void observe_config(ScenarioContext& ctx, const EngineConfig& cfg);

// The scenario's engine. While it lives, ctx.engine points to it (a run
// that hangs leaves it alive on its abandoned stack, and the runner reads
// its events there); when it goes away it leaves its events in ctx.events.
class ScopedEngine {
 public:
  ScopedEngine(ScenarioContext& ctx, const EngineConfig& cfg) : ctx_(ctx), engine_(cfg) {
    ctx_.engine = &engine_;
    ctx_.pool_cap = cfg.max_workers_per_pool;
    ctx_.core_cpu = cfg.core_cpu;
    ctx_.idle_timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.idle_timeout).count();
    ctx_.stall_timeout_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.stall_timeout).count();
    ctx_.spawn_cooldown_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.spawn_cooldown).count();
    observe_config(ctx_, cfg);
  }
  ~ScopedEngine() {
    if (std::uncaught_exceptions() == 0) check_accounting();
    ctx_.events = engine_.events();
    check_cycle_reports();
    ctx_.engine = nullptr;
  }
  SimEngine& operator*() { return engine_; }
  SimEngine* operator->() { return &engine_; }

 private:
  // C16's reports agree: every cycle counted in stats() has its
  // dependency_cycle event, and dependency_cycles() keeps the first 64.
  void check_cycle_reports() {
    const uint64_t counted = engine_.stats().dependency_cycles;
    const uint64_t kept = engine_.dependency_cycles().size();
    uint64_t recorded = 0;
    for (const Event& e : ctx_.events) recorded += e.type == EventType::dependency_cycle;
    ctx_.expect(recorded == counted && kept == std::min<uint64_t>(counted, 64), "C16",
                "the engine counted " + std::to_string(counted) + " wait-for cycle(s) (stats), recorded " +
                    std::to_string(recorded) + " dependency_cycle event(s) and kept " + std::to_string(kept) +
                    " chain(s) (dependency_cycles(): the first 64)");
  }

  // C18: stats() agrees with itself and with the events once no thread is
  // being created or joined, and with every queue gone no pool counts a
  // running thread or a pending work. The scenario is over, but pool threads may
  // still idle out and be joined between stats()'s reads (it takes several
  // locks): a mismatch is asked again, after 20 us, up to 50 times; a
  // counter that is wrong stays wrong.
  void check_accounting() {
    std::string problem;
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (attempt > 0) ScenarioContext::sleep_ns(20'000);
      const Stats s = engine_.stats();
      uint64_t spawns = 0, idle_exits = 0;
      for (const Event& e : engine_.events()) {
        spawns += e.type == EventType::spawn;
        idle_exits += e.type == EventType::idle_exit;
      }
      problem.clear();
      if (s.threads_created < s.threads_exited ||
          static_cast<int64_t>(s.live_threads) != static_cast<int64_t>(s.threads_created - s.threads_exited))
        problem += " live_threads " + std::to_string(s.live_threads) + " but threads_created - threads_exited = " +
                   std::to_string(s.threads_created) + " - " + std::to_string(s.threads_exited) + ";";
      if (s.threads_created != spawns)
        problem += " threads_created " + std::to_string(s.threads_created) + " but " + std::to_string(spawns) +
                   " spawn events;";
      if (s.idle_exits != idle_exits)
        problem += " idle_exits " + std::to_string(s.idle_exits) + " but " + std::to_string(idle_exits) +
                   " idle_exit events;";
      // Every queue destroyed (drained): no callback runs and nothing waits,
      // so no pool may count a running thread or a pending work.
      bool all_destroyed = true;
      for (const QueueStats& q : s.queues) all_destroyed = all_destroyed && q.destroyed;
      if (all_destroyed)
        for (const PoolStats& p : s.pools)
          if (p.running != 0 || p.pending != 0 || p.idle > p.workers)
            problem += " pool cpu " + std::to_string(p.cpu) + (p.highpri ? " highpri" : "") + ": running " +
                       std::to_string(p.running) + ", pending " + std::to_string(p.pending) + ", idle " +
                       std::to_string(p.idle) + " of " + std::to_string(p.workers) +
                       " workers with every queue destroyed;";
      if (problem.empty()) return;
    }
    ctx_.expect(false, "C18", "the engine's stats() disagree at the end of the run, asked 50 times over 1 ms:" + problem);
  }

  ScenarioContext& ctx_;
  SimEngine engine_;
};

struct Scenario {
  std::string name;
  std::string summary;  // one line: which race or rules it aims at
  std::string params;   // the keys it reads, with defaults
  std::function<void(ScenarioContext&)> body;
  // The rule a hang (deadlock, step limit) of this scenario breaks when the
  // event stream names no more precise one; empty: C15 (pending work with
  // nobody to run it).
  std::string hang_rule;
  // The workload may build real wait-for cycles (dependency): a hang after
  // the engine reported one is the workload's own deadlock, as the contract
  // allows in report mode. Everywhere else no cycle exists by construction,
  // so a report does not excuse a hang.
  bool may_cycle = false;
};

const std::vector<Scenario>& all_scenarios();
// Throws std::invalid_argument naming the known scenarios.
const Scenario& find_scenario(const std::string& name);

}  // namespace lazywq::sim
