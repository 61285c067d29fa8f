// Shared pieces of the benchmarks: clocks, a completion latch, the task
// body every pool runs, percentiles, and what the process itself tells us
// (CPU time, context switches, live threads).
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lazywq_bench {

// Monotonic time in nanoseconds; the same clock in every thread, so a
// stamp taken by a producer can be compared with one taken by a worker.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (every thread, alive or exited).
inline int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CPU time of the calling thread.
inline int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Voluntary + involuntary context switches of the process: while idle,
// each one is a wake-up somebody paid for.
inline int64_t process_context_switches() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

// ... and of the calling thread alone.
inline int64_t thread_context_switches() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

// Threads of this process now (entries of /proc/self/task).
int count_process_threads();

// Sleeps until an absolute steady-clock time (a trickle keeps its cadence
// however long each step took).
void sleep_until_ns(int64_t deadline_ns);

// Waits until `arrive` has been called `expected` times. Tasks call
// arrive(); only the last one pays for a wake-up, so the latch adds one
// atomic decrement per task and nothing else to what is measured.
class Completion {
 public:
  void reset(int64_t expected) { remaining_.store(expected, std::memory_order_relaxed); }
  void arrive() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_all();
  }
  void wait() {
    for (int64_t left = remaining_.load(std::memory_order_acquire); left != 0;
         left = remaining_.load(std::memory_order_acquire))
      remaining_.wait(left, std::memory_order_acquire);
  }
  bool done() const { return remaining_.load(std::memory_order_acquire) == 0; }

 private:
  std::atomic<int64_t> remaining_{0};
};

// What a task does, as a plain function pointer and context: every pool
// runs exactly this code, and no pool pays for type erasure the others do
// not. `slot` names the task (an index into the benchmark's arrays).
struct TaskBody {
  void (*run)(void* context, std::size_t slot) = nullptr;
  void* context = nullptr;
  void operator()(std::size_t slot) const { run(context, slot); }
};

// Nearest-rank percentile of unsorted samples (sorts a copy).
inline double percentile(std::vector<int64_t> samples, double p) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples.size() - 1) + 0.5);
  return static_cast<double>(samples[std::min(rank, samples.size() - 1)]);
}

inline double mean(const std::vector<int64_t>& samples) {
  if (samples.empty()) return 0.0;
  long double sum = 0;
  for (int64_t s : samples) sum += static_cast<long double>(s);
  return static_cast<double>(sum / static_cast<long double>(samples.size()));
}

}  // namespace lazywq_bench
