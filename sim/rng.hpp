// The simulator's only source of randomness: splitmix64 streams derived
// from the run's seed. Every choice inside the simulated world comes from
// one of these, so a seed replays bit for bit.
#pragma once

#include <cstdint>

namespace lazywq::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1)); }
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  bool chance(double p) { return unit() < p; }
  // A derived, independent stream (for a named purpose).
  Rng fork(uint64_t salt) { return Rng(next() ^ (salt * 0xd6e8feb86659fd93ull)); }

 private:
  uint64_t s_;
};

}  // namespace lazywq::sim
