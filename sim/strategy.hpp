// Scheduling strategies: who runs next at each scheduling point.
//
//   random      uniform choice among runnable threads at every point
//   pct:D[:K]   PCT (Burckhardt et al., ASPLOS 2010): random thread
//               priorities, D-1 priority change points uniform in [1, K]
//               (K = expected steps, default 2000); finds a bug of depth D
//               with probability >= 1/(n * K^(D-1)) per run
//   preempt:B   keep running the current thread; preempt it at most B
//               times, at points drawn at random
//   bytes       every choice between two or more threads reads one byte of
//               a buffer (libFuzzer input); past its end: the current
//               thread, else the lowest id
//   schedule    explicit decisions (sim/schedule.hpp): the default pick
//               at every choice point the schedule does not list; what a
//               shrunk counterexample replays
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/rng.hpp"
#include "sim/schedule.hpp"

namespace lazywq::sim {

class Strategy {
 public:
  virtual ~Strategy() = default;
  // The spec that recreates this strategy (e.g. "pct:3:2000").
  virtual std::string spec() const = 0;
  // A new thread exists; ids are dense, in creation order.
  virtual void on_spawn(uint32_t id) { (void)id; }
  // Called before each pick: the thread at the point and the steps it has
  // taken (World::Thread::steps_taken). Only `schedule` needs it.
  virtual void at(uint32_t current, uint64_t current_steps) {
    (void)current;
    (void)current_steps;
  }
  // Picks the next thread. `runnable` is sorted and non-empty; `current`
  // reached the point and is in `runnable` iff `current_runnable`.
  // `yielding`: the current thread asked others to go first.
  virtual uint32_t pick(const std::vector<uint32_t>& runnable, uint32_t current, bool current_runnable,
                        bool yielding, uint64_t step) = 0;
  // What to print with the result of a run (PCT prints its bound).
  virtual std::string report(uint64_t steps, uint32_t threads) const {
    (void)steps;
    (void)threads;
    return {};
  }
};

// Builds a strategy from its spec; throws std::invalid_argument with a
// message naming the accepted forms. `bytes` feeds the `bytes` strategy.
// `schedule` feeds the `schedule` strategy.
std::unique_ptr<Strategy> make_strategy(const std::string& spec, uint64_t seed,
                                        std::vector<uint8_t> bytes = {}, const Schedule& schedule = {});

// Number of decisions a `bytes` strategy consumed, for fuzz minimisation.
size_t bytes_consumed(const Strategy& s);

}  // namespace lazywq::sim
