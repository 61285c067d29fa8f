// A set of addresses, looked up at every simulated lock (World::sync_dead).
//
// std::unordered_set divides by a prime bucket count on every lookup: the
// destroyed-sync check was 9% of a simulated run's time (perf, wqcheck
// bench). This one is open addressing with linear probing over a
// power-of-two table, multiplicative hashing and tombstones. It is only
// looked up, never iterated, so the order it keeps cannot leak into a run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lazywq::sim {

class AddressSet {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  bool contains(const void* p) const {
    if (size_ == 0) return false;
    for (size_t i = slot(p);; i = (i + 1) & mask_) {
      if (slots_[i] == p) return true;
      if (slots_[i] == nullptr) return false;
    }
  }

  void insert(const void* p) {
    if (p == nullptr || p == tomb()) return;  // never stored: they mark slots
    if ((used_ + 1) * 4 > slots_.size() * 3) rehash();
    size_t free_slot = SIZE_MAX;
    for (size_t i = slot(p);; i = (i + 1) & mask_) {
      if (slots_[i] == p) return;
      if (slots_[i] == tomb() && free_slot == SIZE_MAX) free_slot = i;
      if (slots_[i] == nullptr) {
        if (free_slot == SIZE_MAX) {
          free_slot = i;
          ++used_;
        }
        slots_[free_slot] = p;
        ++size_;
        return;
      }
    }
  }

  void erase(const void* p) {
    if (size_ == 0) return;
    for (size_t i = slot(p);; i = (i + 1) & mask_) {
      if (slots_[i] == p) {
        slots_[i] = tomb();
        --size_;
        return;
      }
      if (slots_[i] == nullptr) return;
    }
  }

 private:
  static const void* tomb() { return reinterpret_cast<const void*>(uintptr_t{1}); }
  size_t slot(const void* p) const {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(p) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  // Twice the live entries' room (at least 16 slots), tombstones dropped.
  void rehash() {
    size_t cap = 16;
    while (cap * 3 < (size_ + 1) * 8) cap *= 2;
    std::vector<const void*> old;
    old.swap(slots_);
    slots_.assign(cap, nullptr);
    mask_ = cap - 1;
    shift_ = 64;
    for (size_t c = cap; c > 1; c >>= 1) --shift_;
    size_ = used_ = 0;
    for (const void* p : old)
      if (p != nullptr && p != tomb()) insert(p);
  }

  std::vector<const void*> slots_;  // nullptr: never used; tomb(): erased
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;  // live entries
  size_t used_ = 0;  // live entries and tombstones
};

}  // namespace lazywq::sim
