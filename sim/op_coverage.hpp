// Pairwise coverage of operations (issue #13, as combinatorial testing
// does it): for each pair of public operations and engine events, the runs
// in which both were in flight at once. The race windows (RaceWindow) say
// which stretches of engine code overlapped; this says which things a user
// or the engine did overlapped, read off the event stream alone, so it
// works for any scenario, trace or fuzz input.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::sim {

// Operations with a duration (a begin and an end event of one thread) and
// instant events. Only pairs with at least one operation with a duration
// can be "in flight at once".
enum class Activity : uint8_t {
  // with a duration
  callback,         // exec_begin .. exec_end
  flush_work,       // flush_begin (work) .. flush_end: flush_work, flush_delayed_work
  flush_workqueue,  // flush_begin (queue, flush) .. flush_end
  drain,            // flush_begin (queue, drain) .. flush_end
  cancel,           // cancel_begin (not sync) .. cancel_end
  cancel_sync,      // cancel_begin (sync) .. cancel_end
  destroy,          // destroy .. destroy_end
  // instant
  queue,
  queue_busy,
  timer_arm,
  timer_fire,
  dequeue,
  migrate,
  spawn,
  spawn_fail,
  fallback,
  idle_exit,
  thread_exit,
  cpu_offline,
  cpu_online,
  count
};
inline constexpr size_t kActivities = static_cast<size_t>(Activity::count);
inline constexpr size_t kDurationActivities = static_cast<size_t>(Activity::destroy) + 1;
std::string_view to_string(Activity k);

// [a][b], a an operation with a duration: 1 if some b (of another thread)
// happened, or was in flight, while a was in flight. Symmetric for two
// operations with a duration.
using ActivityPairs = std::array<std::array<uint8_t, kActivities>, kDurationActivities>;
ActivityPairs activity_pairs(const std::vector<Event>& events);

// Pairs that cannot overlap by construction, with the reason, so that the
// check below asks only for what is possible.
struct ImpossiblePair {
  Activity a, b;
  const char* why;
};
const std::vector<ImpossiblePair>& impossible_pairs();

// Runs per pair (summed over runs of ActivityPairs), as a table; and the pairs,
// possible ones only, that never overlapped ("a x b" each).
using ActivityPairCounts = std::array<std::array<uint64_t, kActivities>, kDurationActivities>;
void add_pairs(ActivityPairCounts& into, const ActivityPairs& run);
std::string activity_pair_table(const ActivityPairCounts& counts);
std::vector<std::string> never_overlapped(const ActivityPairCounts& counts);

}  // namespace lazywq::sim
