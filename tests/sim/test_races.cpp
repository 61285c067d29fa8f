// The simulator's data-race check (sim/happens_before.hpp): a lock-guarded
// field, mutex or condition variable touched by two threads with nothing
// ordering the two accesses ends the run, on every schedule, naming both
// accesses; what the memory model orders (a lock, release/acquire and its
// release sequence, spawn, join) is never reported.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "lazywq/detail.hpp"
#include "lazywq/engine.hpp"
#include "sim/platform_sim.hpp"
#include "sim/world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

using P = SimPlatform;

RunResult run_world(uint64_t seed, const std::function<void()>& main, bool race_check = true) {
  WorldConfig cfg;
  cfg.seed = seed;
  cfg.race_check = race_check;
  World w(cfg);
  return w.run(main);
}

bool is_race(const RunResult& r) {
  return r.status == RunStatus::crashed && r.message.find("data race on ") != std::string::npos;
}

bool have_symbolizer() { return std::system("command -v llvm-symbolizer-14 >/dev/null 2>&1") == 0; }

}  // namespace

TEST(Races, AFieldBothThreadsTouchUnderTheirLockIsNoRace) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    auto r = run_world(seed, [] {
      P::Mutex m;
      P::Var<int> counter = 0;
      auto bump = [&] {
        for (int i = 0; i < 3; ++i) {
          m.lock();
          ++counter;
          m.unlock();
        }
      };
      P::Thread a = *P::spawn(0, "a", bump);
      P::Thread b = *P::spawn(1, "b", bump);
      a.join();
      b.join();
      EXPECT_EQ(static_cast<int>(counter), 6);  // after the joins: ordered
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
  }
}

// The race is there whatever the schedule: the two writes are unordered
// even when one thread ends before the other starts.
TEST(Races, AFieldTwoThreadsWriteWithoutALockIsARaceOnEverySchedule) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    auto r = run_world(seed, [] {
      P::Mutex m;
      P::Var<int> field = 0;  // written by main before the spawns: ordered
      P::Thread a = *P::spawn(0, "writer-a", [&] {
        m.lock();
        field = 1;
        m.unlock();
      });
      P::Thread b = *P::spawn(1, "writer-b", [&] { field = 2; });  // forgot the lock
      a.join();
      b.join();
    });
    ASSERT_TRUE(is_race(r)) << "seed " << seed << ": " << to_string(r.status) << " " << r.message;
    EXPECT_NE(r.message.find("a lock-guarded engine field"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("writer-"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("nothing orders the two accesses"), std::string::npos) << r.message;
  }
}

TEST(Races, TheReportNamesTheSourceLineOfBothAccesses) {
  if (!have_symbolizer()) GTEST_SKIP() << "llvm-symbolizer-14 not installed (apt install llvm-14)";
  auto r = run_world(1, [] {
    P::Var<int> field = 0;
    P::Thread a = *P::spawn(0, "reader", [&] { (void)static_cast<int>(field); });
    a.join();
    P::Thread b = *P::spawn(1, "writer", [&] { field = 2; });  // ordered after main's join of a: no race
    b.join();
    P::Thread c = *P::spawn(0, "late-reader", [&] { (void)static_cast<int>(field); });
    field = 3;  // main writes while c may read: unordered
    c.join();
  });
  ASSERT_TRUE(is_race(r)) << r.message;
  // Both sites, one per access, as file:line in this file.
  const size_t first = r.message.find("test_races.cpp:");
  ASSERT_NE(first, std::string::npos) << r.message;
  EXPECT_NE(r.message.find("test_races.cpp:", first + 1), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("late-reader"), std::string::npos) << r.message;
}

// Message passing: what a release store publishes, an acquire load that
// reads it sees; a relaxed one does not order it (a relaxed memory-order
// mutant is a race here, though the simulated memory is sequentially
// consistent and the value read is right).
TEST(Races, ReleaseAcquireOrdersAFieldAndRelaxedDoesNot) {
  for (bool relaxed_store : {false, true}) {
    for (bool relaxed_load : {false, true}) {
      for (uint64_t seed = 1; seed <= 20; ++seed) {
        auto r = run_world(seed, [&] {
          P::Var<int> payload = 0;
          P::Atomic<bool> ready{false};
          P::Thread producer = *P::spawn(0, "producer", [&] {
            payload = 42;
            ready.store(true, relaxed_store ? std::memory_order_relaxed : std::memory_order_release);
          });
          P::Thread consumer = *P::spawn(1, "consumer", [&] {
            while (!ready.load(relaxed_load ? std::memory_order_relaxed : std::memory_order_acquire)) P::yield();
            EXPECT_EQ(static_cast<int>(payload), 42);
          });
          producer.join();
          consumer.join();
        });
        if (!relaxed_store && !relaxed_load)
          ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
        else
          ASSERT_TRUE(is_race(r)) << "relaxed store " << relaxed_store << ", load " << relaxed_load << ", seed "
                                  << seed << ": " << to_string(r.status) << " " << r.message;
      }
    }
  }
}

