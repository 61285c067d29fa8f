// Frees held back while a world runs (sim/quarantine.hpp): no address is
// reused within a run, so an engine that uses memory it freed neither
// corrupts the harness's heap nor decides a run by the heap's history, and
// a checked field in a freed block is reported as a use after free.
//
// The mutant that showed the need: cpu_offline's re-check loop made a
// single check (while_to_if@f3e2a1) lets a worker read its freed Worker;
// its stray accesses broke the explorer's next in-process run (a segfault
// while shrinking, or a replay with another trace hash).
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "lazywq/detail.hpp"
#include "sim/platform_sim.hpp"
#include "sim/quarantine.hpp"
#include "sim/runner.hpp"
#include "sim/world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

using P = SimPlatform;

RunResult run_world(const std::function<void()>& main) {
  WorldConfig cfg;
  cfg.seed = 1;
  World w(cfg);
  return w.run(main);
}

bool have_symbolizer() { return std::system("command -v llvm-symbolizer-14 >/dev/null 2>&1") == 0; }

// Heap blocks whose addresses the test compares; volatile so that the
// allocations are not elided.
std::vector<uintptr_t> allocate_and_free(int n) {
  std::vector<uintptr_t> addresses;
  addresses.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    int* volatile p = new int(i);
    addresses.push_back(reinterpret_cast<uintptr_t>(p));
    delete p;
  }
  return addresses;
}

struct Node {
  P::Var<int> count = 0;
  const P::Immutable<int> cpu{3};
};

}  // namespace

TEST(Quarantine, NoAddressIsReusedWithinARun) {
  if (!quarantine_available()) GTEST_SKIP() << "a sanitizer's allocator holds frees back itself";
  std::vector<uintptr_t> in_run;
  auto r = run_world([&] { in_run = allocate_and_free(500); });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_EQ(std::set<uintptr_t>(in_run.begin(), in_run.end()).size(), in_run.size());
  // Outside a run the allocator hands the same block back at once (glibc's
  // per-thread cache): what the quarantine keeps from happening in a run.
  const std::vector<uintptr_t> outside = allocate_and_free(500);
  EXPECT_LT(std::set<uintptr_t>(outside.begin(), outside.end()).size(), outside.size());
}

TEST(Quarantine, HeldBlocksAreFreedWhenTheirScopeEndsAndScopesNest) {
  if (!quarantine_available()) GTEST_SKIP() << "a sanitizer's allocator holds frees back itself";
  // No assertion inside the scopes: their messages allocate and free too.
  QuarantineState outer = quarantine_begin();
  allocate_and_free(1);  // its vector's buffer is freed too: 2 blocks
  QuarantineState inner = quarantine_begin();
  allocate_and_free(3);  // 4 blocks
  const size_t inner_held = quarantine_end(inner);
  allocate_and_free(1);
  const size_t outer_held = quarantine_end(outer);
  EXPECT_EQ(inner_held, 4u);  // the inner scope's only
  EXPECT_EQ(outer_held, 4u);  // before and after the inner one
  EXPECT_EQ(quarantine_end(QuarantineState{}), 0u);  // nothing open: nothing held
}

TEST(Quarantine, AFieldReadAfterItsBlockWasFreedIsAUseAfterFree) {
  if (!quarantine_available()) GTEST_SKIP() << "under a sanitizer its own report comes first";
  for (bool freed : {false, true}) {
    auto r = run_world([freed] {
      Node* n = new Node;
      P::Thread t = *P::spawn(0, "owner", [&] {
        n->count = n->count + 1;
        if (freed) delete n;
      });
      t.join();
      const int seen = n->count;  // after the join: ordered, but freed when `freed`
      EXPECT_EQ(seen, 1);
      if (!freed) delete n;
    });
    if (!freed) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
      continue;
    }
    ASSERT_EQ(r.status, RunStatus::crashed) << r.message;
    EXPECT_NE(r.message.find("use after free: this thread reads a lock-guarded engine field"), std::string::npos)
        << r.message;
    if (have_symbolizer()) EXPECT_NE(r.message.find("test_quarantine.cpp:"), std::string::npos) << r.message;
  }
}

TEST(Quarantine, AnImmutableFieldReadAfterItsBlockWasFreedIsAUseAfterFree) {
  if (!quarantine_available()) GTEST_SKIP() << "under a sanitizer its own report comes first";
  auto r = run_world([] {
    Node* n = new Node;
    delete n;
    const int cpu = n->cpu;  // what worker_main read of its freed Worker in the mutant
    EXPECT_EQ(cpu, 3);       // not reached
  });
  ASSERT_EQ(r.status, RunStatus::crashed) << r.message;
  EXPECT_NE(r.message.find("use after free: this thread reads an immutable engine field"), std::string::npos)
      << r.message;
}

