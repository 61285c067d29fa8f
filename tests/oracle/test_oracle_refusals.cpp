// Tests of C16's judge of refusals in the contract oracle (sim/oracle.cpp,
// on_wait_refused), and of C7's judge of what the rescuer runs nested in
// a wait (judge_nested_rescue): every wait the engine refuses with Error(deadlock) is
// recorded (wait_refused) and judged against what the stream shows then.
// For each reason, one stream a correct engine can produce and one where
// the refusal was false: a wait that could have returned, turned into an
// error for a legitimate program.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"
#include "tests/oracle/pool_stream.hpp"

namespace {

using lazywq::RefusalReason;
using lazywq::check::check_events;
using lazywq::check::OracleOptions;
using lazywq::check::Violation;
using lazywq::tests::kRescuer;
using lazywq::tests::Stream;
using lazywq::tests::T12;
using lazywq::tests::X1;
using ET = lazywq::EventType;

std::vector<Violation> only(const Stream& s, const std::string& rule) {
  OracleOptions o;
  o.ncpus = 4;
  o.quiescent_end = false;  // the streams stop mid-run
  std::vector<Violation> out;
  for (Violation& v : check_events(s.ev, o))
    if (v.rule == rule) out.push_back(v);
  return out;
}
std::vector<Violation> c16(const Stream& s) { return only(s, "C16"); }

std::string describe(const std::vector<Violation>& vs) {
  std::ostringstream os;
  for (const Violation& v : vs) os << v.rule << ": " << v.message << "\n";
  return os.str();
}

Stream& refused(Stream& s, uint32_t by, uint64_t work, RefusalReason why, uint32_t queue = 0, uint64_t upto = 0) {
  s.add(ET::wait_refused, by, 1, queue, work, static_cast<int>(why));
  s.ev.back().upto = upto;
  return s;
}
// The rescuer starts work w (creation failed first, so it may).
Stream& rescue(Stream& s, uint64_t w) {
  return s.add(ET::fallback, kRescuer, 1, 1, w, 0).add(ET::exec_begin, kRescuer, 1, 1, w, 1);
}
// Pool thread 12 runs work 1, which flushes work 2 and waits (wait_begin:
// the engine has read what the flush waits for).
Stream pool_thread_flushes_2() {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2).begin(1, T12);
  s.add(ET::flush_begin, T12, 1, 0, 2, 0).wait_begin(T12, 2);
  return s;
}

// The rescuer runs work 2; inside, cancel_work_sync(1): work 1 runs on
// thread 12, which waits for work 2, on the rescuer's own stack.
TEST(Oracle_C16_refusals, ARescuerChainEndingOnItsOwnStackIsAccepted) {
  Stream s = pool_thread_flushes_2();
  rescue(s, 2).add(ET::cancel_begin, kRescuer, 1, 0, 1, 1).add(ET::dependency_cycle, kRescuer, 1, 1, 2, 3);
  refused(s, kRescuer, 1, RefusalReason::rescuer_chain);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
}

// The same refusal after thread 12's flush returned: nothing waits for the
// rescuer, the cancel could have waited for work 1's run to end.
TEST(Oracle_C16_refusals, DetectsARescuerRefusalWhoseChainEndsElsewhere) {
  Stream s = pool_thread_flushes_2();
  s.end(2, T12).add(ET::flush_end, T12, 1, 0, 2, 1);  // (a run elsewhere ended: taken as the flushed one)
  s.queue(2);
  rescue(s, 2).add(ET::cancel_begin, kRescuer, 1, 0, 1, 1);
  refused(s, kRescuer, 1, RefusalReason::rescuer_chain);
  const auto vs = c16(s);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("waiting for no work"), std::string::npos) << vs[0].message;
}

// wait_chain_locked@f346dc (mutation testing): thread 12's flush of work 2
// is satisfied (the queueing it read ran and ended) but the thread has not
// run since; work 2, queued again, runs on the rescuer. Following that
// flush makes a false cycle.
TEST(Oracle_C16_refusals, DetectsARescuerRefusalThroughASatisfiedFlush) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2).begin(1, T12);
  s.add(ET::flush_begin, T12, 1, 0, 2, 0).wait_begin(T12, 2);
  rescue(s, 2).add(ET::exec_end, kRescuer, 1, 1, 2, 1);  // the queueing thread 12 waits for: done
  s.queue(2);
  rescue(s, 2).add(ET::cancel_begin, kRescuer, 1, 0, 1, 1);
  refused(s, kRescuer, 1, RefusalReason::rescuer_chain);
  const auto vs = c16(s);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("satisfied"), std::string::npos) << vs[0].message;
}

// A cancel_work_sync of work 3 by the rescuer, nested in a callback of its
// own that is cancelling work 3: the turn may be its own.
TEST(Oracle_C16_refusals, ARescuerWaitingForItsOwnCancelTurnIsAccepted) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2);
  rescue(s, 1).add(ET::cancel_begin, kRescuer, 1, 0, 3, 1);
  rescue(s, 2).add(ET::cancel_begin, kRescuer, 1, 0, 3, 1);
  refused(s, kRescuer, 3, RefusalReason::rescuer_chain);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
}

