// Statistics and the event stream: the oracle, replay and traces read them,
// so they must agree with each other and with what happened.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

TEST(StatsEvents, NoEventsUnlessRecorded) {
  EngineConfig cfg = test_config(4);
  cfg.record_events = false;
  std::atomic<int> runs{0};
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  wq.flush();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(eng.events().empty());
  EXPECT_EQ(eng.event_count(), 0u);
  EXPECT_EQ(eng.stats().works_run, 1u) << "statistics do not depend on event recording";
}

// Sequence numbers are positions in the stream; time never goes backwards.
TEST(StatsEvents, SequenceAndTimeAreMonotonic) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < 40; ++i) {
    works.push_back(std::make_unique<Work>([](Work&) {}, "w"));
    ASSERT_TRUE(wq.queue_work_on(i % 4, *works.back()));
  }
  wq.flush();
  auto evs = eng.events();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(eng.event_count(), evs.size());
  for (size_t i = 0; i < evs.size(); ++i) {
    EXPECT_EQ(evs[i].seq, i);
    EXPECT_GE(evs[i].time_ns, 0);
    if (i) {
      EXPECT_GE(evs[i].time_ns, evs[i - 1].time_ns) << lazywq::format_event(evs[i]);
    }
  }
  EXPECT_LE(evs.back().time_ns, eng.now_ns());
}

// Each run: a queue event, then exec_begin, then exec_end on the same thread
// and CPU; queue events from the test thread are marked external and carry
// the target CPU.
TEST(StatsEvents, EveryRunIsQueueBeginEnd) {
  constexpr int kWorks = 30;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kWorks; ++i) {
    works.push_back(std::make_unique<Work>([](Work&) {}, "w"));
    ASSERT_TRUE(wq.queue_work_on(i % 4, *works.back()));
  }
  wq.flush();
  for (int i = 0; i < kWorks; ++i) {
    auto& w = *works[static_cast<size_t>(i)];
    EXPECT_GE(w.id(), 1u);
    auto q = events_where(eng, EventType::queue, w.id());
    auto b = events_where(eng, EventType::exec_begin, w.id());
    auto e = events_where(eng, EventType::exec_end, w.id());
    ASSERT_EQ(q.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(q[0].thread & lazywq::kExternalThread, 0u) << "queued from outside the engine";
    EXPECT_EQ(q[0].arg, i % 4);
    EXPECT_EQ(q[0].queue, wq.id());
    EXPECT_LT(q[0].seq, b[0].seq);
    EXPECT_LT(b[0].seq, e[0].seq);
    EXPECT_EQ(b[0].thread, e[0].thread);
    EXPECT_EQ(b[0].cpu, e[0].cpu);
    EXPECT_EQ(b[0].queue, wq.id());
  }
  EXPECT_EQ(eng.stats().works_run, static_cast<uint64_t>(kWorks));
  // Work ids are engine-unique.
  std::set<uint64_t> ids;
  for (auto& w : works) ids.insert(w->id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kWorks));
}

