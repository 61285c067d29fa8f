// The simulated world the simulator tests run their bodies in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sim/world.hpp"

namespace lazywq::sim {

// Runs `body` as the main thread of a simulated world with `seed`; a
// condition variable wait returns spuriously with `spurious_wakeups`. The
// engine's safety nets are off (WorldConfig::safety_nets): a wake-up it
// misses hangs the test rather than delaying it by a poll interval.
inline RunResult run_world(uint64_t seed, const std::string& strategy, const std::function<void()>& body,
                           double spurious_wakeups = 0.0) {
  WorldConfig wc;
  wc.seed = seed;
  wc.strategy = strategy;
  wc.max_steps = 400'000;
  wc.spurious_wakeup_probability = spurious_wakeups;
  wc.safety_nets = false;
  World world(wc);
  return world.run(body);
}

// The strategy a seed sweep uses for `seed`: random, PCT depth 3 and 2 in turn.
inline const char* strategy_for(uint64_t seed) {
  return seed % 3 == 0 ? "random" : seed % 3 == 1 ? "pct:3" : "pct:2";
}

}  // namespace lazywq::sim
