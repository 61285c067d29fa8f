#include "common.hpp"

#include <dirent.h>

#include <cerrno>

namespace lazywq_bench {

int count_process_threads() {
  // opendir/readdir rather than std::filesystem: no allocation per entry,
  // so a sampler calling this every few milliseconds stays cheap.
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return -1;
  int threads = 0;
  while (const dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ++threads;
  closedir(dir);
  return threads;
}

void sleep_until_ns(int64_t deadline_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
  // steady_clock is CLOCK_MONOTONIC on Linux: the same time base.
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace lazywq_bench
