#include "sim/op_coverage.hpp"

#include <cstdio>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace lazywq::sim {

std::string_view to_string(Activity k) {
  static constexpr const char* names[kActivities] = {
      "callback",  "flush_work", "flush_workqueue", "drain",       "cancel",   "cancel_sync", "destroy",
      "queue",     "queue_busy", "timer_arm",       "timer_fire",  "dequeue",  "migrate",     "spawn",
      "spawn_fail", "fallback",  "idle_exit",       "thread_exit", "cpu_offline", "cpu_online"};
  const auto i = static_cast<size_t>(k);
  return i < kActivities ? names[i] : "?";
}

namespace {

using ET = EventType;

bool is_instant(ET t, Activity& k) {
  switch (t) {
    case ET::queue: k = Activity::queue; return true;
    case ET::queue_busy: k = Activity::queue_busy; return true;
    case ET::timer_arm: k = Activity::timer_arm; return true;
    case ET::timer_fire: k = Activity::timer_fire; return true;
    case ET::dequeue: k = Activity::dequeue; return true;
    case ET::migrate: k = Activity::migrate; return true;
    case ET::spawn: k = Activity::spawn; return true;
    case ET::spawn_fail: k = Activity::spawn_fail; return true;
    case ET::fallback: k = Activity::fallback; return true;
    case ET::idle_exit: k = Activity::idle_exit; return true;
    case ET::thread_exit: k = Activity::thread_exit; return true;
    case ET::cpu_offline: k = Activity::cpu_offline; return true;
    case ET::cpu_online: k = Activity::cpu_online; return true;
    default: return false;
  }
}

}  // namespace

ActivityPairs activity_pairs(const std::vector<Event>& events) {
  ActivityPairs out{};
  // Per thread, its operations in flight, innermost last (a callback's
  // flush nests in the callback; the rescuer nests callbacks in waits).
  std::map<uint32_t, std::vector<Activity>> open;
  auto mark_others = [&](uint32_t self, Activity b) {
    const auto bi = static_cast<size_t>(b);
    for (auto& [thread, stack] : open) {
      if (thread == self) continue;
      for (Activity a : stack) {
        const auto ai = static_cast<size_t>(a);
        out[ai][bi] = 1;
        if (bi < kDurationActivities) out[bi][ai] = 1;
      }
    }
  };
  auto begin = [&](uint32_t self, Activity k) {
    mark_others(self, k);
    open[self].push_back(k);
  };
  // Ends the innermost `k` of the thread; what is above it never ended (it
  // threw) and ends with it.
  auto end = [&](uint32_t self, std::initializer_list<Activity> ks) {
    auto it = open.find(self);
    if (it == open.end()) return;
    auto& stack = it->second;
    for (size_t i = stack.size(); i-- > 0;) {
      for (Activity k : ks)
        if (stack[i] == k) {
          stack.resize(i);
          if (stack.empty()) open.erase(it);
          return;
        }
    }
  };
  for (const Event& e : events) {
    Activity k;
    if (is_instant(e.type, k)) {
      mark_others(e.thread, k);
      continue;
    }
    switch (e.type) {
      case ET::exec_begin: begin(e.thread, Activity::callback); break;
      case ET::exec_end: end(e.thread, {Activity::callback}); break;
      case ET::flush_begin:
        begin(e.thread, e.queue == 0                                       ? Activity::flush_work
                        : e.arg == static_cast<int32_t>(FlushKind::drain) ? Activity::drain
                                                                           : Activity::flush_workqueue);
        break;
      case ET::flush_end:
        if (e.queue == 0)
          end(e.thread, {Activity::flush_work});
        else
          end(e.thread, {Activity::flush_workqueue, Activity::drain});
        break;
      case ET::cancel_begin: begin(e.thread, e.arg == 1 ? Activity::cancel_sync : Activity::cancel); break;
      case ET::cancel_end: end(e.thread, {Activity::cancel, Activity::cancel_sync}); break;
      case ET::destroy: begin(e.thread, Activity::destroy); break;
      case ET::destroy_end: end(e.thread, {Activity::destroy}); break;
      default: break;
    }
  }
  return out;
}

const std::vector<ImpossiblePair>& impossible_pairs() {
  static const std::vector<ImpossiblePair> list = {};
  return list;
}

void add_pairs(ActivityPairCounts& into, const ActivityPairs& run) {
  for (size_t a = 0; a < kDurationActivities; ++a)
    for (size_t b = 0; b < kActivities; ++b) into[a][b] += run[a][b];
}

namespace {
bool impossible(size_t a, size_t b) {
  for (const ImpossiblePair& p : impossible_pairs()) {
    const auto pa = static_cast<size_t>(p.a), pb = static_cast<size_t>(p.b);
    if ((pa == a && pb == b) || (pa == b && pb == a)) return true;
  }
  return false;
}
}  // namespace

std::string activity_pair_table(const ActivityPairCounts& counts) {
  std::string out = "operation pairs in flight at once (runs; '-' never, 'x' impossible by construction)\n";
  out += fmt::format("{:<16}", "");
  // Column heads: the first 6 letters keep the table within a terminal.
  for (size_t b = 0; b < kActivities; ++b)
    out += fmt::format(" {:>6.6}", to_string(static_cast<Activity>(b)));
  out += "\n";
  for (size_t a = 0; a < kDurationActivities; ++a) {
    out += fmt::format("{:<16}", to_string(static_cast<Activity>(a)));
    for (size_t b = 0; b < kActivities; ++b) {
      const uint64_t n = counts[a][b];
      if (n)
        out += fmt::format(" {:>6}", n);
      else
        out += fmt::format(" {:>6}", impossible(a, b) ? "x" : "-");
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> never_overlapped(const ActivityPairCounts& counts) {
  std::vector<std::string> out;
  for (size_t a = 0; a < kDurationActivities; ++a)
    for (size_t b = 0; b < kActivities; ++b) {
      if (b < kDurationActivities && b < a) continue;  // symmetric: listed once
      if (counts[a][b] == 0 && !impossible(a, b))
        out.push_back(std::string(to_string(static_cast<Activity>(a))) + " x " +
                      std::string(to_string(static_cast<Activity>(b))));
    }
  return out;
}

}  // namespace lazywq::sim
