// What the scenario files share: drawing knobs from the seed (swarm
// testing) unless a --param fixes them, each draw noted under the seed.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "sim/scenario.hpp"

namespace lazywq::sim::kit {

// Every count a scenario draws must be at least 1 when a --param fixes it
// and is capped so that one run stays small.
constexpr int64_t kKnobMax = 10000;

// A count in [lo, hi] unless the parameter fixes it (then in [1, kKnobMax]).
// Parameter `cap.KEY=N` draws it as usual, then takes at most N: the
// workload keeps every other draw, so a run with fewer operations or
// clients is the same run cut short (what the shrinker tries, sim/shrink.hpp).
int64_t knob(ScenarioContext& ctx, const std::string& key, int64_t lo, int64_t hi);
// A probability among `choices` unless the parameter fixes it (0..1).
double knob_p(ScenarioContext& ctx, const std::string& key, std::initializer_list<double> choices);
// A queue kind: `def`, or drawn over every kind when `draw`; param `kind`.
WqKind kind_knob(ScenarioContext& ctx, WqKind def, bool draw);
// C16's mode, drawn from `rng` (a side stream, so the scenario's other
// draws stay as they were) unless param `check` fixes it: 0 off,
// 1 report, 2 error.
DependencyCheck check_knob(ScenarioContext& ctx, Rng& rng);
// A queue of a kind drawn over every kind, the shared kind's options
// (highpri, unbound, ordered, a small max_active) drawn too; noted as `name`.
SimWorkqueue& drawn_queue(ScenarioContext& ctx, SimEngine& eng, const std::string& name);

// Knob recording (sim/knobs.hpp): wrappers that do the call and note the
// classes of what they were given.
SimWorkqueue& create_queue(ScenarioContext& ctx, SimEngine& eng, const std::string& name, WqKind kind,
                           WqOptions opts = {});
void set_faults(ScenarioContext& ctx, SimEngine& eng, const SpawnFaults& f);
// A delay of a drawn class: 0, tiny (< 1 us), up to max_ns, or near
// Duration::max() (never fires by itself).
Duration delay(ScenarioContext& ctx, int64_t max_ns);
void drew(ScenarioContext& ctx, const std::string& knob, const std::string& cls);

// Spawn events of the engine's helpers (queue 0): `arg` 1 the manager, 2
// the rescuer. The first's arg (0: none yet).
int helper_spawns(const SimEngine& eng, int32_t arg);
int32_t first_helper_spawn(const SimEngine& eng);

// A CPU other than the engine's core CPU (which cannot go offline); the
// engine must have at least two.
int non_core_cpu(ScenarioContext& ctx, const SimEngine& eng);

}  // namespace lazywq::sim::kit

namespace lazywq::sim {
// Scenarios defined outside scenarios.cpp, listed by all_scenarios().
void callback_waits(ScenarioContext& ctx);
void rpc_client(ScenarioContext& ctx);
void teardown(ScenarioContext& ctx);
void liveness(ScenarioContext& ctx);
void lifetime(ScenarioContext& ctx);
void lifecycle(ScenarioContext& ctx);
void rescue(ScenarioContext& ctx);
void watchdog(ScenarioContext& ctx);
}  // namespace lazywq::sim