TEST(Oracle_C16_refusals, OnlyTheRescuerRefusesForItsChain) {
  Stream s = pool_thread_flushes_2();
  refused(s, T12, 2, RefusalReason::rescuer_chain);
  EXPECT_EQ(c16(s).size(), 1u);
}

// Its own run: work 1 runs on the rescuer (an outer frame), and a callback
// nested in it flushes work 1.
TEST(Oracle_C16_refusals, AWaitForARunOnTheCallersStackIsAccepted) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2);
  rescue(s, 1).add(ET::flush_begin, kRescuer, 1, 0, 2, 0);
  rescue(s, 2).add(ET::flush_begin, kRescuer, 1, 0, 1, 0);
  refused(s, kRescuer, 1, RefusalReason::own_run);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
}

TEST(Oracle_C16_refusals, DetectsAnOwnRunRefusalOfARunElsewhere) {
  Stream s;
  s.queue(1).queue(2).begin(1, T12).begin(2, lazywq::tests::T13);
  refused(s, T12, 2, RefusalReason::own_run);
  const auto vs = c16(s);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("runs on thread w13"), std::string::npos) << vs[0].message;
}

// Nothing is held outside a callback: a client's wait is never refused.
TEST(Oracle_C16_refusals, DetectsARefusalOutsideAnyCallback) {
  Stream s;
  s.queue(1);
  refused(s, X1, 1, RefusalReason::cycle);
  EXPECT_EQ(c16(s).size(), 1u);
  Stream idle;
  idle.queue(1).begin(1, T12).end(1, T12);
  refused(idle, T12, 1, RefusalReason::own_run);
  EXPECT_EQ(c16(idle).size(), 1u) << "a pool thread between runs holds nothing either";
}

TEST(Oracle_C16_refusals, OwnQueueMeansTheCallbacksQueue) {
  Stream s;
  s.queue(1).begin(1, T12);
  refused(s, T12, 0, RefusalReason::own_queue, 1);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
  refused(s, T12, 0, RefusalReason::own_queue, 2);
  EXPECT_EQ(c16(s).size(), 1u) << "a flush of queue 2 from a work of queue 1";
}

TEST(Oracle_C16_refusals, BehindTheCallerNeedsAQueueingInTheCallersQueue) {
  Stream s;
  s.queue(1).begin(1, T12).queue(2).add(ET::flush_begin, T12, 1, 0, 2, 0);
  refused(s, T12, 2, RefusalReason::behind_caller, 1, /*upto=*/1);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
  Stream none;
  none.queue(1).begin(1, T12).add(ET::flush_begin, T12, 1, 0, 2, 0);
  refused(none, T12, 2, RefusalReason::behind_caller, 1);
  EXPECT_EQ(c16(none).size(), 1u) << "work 2 is not pending anywhere";
}

// ... and one the flush counts (upto: the count it read after its
// flush_begin). A queueing accepted after flush_begin may be counted or
// not; one it did not count is not waited for (C10): refusing for it is a
// false deadlock (mutant drop_conjunct flush_work_as@b19fb1).
TEST(Oracle_C16_refusals, BehindTheCallerNeedsAQueueingTheFlushCounts) {
  auto stream = [](bool queued_before_flush, uint64_t upto) {
    Stream s;
    s.queue(1).begin(1, T12);
    if (queued_before_flush) s.queue(2);
    s.add(ET::flush_begin, T12, 1, 0, 2, 0);
    if (!queued_before_flush) s.queue(2);
    return refused(s, T12, 2, RefusalReason::behind_caller, 1, upto);
  };
  EXPECT_TRUE(c16(stream(false, 1)).empty()) << "counted before the flush read, accepted after its flush_begin";
  const std::vector<Violation> later = c16(stream(false, 0));
  ASSERT_EQ(later.size(), 1u) << describe(later);
  EXPECT_NE(later[0].message.find("came after the flush read its count"), std::string::npos) << later[0].message;
  const std::vector<Violation> impossible = c16(stream(true, 0));
  ASSERT_EQ(impossible.size(), 1u) << "accepted before flush_begin, so counted";
  EXPECT_NE(impossible[0].message.find("not one it could have read"), std::string::npos) << impossible[0].message;
  EXPECT_EQ(c16(stream(true, 2)).size(), 1u) << "more than were ever accepted";
}

// The rescuer's flush of a queue (work 0, queue q): refused only while a
// run of that queue is on its stack, or waits for one there.
TEST(Oracle_C16_refusals, ARescuerQueueFlushCountingItsOwnRunIsRefused) {
  Stream s;
  s.add(ET::create, X1, -1, 2, 0, static_cast<int>(lazywq::WqKind::shared) | (0x7fff << 16));
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).add(ET::queue, X1, -1, 2, 2, 1);
  rescue(s, 1).add(ET::flush_begin, kRescuer, 1, 0, 2, 0);
  s.add(ET::fallback, kRescuer, 1, 2, 2, 0).add(ET::exec_begin, kRescuer, 1, 2, 2, 1);
  s.add(ET::flush_begin, kRescuer, 1, 1, 0, 1);  // work 2 flushes queue 1, which counts work 1's run
  refused(s, kRescuer, 0, RefusalReason::rescuer_chain, 1);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
  // Its open flush went with the refusal: a later queueing is no
  // queueing "during a drain".
  EXPECT_TRUE(only(s, "C11").empty()) << describe(only(s, "C11"));
}