// A relaxed RMW carries the release sequence on (C++20); a relaxed store
// by a third thread ends it.
TEST(Races, ARelaxedRmwContinuesAReleaseSequenceAndARelaxedStoreEndsIt) {
  for (bool third_stores : {false, true}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      auto r = run_world(seed, [&] {
        P::Var<int> payload = 0;
        P::Atomic<int> stage{0};
        P::Thread producer = *P::spawn(0, "producer", [&] {
          payload = 7;
          stage.store(1, std::memory_order_release);
        });
        P::Thread middle = *P::spawn(1, "middle", [&] {
          while (stage.load(std::memory_order_relaxed) != 1) P::yield();
          if (third_stores)
            stage.store(2, std::memory_order_relaxed);
          else
            stage.fetch_add(1, std::memory_order_relaxed);
        });
        P::Thread consumer = *P::spawn(2, "consumer", [&] {
          // Relaxed until it reads 2: an acquire load reading the
          // producer's 1 would synchronize with the producer directly.
          while (stage.load(std::memory_order_relaxed) != 2) P::yield();
          EXPECT_EQ(stage.load(std::memory_order_acquire), 2);
          (void)static_cast<int>(payload);
        });
        producer.join();
        middle.join();
        consumer.join();
      });
      if (third_stores)
        ASSERT_TRUE(is_race(r)) << "seed " << seed << ": " << to_string(r.status) << " " << r.message;
      else
        ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    }
  }
}

// A compare-exchange that fails loads with its failure order: acquire
// from acq_rel (as std derives it), nothing from release.
TEST(Races, AFailedCompareExchangeAcquiresOnlyWithAnAcquiringFailureOrder) {
  for (bool acq_rel : {true, false}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      auto r = run_world(seed, [&] {
        P::Var<int> payload = 0;
        P::Atomic<int> owner{0};
        P::Thread first = *P::spawn(0, "first", [&] {
          payload = 1;
          owner.store(1, std::memory_order_release);
        });
        P::Thread second = *P::spawn(1, "second", [&] {
          while (owner.load(std::memory_order_relaxed) != 1) P::yield();
          int expected = 0;  // fails: the value is 1
          EXPECT_FALSE(owner.compare_exchange_strong(expected, 2,
                                                     acq_rel ? std::memory_order_acq_rel : std::memory_order_release));
          (void)static_cast<int>(payload);
        });
        first.join();
        second.join();
      });
      if (acq_rel)
        ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
      else
        ASSERT_TRUE(is_race(r)) << "seed " << seed << ": " << to_string(r.status) << " " << r.message;
    }
  }
}

// Spawning orders the parent's past before the child; a join orders the
// child's whole life before the joiner's next step.
TEST(Races, SpawnAndJoinOrderFields) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto r = run_world(seed, [] {
      P::Var<int> field = 1;
      P::Thread child = *P::spawn(1, "child", [&] { field = field + 1; });
      child.join();
      field = field + 1;
      EXPECT_EQ(static_cast<int>(field), 3);
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
  }
}

// A mutex destroyed by a thread that never synchronized with the last one
// to lock it: on real threads the destruction can run while the other
// thread is still inside unlock. (The engine frees a queue's lock only
// after every thread that took it has been joined or has handed over.)
TEST(Races, AMutexDestroyedWithNothingOrderingItsLastLockIsARace) {
  auto r = run_world(1, [] {
    auto* m = new P::Mutex;
    P::Atomic<bool> done{false};
    P::Thread user = *P::spawn(1, "user", [&] {
      m->lock();
      m->unlock();
      done.store(true, std::memory_order_relaxed);  // relaxed: orders nothing
    });
    while (!done.load(std::memory_order_relaxed)) P::yield();
    delete m;
    user.join();
  });
  ASSERT_TRUE(is_race(r)) << to_string(r.status) << " " << r.message;
  EXPECT_NE(r.message.find("a mutex object"), std::string::npos) << r.message;
}

// A field's shadow belongs to the world that recorded it: an object that
// outlives a run is not raced against by the next run's threads.
TEST(Races, AnEarlierWorldsAccessesAreForgotten) {
  auto field = std::make_unique<P::Var<int>>(0);
  auto first = run_world(1, [&] {
    P::Thread t = *P::spawn(1, "first-world", [&] { *field = 1; });
    t.join();
  });
  ASSERT_EQ(first.status, RunStatus::ok) << first.message;
  auto second = run_world(1, [&] {
    P::Thread t = *P::spawn(1, "second-world", [&] { *field = 2; });
    t.join();
  });
  EXPECT_EQ(second.status, RunStatus::ok) << second.message;
}

// Off (WorldConfig::race_check = false), a race is not looked for: only to
// measure what the check costs.
TEST(Races, TheCheckCanBeSwitchedOff) {
  auto r = run_world(
      1,
      [] {
        P::Var<int> field = 0;
        P::Thread a = *P::spawn(0, "a", [&] { field = 1; });
        P::Thread b = *P::spawn(1, "b", [&] { field = 2; });
        a.join();
        b.join();
      },
      /*race_check=*/false);
  EXPECT_EQ(r.status, RunStatus::ok) << r.message;
}

