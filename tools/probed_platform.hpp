// ProbedPlatform: the real platform (std threads, pinned, std atomics and
// locks) with counting race-window probes, for lazywq-torture only.
//
// The engine marks its race windows through P::window_enter / window_exit
// (types.hpp, RaceWindow; detail::WindowScope). RealPlatform's probes are
// empty inline functions, so production code pays nothing; this platform
// derives from it and replaces only those two, so the torture runs the very
// same engine code on real threads and learns which windows it actually
// reached with another thread busy in a window at the same time (the real
// thread counterpart of the simulator's window_hits, in the spirit of
// FoundationDB's CODE_PROBE).
//
// What is counted, with relaxed atomics (coverage is a statistic: a slightly
// stale read of another thread's occupancy only shifts a count by one):
//   entries[a]   every entry into window a;
//   hits[a]      entries into a while another thread was inside any window;
//   pairs[a][b]  entries into a while another thread was inside window b.
// The cost is about a dozen relaxed atomic operations per window entry;
// the windows are short stretches of engine code, so this perturbs timing a
// little (which a torture test does not mind) and nothing else.
//
// Optional perturbation (set_perturbation, lazywq-torture --perturb P): at
// every window entry and exit the thread yields or sleeps a few
// microseconds with probability P, and at every explicit scheduling point
// (P::sched_point, where the simulator would switch threads) it sleeps up
// to 200 us with probability P. Real threads
// rarely lose the CPU inside a window that lasts a few instructions; this
// makes them (the kernel's torture tests and FoundationDB's BUGGIFY inject
// delays the same way). Off (P = 0) by default: one relaxed load per probe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "lazywq/engine_decl.hpp"
#include "lazywq/platform_real.hpp"
#include "lazywq/types.hpp"

namespace lazywq::torture {

// A snapshot of the probe counters.
struct WindowCoverage {
  std::array<uint64_t, kRaceWindows> entries{};
  std::array<uint64_t, kRaceWindows> hits{};
  std::array<std::array<uint64_t, kRaceWindows>, kRaceWindows> pairs{};
};

struct ProbedPlatform : RealPlatform {
  static constexpr const char* kName = "real+probes";

  static void window_enter(RaceWindow w) {
    maybe_perturb();
    const size_t a = static_cast<size_t>(w);
    bool another_inside = false;
    for (size_t b = 0; b < kRaceWindows; ++b) {
      // occupancy_ includes this thread's own entries (a thread reads its
      // own latest increments), so subtracting them leaves the others.
      const int64_t others = static_cast<int64_t>(occupancy_[b].load(std::memory_order_relaxed)) -
                             static_cast<int64_t>(own_depth_[b]);
      if (others > 0) {
        another_inside = true;
        pairs_[a][b].fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (another_inside) hits_[a].fetch_add(1, std::memory_order_relaxed);
    entries_[a].fetch_add(1, std::memory_order_relaxed);
    ++own_depth_[a];
    occupancy_[a].fetch_add(1, std::memory_order_relaxed);
  }

  static void window_exit(RaceWindow w) {
    const size_t a = static_cast<size_t>(w);
    --own_depth_[a];
    occupancy_[a].fetch_sub(1, std::memory_order_relaxed);
    maybe_perturb();
  }

  // RealPlatform's is a no-op. The engine places these where a thread
  // switch matters most (inside a window, where the simulator switches
  // threads), so the perturbation is stronger here: a sleep of up to 200 us,
  // long enough for a thread of another CPU to run through the gap.
  static void sched_point(const char* /*why*/) {
    const uint64_t threshold = perturb_threshold_.load(std::memory_order_relaxed);
    if (threshold == 0) return;
    const uint64_t z = perturb_draw();
    if (z < threshold)
      std::this_thread::sleep_for(std::chrono::microseconds(1 + (z >> 40) % 200));
  }

  // Probability in [0, 1] that a probe yields or sleeps; 0 switches it off.
  static void set_perturbation(double probability) {
    const double p = probability < 0 ? 0 : probability > 1 ? 1 : probability;
    perturb_threshold_.store(p >= 1 ? UINT64_MAX : static_cast<uint64_t>(p * 18446744073709551615.0),
                             std::memory_order_relaxed);
  }

  // Read while the engine runs (progress line) or after it stopped.
  static WindowCoverage coverage() {
    WindowCoverage c;
    for (size_t a = 0; a < kRaceWindows; ++a) {
      c.entries[a] = entries_[a].load(std::memory_order_relaxed);
      c.hits[a] = hits_[a].load(std::memory_order_relaxed);
      for (size_t b = 0; b < kRaceWindows; ++b) c.pairs[a][b] = pairs_[a][b].load(std::memory_order_relaxed);
    }
    return c;
  }

 private:
  // Per-thread splitmix64, seeded from the thread-local's own address: the
  // schedule on real threads is not reproducible anyway.
  static uint64_t perturb_draw() {
    if (perturb_state_ == 0) perturb_state_ = reinterpret_cast<uintptr_t>(&perturb_state_) | 1;
    uint64_t z = (perturb_state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  static void maybe_perturb() {
    const uint64_t threshold = perturb_threshold_.load(std::memory_order_relaxed);
    if (threshold == 0) return;
    const uint64_t z = perturb_draw();
    if (z >= threshold) return;
    // Mostly a yield (another runnable thread of this CPU goes first);
    // one time in four a short sleep, which lets threads of other CPUs run
    // through the window meanwhile.
    if ((z & 3) != 0)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(1 + (z >> 40) % 20));
  }

  static inline std::atomic<uint64_t> perturb_threshold_{0};
  static inline thread_local uint64_t perturb_state_ = 0;
  // Threads inside each window right now (over the whole process: the
  // torture runs one engine at a time).
  static inline std::array<std::atomic<uint32_t>, kRaceWindows> occupancy_{};
  static inline std::array<std::atomic<uint64_t>, kRaceWindows> entries_{};
  static inline std::array<std::atomic<uint64_t>, kRaceWindows> hits_{};
  static inline std::array<std::array<std::atomic<uint64_t>, kRaceWindows>, kRaceWindows> pairs_{};
  // How deep the calling thread is inside each window (windows may nest,
  // e.g. a callback that queues work enters queue_inflight inside callback).
  static inline thread_local std::array<uint32_t, kRaceWindows> own_depth_{};
};

}  // namespace lazywq::torture

// The engine on this platform is compiled once, in probed_engine.cpp: the
// torture's own code does not recompile when the engine's code changes.
namespace lazywq {
extern template class BasicEngine<torture::ProbedPlatform>;
extern template class BasicWorkqueue<torture::ProbedPlatform>;
extern template class BasicWork<torture::ProbedPlatform>;
}  // namespace lazywq
