#include "sim/knobs.hpp"

#include <cstddef>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

namespace {

// The number of members of an aggregate: a new knob in EngineConfig,
// WqOptions or SpawnFaults fails the build here until the table knows it.
struct AnyValue {
  template <class T>
  operator T() const;  // never defined: unevaluated only
};
template <class T, class... A>
constexpr size_t member_count() {
  if constexpr (requires { T{A{}..., AnyValue{}}; })
    return member_count<T, A..., AnyValue>();
  else
    return sizeof...(A);
}
static_assert(member_count<EngineConfig>() == 10,
              "EngineConfig changed: add its knob to sim/knobs.cpp's table, draw it in a scenario, list it in docs/KNOBS.md");
static_assert(member_count<WqOptions>() == 4,
              "WqOptions changed: add its knob to sim/knobs.cpp's table, draw it in a scenario, list it in docs/KNOBS.md");
static_assert(member_count<SpawnFaults>() == 5,
              "SpawnFaults changed: add its knob to sim/knobs.cpp's table, draw it in a scenario, list it in docs/KNOBS.md");

}  // namespace

const std::vector<KnobSpec>& knob_table() {
  static const std::vector<KnobSpec> table = {
      // EngineConfig (record_events and planted_bug are the harness's own)
      {"EngineConfig.ncpus", {"1", "2-3", "4-8"}, "every scenario (engine swarm; 1 where the workload allows); programs"},
      {"EngineConfig.core_cpu", {"0", "other"}, "every scenario (engine swarm); programs (core_cpu)"},
      {"EngineConfig.idle_timeout", {"0", "tiny", "normal", "huge"}, "every scenario (engine swarm); programs (idle_us)"},
      {"EngineConfig.spawn_cooldown", {"0", "tiny", "normal", "huge"}, "every scenario (engine swarm); programs (cooldown_us)"},
      {"EngineConfig.dependency_check", {"off", "report", "error"}, "every scenario (engine swarm; dependency: error); programs (dependency_check)"},
      {"EngineConfig.stall_timeout", {"0", "normal", "huge"}, "every scenario (engine swarm; shared_deps: small); programs (stall_us)"},
      {"EngineConfig.max_workers_per_pool", {"1", "many"}, "shared_deps; programs (max_workers_per_pool)"},
      // SpawnFaults, set in EngineConfig or by set_spawn_faults
      {"SpawnFaults.fail_probability", {"0", "partial", "1"}, "creation_failure, mixed, shared_deps, rpc_client, teardown; programs (faults pct:P, fail_spawns_pct)"},
      {"SpawnFaults.fail_always", {"true"}, "mixed; programs (faults always, fail_spawns_always)"},
      {"SpawnFaults.fail_nth", {"set"}, "mixed; programs (faults nth:N, fail_spawns_nth)"},
      {"SpawnFaults.fail_next", {"set"}, "mixed; programs (fail_spawns, faults next:N)"},
      {"SpawnFaults.when", {"before queues", "after queues"}, "creation_failure (before), scenarios' set_spawn_faults (after); programs (faults header: before, fail_spawns*: after)"},
      // Workqueues
      {"kind", {"per_cpu", "lazy", "single_thread", "ordered", "shared"}, "most scenarios; programs"},
      {"WqOptions.highpri", {"true"}, "shared_deps, rpc_client, teardown, liveness, lifetime; programs (options)"},
      {"WqOptions.unbound", {"true"}, "shared_deps, rpc_client, teardown, liveness, lifetime; programs (options)"},
      {"WqOptions.ordered", {"true"}, "shared_deps, callback_waits, rpc_client, teardown, liveness, lifetime; programs (options)"},
      {"WqOptions.max_active", {"1", "2", "3-8", "default"}, "shared_deps, rpc_client, teardown, liveness, lifetime; programs (max_active)"},
      // Arguments of the API
      {"delay", {"0", "tiny", "normal", "huge"}, "delayed, mixed, callback_waits, rpc_client, teardown, liveness; programs"},
      {"sleep_for", {"0", "tiny", "normal"}, "callback_waits; programs (busy_sleep engine)"},
  };
  return table;
}

std::string duration_class(Duration d) {
  if (d <= Duration::zero()) return "0";
  if (d < std::chrono::microseconds(10)) return "tiny";
  if (d >= std::chrono::hours(1)) return "huge";
  return "normal";
}

std::string max_active_class(int max_active) {
  if (max_active == 0) return "default";
  if (max_active <= 2) return std::to_string(max_active);
  if (max_active <= 8) return "3-8";
  return "default";
}

std::vector<std::string> knobs_never_drawn(const std::set<std::string>& drawn) {
  std::vector<std::string> out;
  for (const KnobSpec& k : knob_table())
    for (const std::string& c : k.classes)
      if (!drawn.count(k.knob + "=" + c)) out.push_back(k.knob + "=" + c);
  return out;
}

