// A lock-guarded object the engine reaches only through -> and * (a
// container of a pool's or a queue's threads): the platforms' Guarded.
// This is the plain one, for real threads and Relacy: the object itself,
// at no cost. The simulator's own checks every access for a data race
// (sim/platform_sim.hpp), which a std::vector field cannot do: neither
// -Wthread-safety (a pool's fields are guarded by the engine's S, which
// the analysis cannot name from a Pool) nor the simulator saw such a field
// touched without its lock.
#pragma once

#include <utility>

namespace lazywq::detail {

template <class T>
class PlainGuarded {
 public:
  template <class... A>
  explicit PlainGuarded(A&&... a) : v_(std::forward<A>(a)...) {}
  T* operator->() { return &v_; }
  const T* operator->() const { return &v_; }
  T& operator*() { return v_; }
  const T& operator*() const { return v_; }

 private:
  T v_;
};

}  // namespace lazywq::detail
