// A hand-built event stream around one shared queue and its pools, for
// the oracle's tests of C19 (test_oracle_pools.cpp) and of C16's refusals
// (test_oracle_refusals.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "lazywq/lazywq.hpp"

namespace lazywq::tests {

using ET = lazywq::EventType;

inline constexpr uint32_t X1 = kExternalThread | 1;
// Shared queue 1; the manager 10, the rescuer 11; CPU 1's normal pool has
// threads 12 and 13, the unbound pool thread 14.
inline constexpr uint32_t T12 = 12, T13 = 13, T14 = 14;
inline constexpr uint32_t kManager = 10, kRescuer = 11;

struct Stream {
  std::vector<Event> ev;
  Stream() {
    add(ET::create, X1, -1, 1, 0, static_cast<int>(WqKind::shared) | (0x7fff << 16));
    add(ET::spawn, 10, 0, 0, 0, 1);
    add(ET::spawn, 11, 0, 0, 0, 2);
    add(ET::spawn, T12, 1, 0, 0, 0);
    add(ET::spawn, T13, 1, 0, 0, 0);
    add(ET::spawn, T14, -1, 0, 0, 0);
  }
  // Events 10 ns apart (later() leaves a gap).
  Stream& add(ET t, uint32_t thread, int cpu, uint32_t q, uint64_t w, int arg = 0) {
    Event e;
    e.seq = ev.size();
    e.time_ns = ev.empty() ? 0 : ev.back().time_ns + 10;
    e.thread = thread;
    e.cpu = cpu;
    e.queue = q;
    e.work = w;
    e.type = t;
    e.arg = arg;
    ev.push_back(e);
    return *this;
  }
  Stream& queue(uint64_t w, int cpu = 1) { return add(ET::queue, X1, -1, 1, w, cpu); }
  Stream& begin(uint64_t w, uint32_t th, int cpu = 1) { return add(ET::exec_begin, th, cpu, 1, w, cpu); }
  Stream& end(uint64_t w, uint32_t th, int cpu = 1) { return add(ET::exec_end, th, cpu, 1, w, cpu); }
  Stream& wait_begin(uint32_t th, uint64_t awaited = 0) { return add(ET::wait_begin, th, 1, 0, awaited); }
  Stream& wait_end(uint32_t th) { return add(ET::wait_end, th, 1, 0, 0); }
  Stream& mayday(uint32_t th) { return add(ET::mayday, th, 1, 0, 0); }
  // The watchdog starts watching CPU 1's normal pool (a kick: a client's queueing).
  Stream& watch() { return add(ET::stall_watch, X1, 1, 0, 0, 0); }
  // Time passes: a client's event far later.
  Stream& later(int64_t ns) {
    add(ET::queue_busy, X1, -1, 1, 999, 1);
    ev.back().time_ns = ev[ev.size() - 2].time_ns + ns;
    return *this;
  }
};

}  // namespace lazywq::tests
