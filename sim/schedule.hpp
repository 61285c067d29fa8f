// A schedule as explicit decisions: what a failing run is shrunk to
// (issue #16, sim/shrink.hpp) and what a counterexample file replays.
//
// A choice point is a scheduling point with two or more runnable threads.
// At each one the *default* pick is the one a person reads as "nothing
// happened": the current thread goes on if it can and did not yield; a
// yielding thread hands over to the next runnable id after it; a thread
// that blocked or finished hands over to the lowest runnable id. A
// schedule lists only the points where the run did something else, each
// named by the thread that reached it and how many steps that thread had
// taken ("3@17>5": when thread 3 reaches its 17th step, run thread 5).
// A thread's own step count does not move when the schedule changes
// elsewhere, so a decision keeps its meaning while the shrinker removes
// others. Every point the schedule does not list takes the default (as
// does a decision whose thread is not runnable there), so a schedule with
// no decisions is the run with no preemption at all, and each decision
// where the current thread could have gone on is one preemption.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lazywq::sim {

struct Decision {
  uint32_t thread = 0;  // the thread at the point (its id: threads are numbered in creation order)
  uint64_t step = 0;    // how many steps it had taken (World: every point, block and finish is one)
  uint32_t to = 0;      // the thread that runs next
  bool operator==(const Decision&) const = default;
};
// In the order the run met them.
using Schedule = std::vector<Decision>;

// A choice point as a run met it: who was there, after how many of its
// steps, the default pick and every thread that could run.
struct ChoicePoint {
  uint32_t thread = 0;
  uint64_t step = 0;
  uint32_t def = 0;
  std::vector<uint32_t> runnable;
};

// The default pick at a choice point (see above). `runnable` is sorted.
uint32_t default_pick(const std::vector<uint32_t>& runnable, uint32_t current, bool current_runnable, bool yielding);

// One decision per point (the last one given wins). A decision to the
// thread at the point is kept: a thread woken by a time jump may be picked
// again where the default hands over to the lowest id.
Schedule normalized(const Schedule& s);

// "3@17>5 0@40>2 ...", the schedule's text in a counterexample file and
// on the command line.
std::string schedule_to_text(const Schedule& s);
// Parses schedule_to_text's form (spaces, commas or newlines between
// decisions); throws std::invalid_argument naming the bad token.
Schedule schedule_from_text(const std::string& text);

}  // namespace lazywq::sim
