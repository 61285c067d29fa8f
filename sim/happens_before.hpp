// Happens-before in the simulated world: vector clocks for the simulated
// threads and a FastTrack-style shadow for every lock-guarded plain field
// of the engine (P::Var) and every mutex and condition variable object.
//
// The simulator runs one thread at a time and is sequentially consistent,
// so a field touched without its lock reads the right value here and no
// scenario's outcome shows it. Yet on real threads the same two accesses
// are a data race: nothing orders them. This is what ThreadSanitizer checks
// on real threads, only for the one interleaving the machine happened to
// run, and within its timing window; here it is checked on every schedule
// the explorer runs, deterministically, from the seed.
//
// Edges (C++'s synchronizes-with, as the engine's memory orders say):
//   mutex     unlock -> the next lock (and a condition variable's wait
//             releases and takes the mutex again)
//   atomic    a release store or RMW -> an acquire load or RMW that reads
//             from it or from a later RMW of its release sequence (a
//             relaxed store ends the sequence); relaxed operations order
//             nothing: a relaxed memory-order mutant shows here
//   threads   spawn -> the child's first step; the child's end -> join
// A notify orders nothing by itself (only the mutex does).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

namespace lazywq::sim {

// One clock per simulated thread id (ids are never reused in a run). The
// first kInline entries live in the object: most runs have fewer threads,
// and a mutex or atomic then never allocates (the check's cost is mostly
// these clocks: explore ran 1.37x slower with a std::vector).
class VectorClock {
 public:
  static constexpr uint32_t kInline = 16;

  VectorClock() = default;
  VectorClock(const VectorClock& o) { *this = o; }
  VectorClock& operator=(const VectorClock& o) {
    if (this == &o) return *this;
    if (o.n_ > kInline)
      more_.assign(o.more_.begin(), o.more_.end());
    else
      more_.clear();
    const uint32_t k = std::min(o.n_, kInline);
    for (uint32_t i = 0; i < k; ++i) small_[i] = o.small_[i];
    for (uint32_t i = k; i < std::min(n_, kInline); ++i) small_[i] = 0;
    n_ = o.n_;
    return *this;
  }

  uint32_t get(uint32_t tid) const {
    if (tid >= n_) return 0;
    return tid < kInline ? small_[tid] : more_[tid - kInline];
  }
  void set(uint32_t tid, uint32_t v) {
    grow(tid + 1);
    (tid < kInline ? small_[tid] : more_[tid - kInline]) = v;
  }
  void join(const VectorClock& o) {
    grow(o.n_);
    const uint32_t k = std::min(o.n_, kInline);
    for (uint32_t i = 0; i < k; ++i) small_[i] = std::max(small_[i], o.small_[i]);
    for (uint32_t i = kInline; i < o.n_; ++i) more_[i - kInline] = std::max(more_[i - kInline], o.more_[i - kInline]);
  }
  void clear() {
    for (uint32_t i = 0; i < std::min(n_, kInline); ++i) small_[i] = 0;
    more_.clear();
    n_ = 0;
  }
  bool empty() const { return n_ == 0; }

 private:
  void grow(uint32_t n) {
    if (n <= n_) return;
    if (n > kInline) more_.resize(n - kInline, 0);
    n_ = n;  // inline entries past the old n_ are 0 already
  }
  uint32_t n_ = 0;
  uint32_t small_[kInline] = {};
  std::vector<uint32_t> more_;  // entries kInline.. (threads past the first kInline)
};

inline constexpr uint32_t kNoAccess = 0xffffffffu;

// One access: who (thread id), at which of its clocks, where (return
// address into the engine, symbolized only for a report) and when (step).
struct Access {
  uint32_t tid = kNoAccess;
  uint32_t clock = 0;
  const void* pc = nullptr;
  uint64_t step = 0;
};

// The shadow of one shared location: its last write and the reads since
// (one read while they are ordered, one per thread once two are not).
struct AccessShadow {
  uint64_t world = 0;  // the world that recorded it (a shadow from an earlier run is stale)
  Access write;
  Access read;
  std::unique_ptr<std::vector<Access>> reads;  // concurrent reads, by thread

  AccessShadow() = default;
  // A copied field is a new location: nothing recorded.
  AccessShadow(const AccessShadow&) {}
  AccessShadow& operator=(const AccessShadow&) { return *this; }
};

}  // namespace lazywq::sim