// After a mixed run (creation faults, idle exits, throws, hotplug, destroy)
// every counter equals the number of its events.
TEST(StatsEvents, CountersMatchEvents) {
  EngineConfig cfg = test_config(6);
  cfg.idle_timeout = 3ms;
  cfg.spawn_cooldown = 1ms;
  std::atomic<int> runs{0};
  Engine eng(cfg);
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < 24; ++i)
    works.push_back(std::make_unique<Work>(
        [&, i](Work&) {
          runs.fetch_add(1);
          if (i % 7 == 3) throw std::runtime_error("boom");
        },
        "w"));
  lazywq::SpawnFaults f;
  f.fail_next = 2;
  eng.set_spawn_faults(f);
  for (int i = 0; i < 24; ++i) ASSERT_TRUE(lazy.queue_work_on(i % 6, *works[static_cast<size_t>(i)]));
  lazy.flush();
  ASSERT_TRUE(wait_until([&] { return lazy.live_threads() == 1; }));  // idle exits happened
  ASSERT_TRUE(eng.cpu_offline(4));
  for (int i = 0; i < 24; ++i) ASSERT_TRUE(eager.queue_work_on(i % 6, *works[static_cast<size_t>(i)]));
  eager.flush();
  ASSERT_TRUE(eng.cpu_online(4));
  lazy.destroy();
  eager.destroy();

  auto s = eng.stats();
  EXPECT_EQ(s.threads_created, count_events(eng, EventType::spawn));
  EXPECT_EQ(s.spawn_failures, count_events(eng, EventType::spawn_fail));
  EXPECT_EQ(s.spawn_failures, 2u);
  EXPECT_EQ(s.fallbacks, count_events(eng, EventType::fallback));
  EXPECT_EQ(s.migrations, count_events(eng, EventType::migrate));
  EXPECT_EQ(s.works_run, count_events(eng, EventType::exec_end));
  EXPECT_EQ(s.works_run, count_events(eng, EventType::exec_begin));
  EXPECT_EQ(s.works_run, static_cast<uint64_t>(runs.load()));
  EXPECT_EQ(s.works_run, 48u);
  EXPECT_EQ(s.idle_exits, count_events(eng, EventType::idle_exit));
  EXPECT_GE(s.idle_exits, 1u);
  EXPECT_EQ(s.callback_exceptions, count_events(eng, EventType::callback_threw));
  EXPECT_EQ(s.callback_exceptions, 2u * 3u);  // i = 3, 10, 17 on both queues
  EXPECT_EQ(s.threads_exited, s.threads_created) << "everything destroyed: every thread joined";
  EXPECT_EQ(s.threads_exited, count_events(eng, EventType::idle_exit) + count_events(eng, EventType::thread_exit));
  EXPECT_EQ(s.live_threads, 0);
  EXPECT_EQ(count_events(eng, EventType::cpu_offline), 1u);
  EXPECT_EQ(count_events(eng, EventType::cpu_online), 1u);
  EXPECT_EQ(count_events(eng, EventType::destroy), 2u);
  EXPECT_EQ(count_events(eng, EventType::destroy_end), 2u);
  EXPECT_EQ(count_events(eng, EventType::create), 2u);
  // destroy_end comes after every thread_exit of its queue.
  for (const Event& d : events_where(eng, EventType::destroy_end))
    for (const Event& x : events_where(eng, EventType::thread_exit, 0, d.queue)) EXPECT_LT(x.seq, d.seq);
}

TEST(StatsEvents, QueueStatsListEveryQueue) {
  Engine eng(test_config(4));
  auto& a = eng.create_workqueue("alpha", WqKind::lazy);
  auto& b = eng.create_workqueue("beta", WqKind::per_cpu);
  auto& c = eng.create_workqueue("gamma", WqKind::single_thread);
  auto& d = eng.create_workqueue("delta", WqKind::ordered);
  EXPECT_EQ(a.name(), "alpha");
  EXPECT_EQ(b.kind(), WqKind::per_cpu);
  c.destroy();
  auto s = eng.stats();
  ASSERT_EQ(s.queues.size(), 4u);
  std::map<std::string, lazywq::QueueStats> by_name;
  for (auto& q : s.queues) by_name[q.name] = q;
  EXPECT_EQ(by_name["alpha"].id, a.id());
  EXPECT_EQ(by_name["alpha"].kind, WqKind::lazy);
  EXPECT_EQ(by_name["alpha"].live_threads, 1);
  EXPECT_EQ(by_name["beta"].live_threads, 4);
  EXPECT_TRUE(by_name["gamma"].destroyed);
  EXPECT_EQ(by_name["gamma"].live_threads, 0);
  EXPECT_EQ(by_name["delta"].kind, WqKind::ordered);
  EXPECT_FALSE(by_name["delta"].destroyed);
  EXPECT_EQ(s.live_threads, 1 + 4 + 0 + 1);
  std::set<uint32_t> ids{a.id(), b.id(), c.id(), d.id()};
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids.count(0u), 0u) << "queue ids are 1-based";
}

