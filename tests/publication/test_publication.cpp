// What the engine's public atomic getters publish, checked by
// ThreadSanitizer (the tsan preset runs these; elsewhere they only run).
// Each test reaches engine state through one getter alone, from a thread
// that has no other happens-before edge with the thread that wrote it: if
// the getter's acquire were relaxed, TSan reports the race every time the
// test runs, not only in a rare interleaving. Mutation testing found both
// getters unchecked (relax_order on BasicWork::engine and
// BasicWorkqueue::destroyed survived every checker).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "lazywq/lazywq.hpp"

namespace {

using lazywq::Engine;
using lazywq::EngineConfig;
using lazywq::Work;
using lazywq::WqKind;

EngineConfig config() {
  EngineConfig cfg;
  cfg.ncpus = 2;
  return cfg;
}

// A thread that knows only the work finds the engine through w.engine(),
// which must publish the engine's construction (bind's release of engine_,
// engine()'s acquire): reading its stats touches what the constructor wrote.
TEST(Publication, TheEngineFoundThroughABoundWorkIsPublished) {
  for (int round = 0; round < 20; ++round) {
    Work w([](Work&) {}, "w");
    std::thread observer([&] {
      Engine* e;
      while (!(e = w.engine())) std::this_thread::yield();
      EXPECT_GE(e->stats().queues.size(), 1u);
    });
    // Created after the observer started: only w.engine() orders them.
    auto eng = std::make_unique<Engine>(config());
    auto& q = eng->create_workqueue("q", WqKind::lazy);
    q.queue_work(w);  // binds w to the engine
    observer.join();
    eng->flush_work(w);
  }
}

// A thread that polls q.destroyed() until it is true may then read what
// the queue's works wrote: destroy drained them before it set dead_
// (release; destroyed()'s acquire).
TEST(Publication, WhatTheWorksWroteIsPublishedByDestroyed) {
  for (int round = 0; round < 20; ++round) {
    Engine eng(config());
    auto& q = eng.create_workqueue("q", WqKind::lazy);
    int written = 0;  // plain: ordered only through destroyed()
    Work w([&](Work&) { written = 1; }, "w");
    std::thread observer([&] {
      while (!q.destroyed()) std::this_thread::yield();
      EXPECT_EQ(written, 1);
    });
    q.queue_work(w);
    q.destroy();
    observer.join();
  }
}

}  // namespace
