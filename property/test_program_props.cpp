// rapidcheck properties of the engine: generated operation programs, run on
// the simulator with a generated scheduler seed, judged by the reference
// model of the contract and by the oracle. On failure rapidcheck shrinks the
// program (operations, knobs and seed) and prints it in the text format with
// the `wqcheck run-program` command and RC_PARAMS="reproduce=...".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "property/program_gen.hpp"

using namespace lazywq;
using namespace lazywq::sim;
using namespace lazywq::prop;

// One caller: the model knows exactly when each work is idle, so it checks
// return values, run counts after flush / cancel / drain / destroy, errors.
RC_GTEST_PROP(Program, SingleCallerKeepsTheContract, ()) {
  program_property(1, 1, PlantedBug::none, "property-failure-single-caller");
}

// Two or three concurrent callers: the model checks what holds under any
// interleaving (works private to a caller exactly, the rest by bounds).
RC_GTEST_PROP(Program, ConcurrentCallersKeepTheContract, ()) {
  program_property(2, 3, PlantedBug::none, "property-failure-concurrent-callers");
}

// Shared programs alone: callbacks flush other works (an acyclic graph of
// engine waits, which must complete without the stall watchdog, C16).
RC_GTEST_PROP(Program, SharedProgramsKeepTheContract, ()) {
  program_property(1, 3, PlantedBug::none, "property-failure-shared", nullptr, WqKind::shared);
}

// Same program, same seed: the same run, bit for bit.
RC_GTEST_PROP(Program, ReplaysIdentically, ()) {
  const Program p = *gen_program(1, 3);
  ProgramOptions opt;
  opt.max_steps = kMaxSteps;
  ProgramOutcome a = run_program(p, opt);
  ProgramOutcome b = run_program(p, opt);
  RC_ASSERT(a.trace_hash == b.trace_hash);
  RC_ASSERT(a.log == b.log);
  RC_ASSERT(a.failed == b.failed);
}

// The text format: the writer's output parses back to the same program, and
// writing it again gives the same text.
RC_GTEST_PROP(ProgramText, WriteParseRoundTrips, ()) {
  const Program p = *gen_program(1, 4);
  const std::string text = write_program(p);
  const Program q = parse_program(text);
  RC_ASSERT(q == p);
  RC_ASSERT(write_program(q) == text);
}

// Comments, blank lines, any header order, header after operations.
TEST(ProgramText, ReadsCommentsAndAnyOrder) {
  Program p = parse_program(
      "# a comment\n\n  c0 queue_work_on 1 w0   # trailing comment\n"
      "works 2\nncpus 4\nkind per_cpu\nc0 sleep 30\ncallers 1\nseed 0x10\nstrategy pct:3:100\n"
      "c0 queue_delayed_work_on 3 w1 -5\n");
  EXPECT_EQ(p.kind, WqKind::per_cpu);
  EXPECT_EQ(p.ncpus, 4);
  EXPECT_EQ(p.works, 2);
  EXPECT_EQ(p.seed, 16u);
  EXPECT_EQ(p.strategy, "pct:3:100");
  ASSERT_EQ(p.ops.size(), 3u);
  EXPECT_EQ(p.ops[0].kind, OpKind::queue_work_on);
  EXPECT_EQ(p.ops[1].value, 30);
  EXPECT_EQ(p.ops[2].value, -5);
  EXPECT_EQ(parse_program(write_program(p)), p);
}

