// rapidcheck properties of the engine: generated operation programs, run on
// the simulator with a generated scheduler seed, judged by the reference
// model of the contract and by the oracle. On failure rapidcheck shrinks the
// program (operations, knobs and seed) and prints it in the text format with
// the `wqcheck run-program` command and RC_PARAMS="reproduce=...".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "property/program_gen.hpp"
#include "sim/knobs.hpp"

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
  // The knob keys (issue #13).
  EXPECT_NE(message("ncpus 2\ncore_cpu 2\n").find("line 2: core_cpu 2 but the program has ncpus 2"), std::string::npos);
  EXPECT_NE(message("dependency_check loud\n").find("line 1: dependency_check must be off, report or error"),
            std::string::npos);
  EXPECT_NE(message("idle_us -1\n").find("line 1: idle_us must be a whole number in 0..9223372036854775 or max"),
            std::string::npos);
  EXPECT_NE(message("stall_us 9223372036854776\n").find("line 1: stall_us must be"), std::string::npos);
  EXPECT_NE(message("max_workers_per_pool 0\n").find("line 1: max_workers_per_pool must be"), std::string::npos);
  EXPECT_NE(message("faults sometimes\n").find("line 1: faults must be none, always, next:N"), std::string::npos);
  EXPECT_NE(message("faults pct:101\n").find("line 1: faults must be"), std::string::npos);
  EXPECT_NE(message("faults nth:0\n").find("line 1: faults must be"), std::string::npos);
  EXPECT_NE(message("kind lazy\noptions highpri\n").find("line 2: options need kind shared"), std::string::npos);
  EXPECT_NE(message("max_active 2\nkind per_cpu\n").find("line 1: max_active needs kind shared"), std::string::npos);
  EXPECT_NE(message("kind shared\noptions fast\n").find("line 2: options: expected highpri, unbound, ordered"),
            std::string::npos);
  EXPECT_NE(message("kind shared\noptions ordered,ordered\n").find("line 2: options: 'ordered' given twice"),
            std::string::npos);
  EXPECT_NE(message("kind shared\noptions ordered\nmax_active 2\n").find("line 3: an ordered queue has max_active 1"),
            std::string::npos);
  EXPECT_NE(message("busy_sleep busy\n").find("line 1: busy_sleep must be plain or engine"), std::string::npos);
  EXPECT_NE(message("c0 fail_spawns_pct 101\n").find("line 1: fail_spawns_pct percent must be"), std::string::npos);
  EXPECT_NE(message("c0 fail_spawns_always 1\n").find("line 1: 'fail_spawns_always' takes 0 argument(s)"),
            std::string::npos);
  EXPECT_NE(message("c0 queue_delayed_work_on 1 w0 maximal\n").find("line 1: delay (us) must be"), std::string::npos);
  // Waits the contract does not promise to end.
  EXPECT_NE(message("kind shared\nworks 2\nwaits w0>w1\nmax_active 3\n").find("line 3: waits with max_active 3"),
            std::string::npos);
  EXPECT_EQ(message("kind shared\nworks 2\nwaits w0>w1\nmax_active 4\n"), "(accepted)");
  EXPECT_EQ(message("kind shared\nworks 2\nwaits w0>w1\nmax_active 1\n"), "(accepted)");
  EXPECT_NE(message("works 2\nc0 queue_delayed_work_on 1 w1 max\nc0 cancel_work w1\nc0 flush_work w1\n")
                .find("line 4: flush_work w1 waits for an armed queueing (C10), and operation #0 arms w1 with a delay "
                      "that may never fire"),
            std::string::npos);
  EXPECT_NE(message("kind shared\nworks 2\nwaits w0>w1\nc0 mod_delayed_work 1 w1 4611686018427387\n")
                .find("line 4: w1 is waited for by w0's callback (waits), and this operation arms it"),
            std::string::npos);
  EXPECT_EQ(message("works 2\nc0 queue_delayed_work_on 1 w1 4611686018427386\nc0 flush_work w1\n"), "(accepted)");
  EXPECT_EQ(message("works 2\nc0 queue_delayed_work_on 1 w1 max\nc0 flush_delayed_work w1\nc0 flush_work w0\n"),
            "(accepted)");
}

