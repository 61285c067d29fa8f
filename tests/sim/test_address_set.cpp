// sim/address_set.hpp against std::set: the destroyed-sync check (World::
// sync_dead) must find exactly the addresses destroyed and not rebuilt,
// through growth, tombstones and reuse of erased slots.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "sim/address_set.hpp"
#include "sim/rng.hpp"

using lazywq::sim::AddressSet;

TEST(AddressSet, AgreesWithStdSetThroughInsertsErasesAndGrowth) {
  lazywq::sim::Rng rng(42);
  AddressSet set;
  std::set<uintptr_t> model;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(reinterpret_cast<const void*>(uintptr_t{0x1000})));
  for (int i = 0; i < 200000; ++i) {
    // Aligned addresses from a small range, so erases and re-inserts hit.
    const uintptr_t a = 0x7f0000001000ull + 16 * rng.below(i < 100000 ? 512 : 20000);
    const void* p = reinterpret_cast<const void*>(a);
    if (rng.chance(0.55)) {
      set.insert(p);
      model.insert(a);
    } else {
      set.erase(p);
      model.erase(a);
    }
    ASSERT_EQ(set.contains(p), model.count(a) != 0) << i;
    ASSERT_EQ(set.size(), model.size()) << i;
  }
  for (uintptr_t a = 0x7f0000001000ull; a < 0x7f0000001000ull + 16 * 20000; a += 16)
    ASSERT_EQ(set.contains(reinterpret_cast<const void*>(a)), model.count(a) != 0);
  // The two values that mark slots are never stored.
  set.insert(nullptr);
  set.insert(reinterpret_cast<const void*>(uintptr_t{1}));
  EXPECT_EQ(set.size(), model.size());
}