// Bad input: a clear message naming the line.
TEST(ProgramText, RejectsBadInputWithTheLine) {
  auto message = [](const std::string& text) {
    try {
      parse_program(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(message("kind lazy\nc0 queue_wrok_on 1 w0\n").rfind("line 2: unknown operation 'queue_wrok_on'", 0), 0u)
      << message("kind lazy\nc0 queue_wrok_on 1 w0\n");
  EXPECT_NE(message("works 2\nc0 flush_work w2\n").find("line 2: work w2 but the program has works 2"), std::string::npos);
  EXPECT_NE(message("c1 flush_workqueue\n").find("line 1: caller c1 but the program has callers 1"), std::string::npos);
  EXPECT_NE(message("c0 queue_work_on 1\n").find("line 1: 'queue_work_on' takes 2 argument(s)"), std::string::npos);
  EXPECT_NE(message("c0 queue_work_on x w0\n").find("line 1: CPU must be a whole number"), std::string::npos);
  EXPECT_NE(message("c0 flush_work 3\n").find("line 1: expected a work like w0"), std::string::npos);
  EXPECT_NE(message("kind eager\n").find("line 1: unknown kind 'eager'"), std::string::npos);
  EXPECT_NE(message("ncpus 0\n").find("line 1: ncpus must be a whole number in 1..64"), std::string::npos);
  EXPECT_NE(message("ncpus 2\nncpus 3\n").find("line 2: 'ncpus' given twice"), std::string::npos);
  EXPECT_NE(message("strategy pct:x\n").find("line 1: strategy 'pct:x'"), std::string::npos);
  EXPECT_NE(message("strategy bytes\n").find("line 1: strategy 'bytes' needs a byte buffer"), std::string::npos);
  EXPECT_NE(message("colour blue\n").find("line 1: unknown key 'colour'"), std::string::npos);
  EXPECT_NE(message("c0 sleep -3\n").find("line 1: sleep (us) must be"), std::string::npos);
  EXPECT_NE(message("kind lazy\nworks 3\nwaits w0>w1\n").find("line 3: waits needs kind shared"), std::string::npos);
  EXPECT_NE(message("kind shared\nworks 3\nwaits w1>w0\n").find("line 3: waits: w1>w0 must wait for a higher"),
            std::string::npos);
  EXPECT_NE(message("kind shared\nworks 2\nwaits w0>w2\n").find("line 3: waits: w2 but the program has works 2"),
            std::string::npos);
  EXPECT_NE(message("kind shared\nwaits w0>\n").find("line 2: waits: expected pairs like"), std::string::npos);
  EXPECT_EQ(message("waits w0>w1,w0>w2\nkind shared\nworks 3\n"), "(accepted)");
}

// Any single corrupted token is either still a valid program or rejected
// with an std::invalid_argument naming a line: never a crash or another
// exception.
RC_GTEST_PROP(ProgramText, CorruptedTextIsRejectedCleanly, ()) {
  const Program p = *gen_program(1, 3);
  std::string text = write_program(p);
  const size_t pos = *rc::gen::inRange<size_t>(0, text.size());
  const char junk = *rc::gen::element('x', '-', ' ', '9', '\n', 'w', 'c', '#');
  text[pos] = junk;
  try {
    Program q = parse_program(text);
    RC_ASSERT(parse_program(write_program(q)) == q);
  } catch (const std::invalid_argument& e) {
    RC_ASSERT(std::string(e.what()).rfind("line ", 0) == 0);
  }
}

// The reference model and the oracle on hand-written programs: a correct
// run passes, and the model's expectations are what the contract says.
TEST(ProgramModel, HandWrittenProgramsPass) {
  const char* text =
      "kind lazy\nncpus 3\nworks 2\ncallers 1\nidle_us 20\ncooldown_us 10\nbusy_us 5\nseed 7\nstrategy random\n"
      "c0 queue_work_on 1 w0\nc0 queue_work_on 1 w0\nc0 flush_work w0\nc0 flush_work w0\n"
      "c0 queue_work_on 5 w0\nc0 queue_delayed_work_on 2 w1 -1\nc0 cpu_offline 0\nc0 cpu_offline 2\n"
      "c0 cpu_offline 2\nc0 fail_spawns 2\nc0 queue_work_on 2 w1\nc0 queue_delayed_work_on 1 w0 5000\n"
      "c0 cancel_work_sync w0\nc0 cancel_work w0\nc0 sleep 50\nc0 mod_delayed_work 1 w0 10\nc0 drain_workqueue\n"
      "c0 destroy\nc0 queue_work_on 1 w0\nc0 flush_workqueue\nc0 destroy\nc0 cancel_work_sync w1\n";
  Program p = parse_program(text);
  ProgramOutcome out = run_program(p);
  EXPECT_FALSE(out.failed) << program_failure_report(p, {}, out);
  std::string log;
  for (auto& l : out.log) log += l.substr(l.find(' ') + 1) + "\n";
  EXPECT_NE(log.find("#2 flush_work w0 -> true"), std::string::npos) << log;
  EXPECT_NE(log.find("#3 flush_work w0 -> false"), std::string::npos) << log;
  EXPECT_NE(log.find("#4 queue_work_on 5 w0 -> Error(invalid_cpu)"), std::string::npos) << log;
  EXPECT_NE(log.find("#5 queue_delayed_work_on 2 w1 -1 -> Error(invalid_argument)"), std::string::npos) << log;
  EXPECT_NE(log.find("#6 cpu_offline 0 -> Error(cpu_state)"), std::string::npos) << log;
  EXPECT_NE(log.find("#7 cpu_offline 2 -> true"), std::string::npos) << log;
  EXPECT_NE(log.find("#8 cpu_offline 2 -> false"), std::string::npos) << log;
  EXPECT_NE(log.find("#12 cancel_work_sync w0 -> true"), std::string::npos) << log;
  EXPECT_NE(log.find("#13 cancel_work w0 -> false"), std::string::npos) << log;
  EXPECT_NE(log.find("#18 queue_work_on 1 w0 -> Error(queue_destroyed)"), std::string::npos) << log;
  EXPECT_NE(log.find("#19 flush_workqueue -> Error(queue_destroyed)"), std::string::npos) << log;
  EXPECT_NE(log.find("#20 destroy -> Error(queue_destroyed)"), std::string::npos) << log;
}

// Several callers racing on shared works, drains and two destroys.
TEST(ProgramModel, ConcurrentDestroysAndDrainsPass) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Program p = parse_program(
        "kind lazy\nncpus 3\nworks 3\ncallers 3\nidle_us 10\nbusy_us 5\n"
        "c0 queue_work_on 1 w0\nc1 queue_work_on 2 w0\nc2 mod_delayed_work 1 w0 5\nc0 drain_workqueue\n"
        "c1 cancel_work_sync w0\nc2 queue_work_on 2 w1\nc0 destroy\nc1 destroy\nc2 queue_work_on 1 w2\n"
        "c2 flush_workqueue\n");
    p.seed = seed;
    ProgramOutcome out = run_program(p);
    EXPECT_FALSE(out.failed) << program_failure_report(p, {}, out);
  }
}

// Found by Program.ConcurrentCallersKeepTheContract (shrunk from 87 runs): a
// destroy racing a cpu_offline of another caller returns while the worker
// the offline took out of the queue is still being joined by the offline:
// destroy_end precedes that worker's thread_exit (C14: destroy must stop and
// join every thread of the queue). Fixed: destroy waits for a retirement in progress.
//   wqcheck run-program FILE --max-steps 400000   (FILE: the program below)
TEST(RegressionProgram, DestroyRacingCpuOfflineJoinsEveryThread) {
  const char* text =
      "kind per_cpu\nncpus 2\nworks 1\ncallers 2\nidle_us 10\ncooldown_us 10\nbusy_us 5\nseed 21564207\n"
      "strategy preempt:4:200\nc1 destroy\nc0 cpu_offline 1\n";
  Program p = parse_program(text);
  ProgramOptions opt;
  opt.max_steps = kMaxSteps;
  ProgramOutcome out = run_program(p, opt);
  EXPECT_FALSE(out.failed) << program_failure_report(p, opt, out);
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    p.seed = seed;
    out = run_program(p, opt);
    ASSERT_FALSE(out.failed) << program_failure_report(p, opt, out);
  }
}