// Programs written before the knob keys existed mean what they meant: the
// engine's defaults, and write_program writes none of the new keys.
TEST(ProgramText, OlderProgramsKeepTheirMeaning) {
  const char* text =
      "kind per_cpu\nncpus 4\nworks 3\ncallers 1\nseed 0x10\nstrategy pct:3:2000\nc0 fail_spawns 2\n"
      "c0 queue_work_on 3 w2\nc0 queue_delayed_work_on 1 w1 40\nc0 cpu_offline 3\nc0 sleep 50\nc0 cpu_online 3\n"
      "c0 cancel_work w2\nc0 drain_workqueue\nc0 destroy\n";
  const Program p = parse_program(text);
  const Program d;
  EXPECT_EQ(p.core_cpu, 0);
  EXPECT_EQ(p.dependency_check, DependencyCheck::report);
  EXPECT_EQ(p.stall_us, 100'000);
  EXPECT_EQ(p.max_workers_per_pool, 64);
  EXPECT_EQ(p.faults, d.faults);
  EXPECT_FALSE(p.highpri || p.unbound || p.ordered || p.busy_in_engine);
  EXPECT_EQ(p.max_active, 0);
  // The engine's defaults are the program's defaults.
  const EngineConfig cfg;
  EXPECT_EQ(us_duration(p.stall_us), cfg.stall_timeout);
  EXPECT_EQ(p.max_workers_per_pool, cfg.max_workers_per_pool);
  EXPECT_EQ(p.dependency_check, cfg.dependency_check);
  EXPECT_EQ(p.core_cpu, cfg.core_cpu);
  const std::string written = write_program(p);
  for (const char* key : {"core_cpu", "dependency_check", "stall_us", "max_workers_per_pool", "faults", "options",
                          "max_active", "busy_sleep"})
    EXPECT_EQ(written.find(std::string("\n") + key + " "), std::string::npos) << key << " in\n" << written;
  EXPECT_EQ(parse_program(written), p);
}

// Every knob key and the operations added with them, read and written.
TEST(ProgramText, ReadsAndWritesTheKnobKeys) {
  const char* text =
      "kind shared\nncpus 4\ncore_cpu 3\nworks 4\ncallers 2\nidle_us max\ncooldown_us 9223372036854775\n"
      "busy_us 7\nbusy_sleep engine\nseed 5\nstrategy random\ndependency_check error\nstall_us 0\n"
      "max_workers_per_pool 1\nfaults nth:4\noptions unbound,highpri\nmax_active 8\nwaits w0>w1\n"
      "c0 queue_delayed_work_on 1 w2 max\nc1 mod_delayed_work 2 w3 9223372036854000\nc0 flush_delayed_work w2\n"
      "c1 fail_spawns_nth 3\nc1 fail_spawns_pct 40\nc0 fail_spawns_always\nc0 fail_spawns 0\n";
  const Program p = parse_program(text);
  EXPECT_EQ(p.core_cpu, 3);
  EXPECT_EQ(p.idle_us, kUsMax);
  EXPECT_EQ(us_duration(p.idle_us), Duration::max());
  EXPECT_EQ(p.cooldown_us, kUsLargest);
  EXPECT_EQ(us_duration(p.cooldown_us).count(), 9223372036854775000);
  EXPECT_TRUE(p.busy_in_engine);
  EXPECT_EQ(p.dependency_check, DependencyCheck::error);
  EXPECT_EQ(p.stall_us, 0);
  EXPECT_EQ(p.max_workers_per_pool, 1);
  EXPECT_EQ(p.faults.kind, FaultSpec::Kind::nth);
  EXPECT_EQ(p.faults.n, 4);
  EXPECT_TRUE(p.highpri && p.unbound && !p.ordered);
  EXPECT_EQ(p.max_active, 8);
  ASSERT_EQ(p.ops.size(), 7u);
  EXPECT_EQ(p.ops[0].value, kUsMax);
  EXPECT_EQ(p.ops[2].kind, OpKind::flush_delayed_work);
  EXPECT_EQ(p.ops[4].kind, OpKind::fail_spawns_pct);
  EXPECT_EQ(p.ops[4].value, 40);
  EXPECT_EQ(p.ops[5].kind, OpKind::fail_spawns_always);
  const std::string written = write_program(p);
  EXPECT_NE(written.find("idle_us max\n"), std::string::npos) << written;
  EXPECT_NE(written.find("options highpri,unbound\n"), std::string::npos) << written;
  EXPECT_NE(written.find("c0 queue_delayed_work_on 1 w2 max\n"), std::string::npos) << written;
  EXPECT_EQ(parse_program(written), p);
  EXPECT_NO_THROW(validate_program(p));
  const SpawnFaults f = spawn_faults_of(parse_fault_spec("pct:40"), 9);
  EXPECT_EQ(f.fail_probability, 0.4);
  EXPECT_EQ(f.seed, 9u);
  EXPECT_TRUE(spawn_faults_of(parse_fault_spec("always"), 0).fail_always);
  EXPECT_EQ(spawn_faults_of(parse_fault_spec("next:3"), 0).fail_next, 3u);
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

// The knobs of issue #13 on hand-written programs, over many schedules:
// each passes the model and the oracle, and the model's expectations are
// what the contract says.
TEST(ProgramModel, KnobProgramsPass) {
  struct Case {
    const char* name;
    const char* text;
    std::vector<std::string> lines;      // in the log of every seed (what the contract says)
    std::vector<std::string> sometimes;  // in the log of some seed (what the case is for)
  };
  const std::vector<Case> cases = {
      {"huge durations",
       "kind lazy\nncpus 3\nworks 4\nidle_us max\ncooldown_us 0\nbusy_us 5\n"
       "c0 queue_delayed_work_on 1 w0 max\nc0 queue_delayed_work_on 2 w1 9223372036854775\n"
       "c0 queue_delayed_work_on 1 w2 9223372036854000\nc0 cancel_work w1\nc0 queue_work_on 1 w0\n"
       "c0 flush_delayed_work w0\nc0 flush_delayed_work w0\nc0 mod_delayed_work 2 w2 max\n"
       "c0 cancel_delayed_work_sync w2\nc0 queue_delayed_work_on 2 w3 3600000000\nc0 flush_work w3\n"
       "c0 queue_delayed_work_on 1 w0 max\nc0 flush_workqueue\nc0 queue_delayed_work_on 2 w1 1\nc0 drain_workqueue\n",
       {"#0 queue_delayed_work_on 1 w0 max -> true", "#3 cancel_work w1 -> true", "#4 queue_work_on 1 w0 -> false",
        "#6 flush_delayed_work w0 -> false", "#7 mod_delayed_work 2 w2 max -> true",
        "#8 cancel_delayed_work_sync w2 -> true", "#10 flush_work w3 -> true", "#11 queue_delayed_work_on 1 w0 max -> true"},
       {"#5 flush_delayed_work w0 -> true"}},
      {"core cpu, cap, faults before and after the queue",
       "kind per_cpu\nncpus 4\ncore_cpu 2\nworks 3\nidle_us 0\ncooldown_us max\nbusy_us 5\nfaults nth:3\n"
       "max_workers_per_pool 1\ndependency_check off\nc0 queue_work_on 0 w0\nc0 queue_work_on 3 w1\n"
       "c0 cpu_offline 2\nc0 cpu_offline 0\nc0 queue_work_on 0 w2\nc0 fail_spawns_always\nc0 cpu_online 0\n"
       "c0 queue_work_on 0 w2\nc0 flush_work w2\nc0 fail_spawns_nth 1\nc0 cpu_offline 3\nc0 cpu_online 3\n"
       "c0 queue_work_on 3 w1\nc0 fail_spawns_pct 100\nc0 queue_work_on 1 w0\nc0 flush_workqueue\n",
       {"#2 cpu_offline 2 -> Error(cpu_state)", "#3 cpu_offline 0 -> true", "#6 cpu_online 0 -> true",
        "#10 cpu_offline 3 -> true", "#11 cpu_online 3 -> true"},
       {"#8 flush_work w2 -> true", "#15 flush_workqueue -> true"}},
      {"shared options, small max_active, permanent failure after the queue",
       "kind shared\nncpus 3\nworks 4\ncallers 2\nbusy_us 20\ndependency_check error\noptions highpri\n"
       "max_active 2\nstall_us 0\nc0 queue_work_on 1 w0\nc0 queue_work_on 1 w1\nc0 queue_work_on 1 w2\n"
       "c0 queue_work_on 2 w3\nc1 fail_spawns_always\nc0 flush_work w2\nc1 flush_workqueue\nc1 fail_spawns_pct 50\n"
       "c0 cpu_offline 1\nc0 queue_work_on 1 w0\nc0 cpu_online 1\nc0 flush_work w0\n",
       {"#8 cpu_offline 1 -> true", "#10 cpu_online 1 -> true"},
       {"#5 flush_work w2 -> true", "#11 flush_work w0 -> true"}},
      {"an ordered shared queue whose works wait for each other: Error(deadlock), never a hang",
       "kind shared\nncpus 2\nworks 3\nbusy_us 5\ndependency_check error\noptions ordered\nwaits w0>w1,w0>w2,w1>w2\n"
       "c0 queue_work_on 1 w0\nc0 queue_work_on 1 w1\nc0 queue_work_on 0 w2\nc0 flush_workqueue\n"
       "c0 queue_work_on 1 w1\nc0 queue_work_on 1 w2\nc0 flush_work w1\nc0 queue_work_on 0 w0\nc0 flush_work w0\n",
       {},
       {"w0 (callback) flush_work w1 -> Error(deadlock)", "w1 (callback) flush_work w2 -> Error(deadlock)",
        "#8 flush_work w0 -> true"}},
      {"waits with max_active 1, the watchdog small, busy time in Engine::sleep_for, a pool cap of 1",
       "kind shared\nncpus 2\nworks 3\ncallers 2\nbusy_us 30\nbusy_sleep engine\nmax_active 1\nstall_us 60\n"
       "max_workers_per_pool 1\nwaits w0>w2\nc0 queue_work_on 1 w0\nc1 queue_work_on 0 w2\nc0 queue_work_on 1 w1\n"
       "c1 fail_spawns_always\nc0 flush_work w0\nc1 flush_workqueue\nc0 queue_work_on 0 w0\nc0 flush_work w0\n",
       {},
       {"w0 (callback) flush_work w2 -> Error(deadlock)", "#4 flush_work w0 -> true", "#7 flush_work w0 -> true"}},
      {"the queue cannot be created: Error(spawn_failed), nothing else runs",
       "kind lazy\nfaults always\nc0 queue_work_on 1 w0\nc0 flush_work w0\n",
       {"create_workqueue lazy -> Error(spawn_failed) (nothing else runs)"},
       {}},
      {"the shared pools' rescuer cannot be created",
       "kind shared\nfaults nth:2\nc0 queue_work_on 1 w0\n",
       {"create_workqueue shared -> Error(spawn_failed) (nothing else runs)"},
       {}},
      {"a worker creation fails before the queue exists: the rescuer runs it",
       "kind shared\nncpus 2\nfaults nth:3\nbusy_sleep engine\nbusy_us 30\nc0 queue_work_on 1 w0\n"
       "c0 queue_work_on 1 w1\nc0 flush_work w0\nc0 flush_work w1\n",
       {},
       {"#2 flush_work w0 -> true", "#3 flush_work w1 -> true"}},
  };
  for (const Case& c : cases) {
    Program p = parse_program(c.text);
    std::vector<bool> seen(c.sometimes.size(), false);
    for (uint64_t seed = 1; seed <= 30; ++seed) {
      p.seed = seed;
      ProgramOptions opt;
      opt.max_steps = kMaxSteps;
      ProgramOutcome out = run_program(p, opt);
      ASSERT_FALSE(out.failed) << c.name << ", seed " << seed << "\n" << program_failure_report(p, opt, out);
      std::string log;
      for (auto& l : out.log) log += l.substr(l.find(' ') + 1) + "\n";
      for (const std::string& want : c.lines)
        ASSERT_NE(log.find(want), std::string::npos) << c.name << ", seed " << seed << ": no '" << want << "' in\n"
                                                     << log;
      for (size_t i = 0; i < c.sometimes.size(); ++i) seen[i] = seen[i] || log.find(c.sometimes[i]) != std::string::npos;
    }
    for (size_t i = 0; i < c.sometimes.size(); ++i)
      EXPECT_TRUE(seen[i]) << c.name << ": '" << c.sometimes[i] << "' in no run of 30 seeds";
  }
}

// Every knob a user can set (sim/knobs.cpp's table, docs/KNOBS.md) is drawn
// by the program generator in every class of its values within a few
// hundred programs, as the scenarios draw them within 300 seeds each
// (Coverage.EveryKnobIsDrawnInEveryClass): the properties reach the same
// space (issue #13). A class no program draws fails here.
TEST(ProgramKnobs, GeneratorDrawsEveryKnobInEveryClass) {
  std::set<std::string> drawn;
  auto sample = [&](const rc::Gen<Program>& gen, uint64_t seed, int n) {
    rc::Random random(seed);
    for (int i = 0; i < n; ++i) {
      const Program p = gen(random.split(), 100).value();
      ProgramOptions opt;
      opt.max_steps = kMaxSteps;
      const ProgramOutcome out = run_program(p, opt);
      EXPECT_FALSE(out.failed) << program_failure_report(p, opt, out);
      drawn.insert(out.knobs.begin(), out.knobs.end());
    }
  };
  sample(gen_program(1, 3), 13, 300);
  sample(gen_program(1, 3, WqKind::shared), 1313, 200);
  const auto never = knobs_never_drawn(drawn);
  std::string list;
  for (const auto& k : never) list += "\n  " + k;
  EXPECT_TRUE(never.empty()) << "drawn by no generated program:" << list;
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