// flush/cancel events carry their kind and their outcome.
TEST(StatsEvents, FlushAndCancelEventsCarryArgs) {
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  eng.flush_work(w);
  EXPECT_FALSE(eng.flush_work(w));
  wq.flush();
  wq.drain();
  auto fb = events_where(eng, EventType::flush_begin);
  auto fe = events_where(eng, EventType::flush_end);
  ASSERT_EQ(fb.size(), 4u);
  ASSERT_EQ(fe.size(), 4u);
  EXPECT_EQ(fb[0].arg, static_cast<int>(lazywq::FlushKind::work));
  EXPECT_EQ(fb[0].work, w.id());
  EXPECT_EQ(fb[1].arg, static_cast<int>(lazywq::FlushKind::work));
  EXPECT_EQ(fe[1].arg, 0) << "second flush_work did not wait";
  EXPECT_EQ(fb[2].arg, static_cast<int>(lazywq::FlushKind::workqueue));
  EXPECT_EQ(fb[2].queue, wq.id());
  EXPECT_EQ(fb[3].arg, static_cast<int>(lazywq::FlushKind::drain));

  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  ASSERT_TRUE(wq.queue_work_on(0, blocker));
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(wq.queue_work_on(0, w));
  EXPECT_TRUE(eng.cancel_work(w));
  EXPECT_FALSE(eng.cancel_work_sync(w));
  release.open();
  auto cb = events_where(eng, EventType::cancel_begin, w.id());
  auto ce = events_where(eng, EventType::cancel_end, w.id());
  ASSERT_EQ(cb.size(), 2u);
  ASSERT_EQ(ce.size(), 2u);
  EXPECT_EQ(ce[0].arg, 1);
  EXPECT_EQ(ce[1].arg, 0);
  EXPECT_LT(cb[0].seq, ce[0].seq);
}

// FlushKind has a `delayed` value: flush_delayed_work should say so.
TEST(StatsEvents, FlushDelayedWorkIsRecordedAsDelayed) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([](Work&) {}, "dw");
  ASSERT_TRUE(wq.queue_delayed_work_on(1, dw, 30s));
  eng.flush_delayed_work(dw);
  auto fb = events_where(eng, EventType::flush_begin, dw.id());
  ASSERT_FALSE(fb.empty());
  EXPECT_EQ(fb[0].arg, static_cast<int>(lazywq::FlushKind::delayed)) << dump_events(eng);
}

// Spawn events name the CPU of the new thread; the first is the core.
TEST(StatsEvents, SpawnEventsNameTheirCpu) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  wq.flush();
  auto sp = events_where(eng, EventType::spawn, 0, wq.id());
  ASSERT_EQ(sp.size(), 2u);
  EXPECT_EQ(sp[0].cpu, 0);
  EXPECT_EQ(sp[1].cpu, 2);
  EXPECT_NE(sp[0].thread, sp[1].thread);
  auto b = events_where(eng, EventType::exec_begin, w.id());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].thread, sp[1].thread) << "the run happened on the spawned CPU 2 worker";
}

// Engines are independent: no globals.
TEST(StatsEvents, EnginesAreIndependent) {
  Engine e1(test_config(2));
  Engine e2(test_config(8));
  auto& q1 = e1.create_workqueue("a", WqKind::lazy);
  auto& q2 = e2.create_workqueue("a", WqKind::per_cpu);
  Work w1([](Work&) {}, "w1"), w2([](Work&) {}, "w2");
  ASSERT_TRUE(q1.queue_work_on(1, w1));
  ASSERT_TRUE(q2.queue_work_on(7, w2));
  q1.flush();
  q2.flush();
  EXPECT_EQ(e1.stats().works_run, 1u);
  EXPECT_EQ(e2.stats().works_run, 1u);
  EXPECT_EQ(e1.stats().live_threads, 2);
  EXPECT_EQ(e2.stats().live_threads, 8);
  EXPECT_EQ(e1.ncpus(), 2);
  EXPECT_EQ(e2.config().ncpus, 8);
  EXPECT_EQ(count_events(e1, EventType::exec_begin), 1u);
  EXPECT_EQ(count_events(e2, EventType::exec_begin), 1u);
}

TEST(StatsEvents, NamesAndFormatting) {
  std::set<std::string> names;
  for (int t = 0; t < lazywq::kEventTypes; ++t) {
    auto n = std::string(lazywq::to_string(static_cast<EventType>(t)));
    EXPECT_FALSE(n.empty());
    EXPECT_NE(n, "?");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(lazywq::kEventTypes)) << "event names must be distinct";
  EXPECT_EQ(lazywq::to_string(WqKind::lazy), "lazy");
  EXPECT_EQ(lazywq::to_string(Errc::deadlock), "deadlock");
  for (auto b : lazywq::all_planted_bugs()) {
    EXPECT_NE(b, lazywq::PlantedBug::none);
    EXPECT_EQ(lazywq::planted_bug_from_string(lazywq::to_string(b)), b);
  }
  EXPECT_EQ(lazywq::planted_bug_from_string("none"), lazywq::PlantedBug::none);
  Event e;
  e.type = EventType::migrate;
  e.work = 7;
  e.arg = 3;
  std::string s = lazywq::format_event(e);
  EXPECT_NE(s.find("migrate"), std::string::npos) << s;
}

}  // namespace
}  // namespace lwqt
