// Tests of C19 (concurrency management) in the contract oracle
// (sim/oracle_pools.cpp), on hand-built streams: for each part of the rule
// one stream a correct engine can produce and one that breaks it.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"
#include "tests/oracle/pool_stream.hpp"

namespace {

using lazywq::tests::Stream;
using lazywq::tests::T12;
using lazywq::tests::T13;
using lazywq::tests::T14;
using lazywq::tests::X1;
using lazywq::check::check_events;
using lazywq::check::OracleOptions;
using lazywq::check::Violation;
using ET = lazywq::EventType;

std::vector<Violation> c19(const Stream& s, int64_t stall_ns) {
  OracleOptions o;
  o.ncpus = 4;
  o.quiescent_end = false;  // the streams stop mid-run
  o.stall_timeout_ns = stall_ns;
  std::vector<Violation> out;
  for (Violation& v : check_events(s.ev, o))
    if (v.rule == "C19") out.push_back(v);
  return out;
}

std::string describe(const std::vector<Violation>& vs) {
  std::ostringstream os;
  for (const Violation& v : vs) os << v.rule << ": " << v.message << "\n";
  return os.str();
}

TEST(Oracle_C19, AThreadBlockedInAnEngineWaitLetsAnotherStart) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).wait_begin(T12, 2).begin(2, T13).end(2, T13).wait_end(T12).end(1, T12);
  EXPECT_TRUE(c19(s, -1).empty()) << describe(c19(s, -1));
}

TEST(Oracle_C19, DetectsASecondStartBesideARunningThread) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).begin(2, T13);
  auto vs = c19(s, -1);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("thread 12 was running work 1"), std::string::npos) << vs[0].message;
}

// worker_sleeping@95acb6 (mutation testing): a thread back from its wait
// did not count again, and another started beside it.
TEST(Oracle_C19, DetectsAStartBesideAThreadBackFromItsWait) {
  Stream s;
  s.queue(1).begin(1, T12).wait_begin(T12).wait_end(T12).queue(2).begin(2, T13);
  EXPECT_EQ(c19(s, -1).size(), 1u);
}

// Other pools' threads do not count: thread 14 is the unbound pool's.
TEST(Oracle_C19, OtherPoolsRunTheirOwnWork) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2, -1).begin(2, T14, -1);
  EXPECT_TRUE(c19(s, -1).empty()) << describe(c19(s, -1));
}

// C3: work 1 queued while it ran on the unbound pool; a thread of CPU 1's
// pool took it, waited for that run, and runs it beside thread 12.
TEST(Oracle_C19, AWorkQueuedWhileItRanMayStartBesideARunningThread) {
  Stream s;
  s.queue(1, -1).begin(1, T14, -1).queue(1).queue(2).begin(2, T12).end(1, T14, -1).begin(1, T13);
  EXPECT_TRUE(c19(s, -1).empty()) << describe(c19(s, -1));
}

// The engine clears running_ after exec_end (end_run_locked): a shared
// queueing just after a run's end on another queue's thread (20 here) may
// still see the run and go the C3 way. Until that thread begins another
// run, a start of the work is not judged.
TEST(Oracle_C19, AWorkQueuedRightAfterItsRunElsewhereMayStartBesideARunningThread) {
  constexpr uint32_t T20 = 20;
  Stream s;
  s.queue(1, 0).begin(1, T20, 0).end(1, T20, 0).queue(1).queue(2).begin(2, T12).begin(1, T13);
  EXPECT_TRUE(c19(s, -1).empty()) << describe(c19(s, -1));
  Stream late;
  late.queue(1, 0).begin(1, T20, 0).end(1, T20, 0).queue(3, 0).begin(3, T20, 0).queue(1).queue(2).begin(2, T12).begin(1, T13);
  EXPECT_EQ(c19(late, -1).size(), 1u) << describe(c19(late, -1));
}