// An atomic has no race shadow: it carries a liveness word instead, checked
// after the operation's scheduling point (another thread may free the
// object there). A work's PENDING flags and engine pointer are atomics.
TEST(Quarantine, AnAtomicUsedAfterItsBlockWasFreedIsAUseAfterFree) {
  if (!quarantine_available()) GTEST_SKIP() << "under a sanitizer its own report comes first";
  struct Flags {
    P::Atomic<uint32_t> bits{1};
  };
  for (bool freed : {false, true}) {
    auto r = run_world([freed] {
      Flags* f = new Flags;
      P::Thread t = *P::spawn(0, "releaser", [&] {
        if (freed) delete f;
      });
      t.join();
      const uint32_t was = f->bits.fetch_or(2, std::memory_order_acq_rel);
      EXPECT_EQ(was, 1u);
      if (!freed) delete f;
    });
    if (!freed) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
      continue;
    }
    ASSERT_EQ(r.status, RunStatus::crashed) << r.message;
    EXPECT_NE(r.message.find("use after free: this thread writes an engine atomic"), std::string::npos) << r.message;
    if (have_symbolizer()) EXPECT_NE(r.message.find("test_quarantine.cpp:"), std::string::npos) << r.message;
  }
}

// Destroyed but not freed (an object on a stack, or destroyed in place):
// the liveness word says so, with or without the quarantine.
TEST(Quarantine, AnAtomicUsedAfterItsDestructorIsAUseAfterFree) {
  alignas(P::Atomic<int>) unsigned char storage[sizeof(P::Atomic<int>)];
  auto r = run_world([&storage] {
    auto* a = new (storage) P::Atomic<int>(5);
    a->~Atomic();
    (void)a->load(std::memory_order_acquire);
  });
  ASSERT_EQ(r.status, RunStatus::crashed) << r.message;
  EXPECT_NE(r.message.find("reads an engine atomic"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("after its object was destroyed"), std::string::npos) << r.message;
}

// With reuse on, the next allocation of a size gets the block of that size
// freed last, as glibc's cache would, whatever the heap did before the run.
TEST(Quarantine, AReusingRunHandsTheLastFreedBlockOfASizeToItsNextAllocation) {
  if (!quarantine_available()) GTEST_SKIP() << "a sanitizer's allocator decides reuse itself";
  for (bool reuse : {false, true}) {
    uintptr_t first = 0, other = 0, again = 0;
    WorldConfig cfg;
    cfg.reuse_freed_blocks = reuse;
    World w(cfg);
    const RunResult r = w.run([&] {
      int* volatile a = new int(1);
      first = reinterpret_cast<uintptr_t>(a);
      delete a;
      char* volatile big = new char[200];  // another size: not that block
      other = reinterpret_cast<uintptr_t>(big);
      delete[] big;
      int* volatile b = new int(2);
      again = reinterpret_cast<uintptr_t>(b);
      delete b;
    });
    ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    EXPECT_NE(other, first);
    if (reuse) {
      EXPECT_EQ(again, first);
      EXPECT_EQ(w.blocks_reused(), 1u);
    } else {
      EXPECT_NE(again, first);
      EXPECT_EQ(w.blocks_reused(), 0u);
    }
  }
}

// The engine orders nothing by address: a clean run's trace is the same
// whether or not the heap reuses blocks. (A difference would make a seed's
// run depend on an allocator, the reason the quarantine exists.)
TEST(Quarantine, TheHeapsReuseChangesNoCleanRunsTrace) {
  if (!quarantine_available()) GTEST_SKIP() << "a sanitizer's allocator decides reuse itself";
  int reusing_runs = 0;
  for (const char* scenario : {"migration", "hotplug", "shared_deps", "lifetime", "teardown", "rescue"})
    for (uint64_t seed = 1; seed <= 25; ++seed) {
      RunOptions r;
      r.scenario = scenario;
      r.seed = seed;
      r.heap_reuse = 0;
      const Outcome kept = run_scenario(r);
      r.heap_reuse = 1;
      const Outcome reused = run_scenario(r);
      ASSERT_FALSE(kept.failed) << scenario << " seed " << seed << ": " << kept.headline;
      EXPECT_EQ(kept.trace_hash, reused.trace_hash) << scenario << " seed " << seed;
      EXPECT_EQ(reused.failed, false) << scenario << " seed " << seed << ": " << reused.headline;
      for (const std::string& line : reused.config_lines) reusing_runs += line.rfind("heap=reuse", 0) == 0;
    }
  EXPECT_EQ(reusing_runs, 150);  // every run handed blocks back: the comparison means something
}