// Found by Program.ConcurrentCallersKeepTheContract (shrunk from 94 runs): a
// flush_workqueue that starts while another caller's destroy drains returns
// after destroy_end (the oracle: C14, nothing happens on a queue after
// destroy_end). The contract does not say whether such a flush may still
// finish or must fail with queue_destroyed (drain does the latter); engine
// or oracle needs a decision. Disabled meanwhile (kAvoidConcurrentDestroy).
TEST(RegressionProgram, FlushWorkqueueRacingDestroyEndsBeforeDestroyEnd) {
  const char* text =
      "kind single_thread\nncpus 2\nworks 1\ncallers 2\nidle_us 10\ncooldown_us 10\nbusy_us 20\nseed 0\n"
      "strategy pct:3:400\nc0 queue_delayed_work_on 0 w0 10\nc0 destroy\nc1 flush_workqueue\n";
  Program p = parse_program(text);
  ProgramOptions opt;
  opt.max_steps = kMaxSteps;
  ProgramOutcome out = run_program(p, opt);
  EXPECT_FALSE(out.failed) << program_failure_report(p, opt, out);
}

// Found by Program.ConcurrentCallersKeepTheContract (shrunk from 154 runs):
// c1's queue_work_on claims PENDING, finds the queue dead (destroy by c0)
// and releases PENDING without recording an event; c2's queue_work_on in
// between records queue_busy, which the oracle reports as C2 (PENDING set,
// nothing holding it). The engine's dead-queue path in queue_common records
// nothing (the draining path records queue_rejected). Disabled meanwhile
// (kAvoidConcurrentDestroy).
TEST(RegressionProgram, QueueOnDyingQueueRecordsItsClaim) {
  const char* text =
      "kind lazy\nncpus 2\nworks 1\ncallers 3\nidle_us 10\ncooldown_us 5\nbusy_us 5\nseed 1\nstrategy random\n"
      "c0 destroy\nc2 queue_work_on 0 w0\nc2 sleep 10\nc2 queue_work_on 0 w0\nc1 queue_work_on 0 w0\n"
      "c1 sleep 10\nc1 queue_work_on 0 w0\n";
  Program p = parse_program(text);
  ProgramOptions opt;
  opt.max_steps = kMaxSteps;
  ProgramOutcome out = run_program(p, opt);
  EXPECT_FALSE(out.failed) << program_failure_report(p, opt, out);
}
