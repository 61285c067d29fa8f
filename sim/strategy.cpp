#include "sim/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <map>
#include <unordered_map>
#include <utility>

namespace lazywq::sim {
namespace {

uint32_t uniform_other(Rng& rng, const std::vector<uint32_t>& runnable, uint32_t current) {
  if (runnable.size() == 1) return runnable[0];
  // Pick among the others: skip `current` if present.
  auto it = std::find(runnable.begin(), runnable.end(), current);
  if (it == runnable.end()) return runnable[rng.below(runnable.size())];
  size_t i = rng.below(runnable.size() - 1);
  if (runnable.begin() + static_cast<long>(i) >= it) ++i;
  return runnable[i];
}

class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : rng_(seed) {}
  std::string spec() const override { return "random"; }
  uint32_t pick(const std::vector<uint32_t>& r, uint32_t cur, bool, bool yielding, uint64_t) override {
    if (yielding) return uniform_other(rng_, r, cur);
    return r[rng_.below(r.size())];
  }

 private:
  Rng rng_;
};

class PctStrategy final : public Strategy {
 public:
  PctStrategy(uint64_t seed, int depth, uint64_t k) : rng_(seed), depth_(depth), k_(k) {
    for (int i = 1; i < depth_; ++i) change_points_.push_back(1 + rng_.below(k_));
    std::sort(change_points_.begin(), change_points_.end());
  }
  std::string spec() const override { return "pct:" + std::to_string(depth_) + ":" + std::to_string(k_); }
  void on_spawn(uint32_t id) override {
    // Initial priorities are far above the change-point priorities 1..D-1.
    if (prio_.size() <= id) prio_.resize(id + 1, 0);
    prio_[id] = (int64_t{1} << 40) + static_cast<int64_t>(rng_.below(int64_t{1} << 39));
  }
  uint32_t pick(const std::vector<uint32_t>& r, uint32_t cur, bool cur_runnable, bool yielding,
                uint64_t step) override {
    while (next_change_ < change_points_.size() && step >= change_points_[next_change_]) {
      // Lower the running thread's priority below every initial one.
      if (cur < prio_.size()) prio_[cur] = static_cast<int64_t>(depth_ - 1 - next_change_);
      ++next_change_;
    }
    if (yielding && cur < prio_.size()) prio_[cur] = --yield_floor_;
    (void)cur_runnable;
    uint32_t best = r[0];
    for (uint32_t id : r)
      if (prio(id) > prio(best)) best = id;
    return best;
  }
  std::string report(uint64_t steps, uint32_t threads) const override {
    double k = static_cast<double>(std::max<uint64_t>(steps, 1));
    double bound = 1.0 / (static_cast<double>(std::max<uint32_t>(threads, 1)) * std::pow(k, depth_ - 1));
    char buf[160];
    std::snprintf(buf, sizeof buf, "pct depth %d: a depth-%d bug is found with p >= 1/(n*k^(d-1)) = %.3g per run (n=%u, k=%llu)",
                  depth_, depth_, bound, threads, static_cast<unsigned long long>(steps));
    return buf;
  }

 private:
  int64_t prio(uint32_t id) const { return id < prio_.size() ? prio_[id] : 0; }
  Rng rng_;
  int depth_;
  uint64_t k_;
  std::vector<uint64_t> change_points_;
  size_t next_change_ = 0;
  std::vector<int64_t> prio_;
  int64_t yield_floor_ = 0;
};

class PreemptStrategy final : public Strategy {
 public:
  PreemptStrategy(uint64_t seed, int budget, uint64_t k) : rng_(seed), budget_(budget), left_(budget), k_(k) {}
  std::string spec() const override { return "preempt:" + std::to_string(budget_) + ":" + std::to_string(k_); }
  uint32_t pick(const std::vector<uint32_t>& r, uint32_t cur, bool cur_runnable, bool yielding, uint64_t) override {
    if (yielding || !cur_runnable) return yielding ? uniform_other(rng_, r, cur) : r[rng_.below(r.size())];
    if (left_ > 0 && r.size() > 1 && rng_.below(k_) < static_cast<uint64_t>(budget_)) {
      --left_;
      return uniform_other(rng_, r, cur);
    }
    return cur;
  }