// --- recording (scenario.hpp, scenario_kit.hpp) -----------------------------

namespace {
void faults_drawn(ScenarioContext& ctx, const SpawnFaults& f) {
  const bool any = f.fail_probability > 0 || f.fail_always || f.fail_nth || f.fail_next;
  ctx.knobs.insert(std::string("SpawnFaults.fail_probability=") +
                   (f.fail_probability <= 0 ? "0" : f.fail_probability >= 1 ? "1" : "partial"));
  if (f.fail_always) ctx.knobs.insert("SpawnFaults.fail_always=true");
  if (f.fail_nth) ctx.knobs.insert("SpawnFaults.fail_nth=set");
  if (f.fail_next) ctx.knobs.insert("SpawnFaults.fail_next=set");
  if (any) ctx.knobs.insert(std::string("SpawnFaults.when=") + (ctx.queues_created ? "after queues" : "before queues"));
}
}  // namespace

void observe_config(ScenarioContext& ctx, const EngineConfig& cfg) {
  auto& k = ctx.knobs;
  k.insert("EngineConfig.ncpus=" + std::string(cfg.ncpus == 1 ? "1" : cfg.ncpus <= 3 ? "2-3" : "4-8"));
  k.insert("EngineConfig.core_cpu=" + std::string(cfg.core_cpu == 0 ? "0" : "other"));
  k.insert("EngineConfig.idle_timeout=" + duration_class(cfg.idle_timeout));
  k.insert("EngineConfig.spawn_cooldown=" + duration_class(cfg.spawn_cooldown));
  const char* checks[] = {"off", "report", "error"};
  k.insert(std::string("EngineConfig.dependency_check=") + checks[static_cast<int>(cfg.dependency_check)]);
  const std::string stall = duration_class(cfg.stall_timeout);
  k.insert("EngineConfig.stall_timeout=" + (stall == "tiny" ? std::string("normal") : stall));
  k.insert(std::string("EngineConfig.max_workers_per_pool=") + (cfg.max_workers_per_pool == 1 ? "1" : "many"));
  faults_drawn(ctx, cfg.spawn_faults);
}

namespace kit {

SimWorkqueue& create_queue(ScenarioContext& ctx, SimEngine& eng, const std::string& name, WqKind kind, WqOptions opts) {
  SimWorkqueue& q = eng.create_workqueue(name, kind, opts);
  ++ctx.queues_created;
  ctx.knobs.insert("kind=" + std::string(to_string(kind)));
  if (kind == WqKind::shared) {
    if (opts.highpri) ctx.knobs.insert("WqOptions.highpri=true");
    if (opts.unbound) ctx.knobs.insert("WqOptions.unbound=true");
    if (opts.ordered) ctx.knobs.insert("WqOptions.ordered=true");
    ctx.knobs.insert("WqOptions.max_active=" + max_active_class(opts.ordered ? 1 : opts.max_active));
  }
  return q;
}

void set_faults(ScenarioContext& ctx, SimEngine& eng, const SpawnFaults& f) {
  eng.set_spawn_faults(f);
  faults_drawn(ctx, f);
  // C7: permanent failure means everything runs on the core (or the
  // rescuer), never a hang: a hang from here on breaks C7 by name.
  if ((f.fail_always || f.fail_probability >= 1.0) && ctx.hang_rule.empty()) ctx.hang_rule = "C7";
  if (!f.fail_always && f.fail_probability < 1.0 && ctx.hang_rule == "C7") ctx.hang_rule.clear();
}

Duration delay(ScenarioContext& ctx, int64_t max_ns) {
  Duration d;
  const uint64_t c = ctx.rng.below(10);
  if (c < 2)
    d = Duration::zero();
  else if (c < 4)
    d = Duration(ctx.rng.range(1, 999));
  else if (c < 9)
    d = Duration(ctx.rng.range(1, max_ns));
  else  // near the maximum: never fires by itself (flush, drain or destroy fires it)
    d = Duration::max() - Duration(ctx.rng.range(0, 1000));
  ctx.knobs.insert("delay=" + duration_class(d));
  return d;
}

void drew(ScenarioContext& ctx, const std::string& knob, const std::string& cls) { ctx.knobs.insert(knob + "=" + cls); }

int non_core_cpu(ScenarioContext& ctx, const SimEngine& eng) {
  const int core = eng.config().core_cpu;
  const int c = static_cast<int>(ctx.rng.below(static_cast<uint64_t>(eng.ncpus() - 1)));
  return c >= core ? c + 1 : c;
}

}  // namespace kit

}  // namespace lazywq::sim