TEST(Oracle_C19, AfterTheWatchdogUncountedAThreadAnotherStarts) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).watch().later(5000).mayday(T12).begin(2, T13);
  EXPECT_TRUE(c19(s, 1000).empty()) << describe(c19(s, 1000));
}

// worker_waking@842411: an engine wait counted again a thread the watchdog
// had uncounted, and the watchdog uncounted it a second time.
TEST(Oracle_C19, DetectsAThreadUncountedTwiceInOneRun) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).watch().later(5000).mayday(T12).wait_begin(T12).wait_end(T12).watch().later(5000).mayday(
      T12);
  EXPECT_EQ(c19(s, 1000).size(), 1u) << describe(c19(s, 1000));
}

TEST(Oracle_C19, AThreadCountedAgainByItsWaitMayBeUncountedAgain) {
  Stream s;
  s.queue(1).begin(1, T12).wait_begin(T12).wait_end(T12).queue(2).watch().later(5000).mayday(T12);
  EXPECT_TRUE(c19(s, 1000).empty()) << describe(c19(s, 1000));
}

TEST(Oracle_C19, DetectsTheWatchdogUncountingAThreadInAnEngineWait) {
  Stream s;
  s.queue(1).begin(1, T12).wait_begin(T12).queue(2).watch().later(5000).mayday(T12);
  EXPECT_EQ(c19(s, 1000).size(), 1u) << describe(c19(s, 1000));
}

// manager_step_locked@460d51: the watchdog ignored the pool's progress.
TEST(Oracle_C19, DetectsTheWatchdogUncountingAPoolWhoseRunsEnd) {
  // Thread 13 started work 3 while 12 waited; both run once 12 is back.
  auto both_running = [] {
    Stream s;
    s.queue(1).begin(1, T12).wait_begin(T12).queue(3).begin(3, T13).wait_end(T12).queue(2).watch().later(5000);
    return s;
  };
  Stream s = both_running();
  s.end(3, T13).mayday(T12);
  EXPECT_EQ(c19(s, 1000).size(), 1u) << describe(c19(s, 1000));
  Stream ok = both_running();
  ok.end(3, T13).watch().later(1000).mayday(T12);  // the manager saw the progress: a new watch
  EXPECT_TRUE(c19(ok, 1000).empty()) << describe(c19(ok, 1000));
}

// Before the pool's first run ended, a mayday was judged against nothing
// (the watch's start was not in the stream: session 14's note). Now against
// the watch's own event: too soon, or with no watch at all, is C19.
TEST(Oracle_C19, DetectsTheWatchdogUncountingSoonerThanStallTimeoutAfterItsWatchBegan) {
  auto watched = [] {
    Stream s;
    s.queue(1).begin(1, T12).queue(2).watch();
    return s;
  };
  Stream soon = watched();
  soon.later(500).mayday(T12);
  EXPECT_EQ(c19(soon, 1000).size(), 1u) << describe(c19(soon, 1000));
  Stream on_time = watched();
  on_time.later(1000).mayday(T12);  // exactly stall_timeout after: allowed
  EXPECT_TRUE(c19(on_time, 1000).empty()) << describe(c19(on_time, 1000));
  Stream unwatched;
  unwatched.queue(1).begin(1, T12).queue(2).later(5000).mayday(T12);
  EXPECT_EQ(c19(unwatched, 1000).size(), 1u) << describe(c19(unwatched, 1000));
  // Another pool's watch is not this pool's (the unbound pool: cpu -1).
  Stream elsewhere;
  elsewhere.queue(1).begin(1, T12).queue(2).add(ET::stall_watch, X1, -1, 0, 0, 0).later(5000).mayday(T12);
  EXPECT_EQ(c19(elsewhere, 1000).size(), 1u) << describe(c19(elsewhere, 1000));
}

TEST(Oracle_C19, DetectsTheWatchdogWhenThereIsNone) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).watch().later(5000).mayday(T12);
  EXPECT_EQ(c19(s, 0).size(), 1u);
  EXPECT_TRUE(c19(s, -1).empty());  // stall_timeout not known: not judged
}

}  // namespace