TEST(Oracle_C16_refusals, DetectsARescuerQueueFlushRefusedWithNoRunOfItsOwn) {
  Stream s;
  s.add(ET::create, X1, -1, 2, 0, static_cast<int>(lazywq::WqKind::shared) | (0x7fff << 16));
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.add(ET::queue, X1, -1, 2, 2, 1);
  s.add(ET::fallback, kRescuer, 1, 2, 2, 0).add(ET::exec_begin, kRescuer, 1, 2, 2, 1);
  s.add(ET::flush_begin, kRescuer, 1, 1, 0, 1);
  refused(s, kRescuer, 0, RefusalReason::rescuer_chain, 1);
  const auto vs = c16(s);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("none is in progress"), std::string::npos) << vs[0].message;
}

// The rescuer runs work 2 (queue 2), which flushes queue 1; work 1 of
// queue 1 runs on pool thread 12 and waits for work 2 (flush_work): the
// flush can never end if it counts work 1's run, that is, if work 1 was
// queued before the flush began (C10: a later queueing is not waited for).
Stream rescuer_flushes_queue_1(bool queued_before_flush) {
  Stream s;
  s.add(ET::create, X1, -1, 2, 0, static_cast<int>(lazywq::WqKind::shared) | (0x7fff << 16));
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.add(ET::queue, X1, -1, 2, 2, 1);
  if (queued_before_flush) s.queue(1);
  s.add(ET::fallback, kRescuer, 1, 2, 2, 0).add(ET::exec_begin, kRescuer, 1, 2, 2, 1);
  s.add(ET::flush_begin, kRescuer, 1, 1, 0, static_cast<int>(lazywq::FlushKind::workqueue));
  if (!queued_before_flush) s.queue(1);
  s.begin(1, T12).add(ET::flush_begin, T12, 1, 0, 2, 0).wait_begin(T12, 2);
  return refused(s, kRescuer, 0, RefusalReason::rescuer_chain, 1);
}

TEST(Oracle_C16_refusals, ARescuerQueueFlushWhoseRunWaitsForItsStackIsRefused) {
  const Stream s = rescuer_flushes_queue_1(/*queued_before_flush=*/true);
  EXPECT_TRUE(c16(s).empty()) << describe(c16(s));
}

// The same with work 1 queued after the flush began: the flush does not
// wait for that run, so it could have returned (the engine's
// follow_awaited_queues_locked@398752: the scan of runs without its
// epoch bound).
TEST(Oracle_C16_refusals, DetectsARescuerQueueFlushRefusedForARunQueuedAfterIt) {
  const Stream s = rescuer_flushes_queue_1(/*queued_before_flush=*/false);
  const auto vs = c16(s);
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("after the flush began"), std::string::npos) << vs[0].message;
}

// C7: the rescuer runs nested only what its wait waits for. Work 1,
// rescued, flushes work 2: the rescuer may run 2 nested, not 3.
TEST(Oracle_C7_nested_rescue, TheAwaitedWorkIsRunNested) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2).queue(3);
  rescue(s, 1).add(ET::flush_begin, kRescuer, 1, 0, 2, 0);
  rescue(s, 2);
  EXPECT_TRUE(only(s, "C7").empty()) << describe(only(s, "C7"));
}

// rescuer_wait@bc2ce3 (mutation testing) ran works its wait did not wait
// for; one that waits for a run on the rescuer's stack is then refused (or
// hangs) for nothing.
TEST(Oracle_C7_nested_rescue, DetectsAWorkRunNestedForNothing) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2).queue(3);
  rescue(s, 1).add(ET::flush_begin, kRescuer, 1, 0, 2, 0);
  rescue(s, 3);
  const auto vs = only(s, "C7");
  ASSERT_EQ(vs.size(), 1u) << describe(vs);
  EXPECT_NE(vs[0].message.find("does not wait for work 3"), std::string::npos) << vs[0].message;
}

// Through a chain: work 1 on thread 12 flushes work 4; the rescuer's wait
// for work 1 may run work 4 nested.
TEST(Oracle_C7_nested_rescue, AWorkAChainRunnerWaitsForIsRunNested) {
  Stream s;
  s.add(ET::spawn_fail, 10, 1, 0, 0, 0);
  s.queue(1).queue(2).queue(4).begin(1, T12).add(ET::flush_begin, T12, 1, 0, 4, 0).wait_begin(T12, 4);
  rescue(s, 2).add(ET::cancel_begin, kRescuer, 1, 0, 1, 1);
  rescue(s, 4);
  EXPECT_TRUE(only(s, "C7").empty()) << describe(only(s, "C7"));
}

}  // namespace