 private:
  Rng rng_;
  int budget_;
  int left_;
  uint64_t k_;
};

class BytesStrategy final : public Strategy {
 public:
  explicit BytesStrategy(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  std::string spec() const override { return "bytes"; }
  uint32_t pick(const std::vector<uint32_t>& r, uint32_t cur, bool cur_runnable, bool yielding, uint64_t) override {
    if (r.size() == 1) return r[0];
    if (pos_ < bytes_.size()) {
      const uint8_t b = bytes_[pos_++];
      // A yield hands over to another thread, as in every strategy: a
      // byte may not keep a spinner on the CPU while the thread it waits
      // for is runnable (the world reports 100 yields in a row as a spin).
      if (yielding && std::find(r.begin(), r.end(), cur) != r.end()) {
        const size_t pick = b % (r.size() - 1);
        size_t i = 0;
        for (uint32_t id : r)
          if (id != cur && i++ == pick) return id;
      }
      return r[b % r.size()];
    }
    if (yielding) {
      // Round robin past the current thread, so spinners make progress.
      for (uint32_t id : r)
        if (id > cur) return id;
      return r[0];
    }
    return cur_runnable ? cur : r[0];
  }
  size_t consumed() const { return pos_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

// Replays explicit decisions; the default pick everywhere else.
class ScheduleStrategy final : public Strategy {
 public:
  explicit ScheduleStrategy(const Schedule& s) {
    for (const Decision& d : normalized(s)) to_[{d.thread, d.step}] = d.to;
  }
  std::string spec() const override { return "schedule"; }
  void at(uint32_t current, uint64_t current_steps) override { key_ = {current, current_steps}; }
  uint32_t pick(const std::vector<uint32_t>& r, uint32_t cur, bool cur_runnable, bool yielding, uint64_t) override {
    if (r.size() < 2) return r[0];
    auto it = to_.find(key_);
    // A decision for a thread that cannot run here is void: the default.
    if (it != to_.end() && std::binary_search(r.begin(), r.end(), it->second)) return it->second;
    return default_pick(r, cur, cur_runnable, yielding);
  }

 private:
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> to_;
  std::pair<uint32_t, uint64_t> key_{};
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

uint64_t parse_count(const std::string& text, const std::string& what, const std::string& spec) {
  try {
    size_t used = 0;
    unsigned long long v = std::stoull(text, &used);
    if (used != text.size() || text.empty()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument("strategy '" + spec + "': " + what + " must be a whole number, got '" + text + "'");
  }
}

}  // namespace

std::unique_ptr<Strategy> make_strategy(const std::string& spec, uint64_t seed, std::vector<uint8_t> bytes,
                                        const Schedule& schedule) {
  const char* forms = " (expected one of: random, pct:D[:K], preempt:B[:K], bytes, schedule)";
  auto parts = split(spec, ':');
  const std::string& kind = parts[0];
  if (kind == "random" && parts.size() == 1) return std::make_unique<RandomStrategy>(seed);
  if (kind == "bytes" && parts.size() == 1) return std::make_unique<BytesStrategy>(std::move(bytes));
  if (kind == "schedule" && parts.size() == 1) return std::make_unique<ScheduleStrategy>(schedule);
  if ((kind == "pct" || kind == "preempt") && (parts.size() == 2 || parts.size() == 3)) {
    uint64_t n = parse_count(parts[1], kind == "pct" ? "depth D" : "bound B", spec);
    uint64_t k = parts.size() == 3 ? parse_count(parts[2], "expected steps K", spec) : 2000;
    if (k == 0) throw std::invalid_argument("strategy '" + spec + "': K must be at least 1");
    if (kind == "pct") {
      if (n < 1 || n > 10) throw std::invalid_argument("strategy '" + spec + "': PCT depth must be in 1..10");
      return std::make_unique<PctStrategy>(seed, static_cast<int>(n), k);
    }
    if (n > 1000) throw std::invalid_argument("strategy '" + spec + "': preemption bound must be at most 1000");
    return std::make_unique<PreemptStrategy>(seed, static_cast<int>(n), k);
  }
  throw std::invalid_argument("unknown strategy '" + spec + "'" + forms);
}

size_t bytes_consumed(const Strategy& s) {
  auto* b = dynamic_cast<const BytesStrategy*>(&s);
  return b ? b->consumed() : 0;
}

}  // namespace lazywq::sim
