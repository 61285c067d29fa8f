// C17 for delayed works, from the client's side: a delayed queueing's run
// starts no earlier than its delay after the arming call began, unless
// something that may fire a timer early was called meanwhile
// (flush_delayed_work, a cancel or a re-arm of that work, a drain or a
// destroy of its queue).
//
// The oracle cannot check it: `timer_arm` carries no deadline. A client
// knows the delay it passed, but not which run its callback is: a run that
// began (exec_begin, PENDING cleared) before an arming call may enter its
// callback after it, under a schedule that delays that thread. So the
// clients only record their calls here, and the check reads the event
// stream after the run: the armed queueing is the `timer_arm` of that work
// inside the call's time window, and the first `timer_fire` or
// `exec_begin` of the work after it must not come before the bound.
//
// A bound is recorded only when the arming call ran alone: no other call
// on that work (nor a drain or destroy) was in flight at any moment of it,
// whether it began before the arming call or during it, since such a call
// may fire the timer early (a flush_delayed_work begun before the arm may
// expedite it), or race it so that which arm won is unknown. It stays in force until
// the next call on that work, or the next drain or destroy, begins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::sim {

class DelayBounds {
 public:
  explicit DelayBounds(size_t works) : works_(works) {}

  struct Token {
    uint64_t work_calls = 0;
    uint64_t drains = 0;
    bool overlapped = false;  // another call on the work, or a drain, was in flight when this one began
  };
  // Any call on work i that may arm, cancel or fire its timer begins, at
  // `now` (engine clock).
  Token call_begin(size_t i, int64_t now);
  // It returned: `armed` with `delay_ns` when it left the work armed (an
  // accepted queue_delayed_work, a mod_delayed_work that was not
  // rejected), the call having begun at `t0`.
  void call_end(size_t i, Token t, int64_t now, bool armed, int64_t t0, int64_t delay_ns);
  // A drain or destroy (which fire every armed timer) begins and ends.
  void drain_begin(int64_t now);
  void drain_end();

  // One line per violation (empty: none), naming the work with `name(i)`
  // and reading its engine id with `id(i)`.
  std::vector<std::string> check(const std::vector<Event>& events, const std::function<uint64_t(size_t)>& id,
                                 const std::function<std::string(size_t)>& name) const;

 private:
  struct Bound {
    size_t work;
    int64_t t0, t_end, delay_ns, not_before;
    int64_t valid_until = std::numeric_limits<int64_t>::max();
  };
  struct PerWork {
    int in_flight = 0;
    uint64_t calls = 0;
    long open = -1;  // index in bounds_ of the bound in force
  };
  void close(size_t i, int64_t now);

  std::vector<PerWork> works_;
  std::vector<Bound> bounds_;
  int drains_in_flight_ = 0;
  uint64_t drains_ = 0;
};

}  // namespace lazywq::sim
