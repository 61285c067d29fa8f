#include "sim/delay_bounds.hpp"

#include <unordered_map>

namespace lazywq::sim {

void DelayBounds::close(size_t i, int64_t now) {
  PerWork& w = works_[i];
  if (w.open >= 0) bounds_[static_cast<size_t>(w.open)].valid_until = now;
  w.open = -1;
}

DelayBounds::Token DelayBounds::call_begin(size_t i, int64_t now) {
  PerWork& w = works_[i];
  close(i, now);
  const bool overlapped = w.in_flight > 0 || drains_in_flight_ > 0;
  ++w.in_flight;
  return {++w.calls, drains_, overlapped};
}

void DelayBounds::call_end(size_t i, Token t, int64_t now, bool armed, int64_t t0, int64_t delay_ns) {
  PerWork& w = works_[i];
  --w.in_flight;
  // Alone from begin to end: nothing in flight when it began (t.overlapped:
  // a call begun earlier may end before this one does, leaving no trace at
  // the end), nothing begun since, nothing in flight now.
  const bool alone = !t.overlapped && w.in_flight == 0 && w.calls == t.work_calls && drains_in_flight_ == 0 &&
                     drains_ == t.drains;
  if (!armed || !alone || delay_ns <= 0) return;
  const int64_t nb = delay_ns > std::numeric_limits<int64_t>::max() - t0 ? std::numeric_limits<int64_t>::max()
                                                                          : t0 + delay_ns;
  w.open = static_cast<long>(bounds_.size());
  bounds_.push_back({i, t0, now, delay_ns, nb});
}

void DelayBounds::drain_begin(int64_t now) {
  ++drains_in_flight_;
  ++drains_;
  for (size_t i = 0; i < works_.size(); ++i) close(i, now);
}

void DelayBounds::drain_end() { --drains_in_flight_; }

std::vector<std::string> DelayBounds::check(const std::vector<Event>& events, const std::function<uint64_t(size_t)>& id,
                                            const std::function<std::string(size_t)>& name) const {
  std::vector<std::string> out;
  // Per work id, its timer_arm, timer_fire and exec_begin events in stream
  // order. The fire is what the delay bounds (the run follows it after a
  // migration, a creation...); exec_begin bounds it too.
  std::unordered_map<uint64_t, std::vector<const Event*>> of;
  for (const Event& e : events)
    if ((e.type == EventType::timer_arm || e.type == EventType::timer_fire || e.type == EventType::exec_begin) &&
        e.work != 0)
      of[e.work].push_back(&e);
  for (const Bound& b : bounds_) {
    auto it = of.find(id(b.work));
    if (it == of.end()) continue;
    // The call's own arm: the last timer_arm of the work inside its window
    // (no other call on the work was in flight then).
    const Event* arm = nullptr;
    size_t k = 0;
    for (size_t j = 0; j < it->second.size(); ++j) {
      const Event* e = it->second[j];
      if (e->type == EventType::timer_arm && e->time_ns >= b.t0 && e->time_ns <= b.t_end) arm = e, k = j;
    }
    if (!arm) continue;
    for (size_t j = k + 1; j < it->second.size(); ++j) {
      const Event* e = it->second[j];
      if (e->type == EventType::timer_arm) break;  // not ours: a later call's
      if (e->time_ns < b.not_before && e->time_ns < b.valid_until)
        out.push_back(name(b.work) + " (work " + std::to_string(id(b.work)) + "): armed by a call at t=" +
                      std::to_string(b.t0) + "ns with delay " + std::to_string(b.delay_ns) + "ns (timer_arm #" +
                      std::to_string(arm->seq) + "), its " +
                      (e->type == EventType::timer_fire ? "timer fired" : "run began") + " at t=" +
                      std::to_string(e->time_ns) + "ns (" + std::string(to_string(e->type)) + " #" +
                      std::to_string(e->seq) + "), " + std::to_string(b.not_before - e->time_ns) +
                      "ns early, with nothing called that may fire a timer early");
      break;
    }
  }
  return out;
}

}  // namespace lazywq::sim