// The engine's intrusive lists (a pool's worklist, a queue's CPU lists, a
// pool thread's scheduled list) are checked link by link: a push without
// the list's lock is a race on the list's end, named in detail.hpp.
template <class P>
struct Node {
  lazywq::detail::ListHook<Node> hook_;
};

TEST(Races, AnIntrusiveListPushedWithoutItsLockIsARace) {
  for (bool locked : {true, false}) {
    auto r = run_world(1, [&] {
      P::Mutex m;
      lazywq::detail::IntrusiveList<Node<P>> list;
      Node<P> a, b;
      P::Thread first = *P::spawn(0, "first", [&] {
        m.lock();
        list.push_back(&a);
        m.unlock();
      });
      P::Thread second = *P::spawn(1, "second", [&] {
        if (locked) {
          m.lock();
          list.push_back(&b);
          m.unlock();
        } else {
          list.push_back(&b);  // forgot the lock
        }
      });
      first.join();
      second.join();
      EXPECT_EQ(list.size(), 2u);
    });
    if (locked) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
    } else {
      ASSERT_TRUE(is_race(r)) << to_string(r.status) << " " << r.message;
      if (have_symbolizer()) {
        EXPECT_NE(r.message.find("lazywq/detail.hpp:"), std::string::npos) << r.message;
      }
    }
  }
}

// An immutable field ("I:", P::Immutable) is written by its constructor:
// a thread that reaches the object through nothing the memory model orders
// after the construction (here a pointer handed over through a plain
// std::atomic the simulator does not see, as a relaxed load of the
// engine's would be) reads it unordered: a race, naming the field's kind.
// Handed over under a lock, the same read is ordered. (Mutation testing,
// issue #14: the rescuer's relaxed load of a work's home_ read the queue's
// kind_ unordered, and no check looked at a constant field.)
TEST(Races, AQueueReachedThroughNothingOrderedAfterItsCreationIsARace) {
  for (bool locked : {true, false}) {
    auto r = run_world(1, [locked] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      BasicEngine<P> eng(cfg);
      std::atomic<BasicWorkqueue<P>*> unseen{nullptr};  // std::atomic: no edge the simulator knows
      P::Mutex m;
      P::Var<BasicWorkqueue<P>*> handed = nullptr;
      P::Thread creator = *P::spawn(0, "creator", [&] {
        BasicWorkqueue<P>& q = eng.create_workqueue("late", WqKind::lazy);
        if (locked) {
          m.lock();
          handed = &q;
          m.unlock();
        } else {
          unseen.store(&q, std::memory_order_release);
        }
      });
      P::Thread reader = *P::spawn(1, "reader", [&] {
        BasicWorkqueue<P>* q = nullptr;
        while (!q) {
          if (locked) {
            m.lock();
            q = handed;
            m.unlock();
          } else {
            q = unseen.load(std::memory_order_acquire);
          }
          if (!q) P::sched_point("reader spins");
        }
        EXPECT_EQ(q->kind(), WqKind::lazy);
      });
      creator.join();
      reader.join();
      (locked ? static_cast<BasicWorkqueue<P>*>(handed) : unseen.load())->destroy();  // after the joins: ordered
    });
    if (locked) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
    } else {
      ASSERT_TRUE(is_race(r)) << to_string(r.status) << " " << r.message;
      EXPECT_NE(r.message.find("an immutable engine field"), std::string::npos) << r.message;
      if (have_symbolizer()) {
        EXPECT_NE(r.message.find("lazywq/workqueue.hpp:"), std::string::npos) << r.message;
      }
    }
  }
}

// A container behind P::Guarded (a pool's workers and idle threads, the
// zombies waiting to be joined): -Wthread-safety cannot see a pool's, and
// a std::vector is no Var, so a push without the lock went unseen (the
// unlock_early mutants of join_zombies_locked and join_pool_zombies_locked
// survived every checker in a build without the analysis). Every access is
// checked now, a non-const one as a write.
TEST(Races, AGuardedContainerPushedWithoutItsLockIsARace) {
  for (bool locked : {true, false}) {
    auto r = run_world(1, [locked] {
      P::Mutex m;
      P::Guarded<std::vector<int>> v;
      P::Thread first = *P::spawn(0, "first", [&] {
        m.lock();
        v->push_back(1);
        m.unlock();
      });
      P::Thread second = *P::spawn(1, "second", [&] {
        if (locked) {
          m.lock();
          v->push_back(2);
          m.unlock();
        } else {
          v->push_back(2);  // forgot the lock
        }
      });
      first.join();
      second.join();
      const auto& cv = v;
      EXPECT_EQ(cv->size(), 2u);  // after the joins: ordered
    });
    if (locked) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
    } else {
      ASSERT_TRUE(is_race(r)) << to_string(r.status) << " " << r.message;
      EXPECT_NE(r.message.find("a lock-guarded engine container"), std::string::npos) << r.message;
    }
  }
}
