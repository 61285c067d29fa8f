// Schedules as explicit decisions and the shrinker (issue #16): a recorded
// run replays bit for bit from its decisions, a schedule with none never
// preempts, the text form round-trips and refuses bad input, and each
// planted bug's failure shrinks to a schedule that breaks the same rule
// and replays bit for bit (in the planted build).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/counterexample.hpp"
#include "sim/explorer.hpp"
#include "sim/isolate.hpp"
#include "sim/runner.hpp"
#include "sim/schedule.hpp"
#include "sim/shrink.hpp"

using namespace lazywq;
using namespace lazywq::sim;

TEST(Schedule, TextRoundTripsAndRefusesBadInput) {
  const Schedule s = {{3, 17, 5}, {0, 40, 2}, {12, 0, 1}};
  EXPECT_EQ(schedule_to_text(s), "3@17>5 0@40>2 12@0>1");
  EXPECT_EQ(schedule_from_text(schedule_to_text(s)), s);
  EXPECT_EQ(schedule_from_text(" 3@17>5,0@40>2\n12@0>1 "), s);
  EXPECT_TRUE(schedule_from_text("").empty());
  for (const char* bad : {"3@17", "3>5", "@17>5", "3@>5", "3@17>", "a@1>2", "3@1>2>4", "-1@2>3", "99999999999@1>2"})
    EXPECT_THROW((void)schedule_from_text(bad), std::invalid_argument) << bad;
}

TEST(Schedule, NormalizedKeepsTheLastDecisionPerPoint) {
  const Schedule s = {{1, 4, 2}, {1, 4, 3}, {2, 9, 2}, {0, 1, 1}};
  EXPECT_EQ(normalized(s), (Schedule{{1, 4, 3}, {2, 9, 2}, {0, 1, 1}}));
}

TEST(Schedule, DefaultPickKeepsTheCurrentThreadAndHandsOverInIdOrder) {
  EXPECT_EQ(default_pick({0, 2, 5}, 2, true, false), 2u);   // goes on
  EXPECT_EQ(default_pick({0, 2, 5}, 2, true, true), 5u);    // yields to the next id
  EXPECT_EQ(default_pick({0, 2, 5}, 5, true, true), 0u);    // ... wrapping around
  EXPECT_EQ(default_pick({0, 2, 5}, 7, false, false), 0u);  // blocked: the lowest id
}

// Every run, recorded as decisions, replays bit for bit from them alone.
TEST(Schedule, ARecordedRunReplaysBitForBitFromItsDecisions) {
  int checked = 0;
  for (const auto& sc : all_scenarios()) {
    for (const char* strategy : {"random", "pct:3"}) {
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        RunOptions r;
        r.scenario = sc.name;
        r.seed = seed;
        r.strategy = strategy;
        r.record_schedule = true;
        const Outcome a = run_scenario(r);
        EXPECT_EQ(a.run.schedule.size(), a.run.decisions);
        RunOptions again = as_schedule_run(r, a);
        again.record_schedule = true;
        const Outcome b = run_scenario(again);
        EXPECT_EQ(a.trace_hash, b.trace_hash) << replay_command(r);
        EXPECT_EQ(b.run.schedule, a.run.schedule) << replay_command(r);
        EXPECT_EQ(b.run.preemptions, a.run.preemptions);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100);
}

// No decision: the current thread runs until it blocks, yields or ends.
TEST(Schedule, AScheduleWithNoDecisionNeverPreempts) {
  for (const auto& sc : all_scenarios()) {
    RunOptions r;
    r.scenario = sc.name;
    r.seed = 5;
    r.strategy = "schedule";
    const Outcome o = run_scenario(r);
    EXPECT_EQ(o.run.preemptions, 0u) << sc.name;
    EXPECT_EQ(o.run.decisions, 0u) << sc.name;
    EXPECT_GT(o.run.choice_points, 0u) << sc.name;
  }
}

TEST(Shrink, ARunThatBreaksNoRuleIsRefused) {
  RunOptions r;
  r.scenario = "idle_exit";
  r.seed = 1;
  EXPECT_THROW((void)shrink_schedule(r, {}), std::invalid_argument);
}

namespace {
size_t count_type(const Outcome& o, EventType t) {
  return static_cast<size_t>(std::count_if(o.events.begin(), o.events.end(), [t](const Event& e) { return e.type == t; }));
}
}  // namespace

// The shrinker's workload reductions keep the rest of the seed's run:
// a skipped operation (param skip) still makes its draws, so the others
// do what they did; a site that is not there changes nothing at all.
// (One client: clients draw from one stream, so with two a change of
// timing also changes which client draws what. The shrinker judges each
// candidate by its run; this checks the draws themselves.)
TEST(Shrink, ASkippedOperationKeepsTheSeedsOtherDraws) {
  for (const char* scenario : {"idle_exit", "shared_deps", "mixed", "creation_failure", "flush_cancel_storm"}) {
    SCOPED_TRACE(scenario);
    RunOptions r;
    r.scenario = scenario;
    r.seed = 11;
    r.params.add("clients=1");
    r.strategy = "schedule";  // the default pick everywhere: the same threads, in the same order
    const Outcome whole = run_scenario(r);
    ASSERT_FALSE(whole.failed) << whole.headline;
    ASSERT_GE(whole.op_sites.size(), 2u);
    RunOptions none = r;
    none.params.add("skip=c9.99");
    EXPECT_EQ(run_scenario(none).trace_hash, whole.trace_hash);
    // The first operation left out: one site fewer, the same draws.
    RunOptions skip = r;
    skip.params.add("skip=" + whole.op_sites.front());
    const Outcome less = run_scenario(skip);
    EXPECT_EQ(less.config_lines, whole.config_lines);
    // creation_failure's works requeue themselves on draws from the
    // clients' stream: a queueing left out moves the draws after it.
    if (std::string(scenario) != "creation_failure") {
      EXPECT_EQ(less.op_sites.size() + 1, whole.op_sites.size());
    }
    EXPECT_EQ(std::count(less.op_sites.begin(), less.op_sites.end(), whole.op_sites.front()), 0);
    EXPECT_NE(less.trace_hash, whole.trace_hash);
  }
  // In idle_exit every operation is a queueing: one fewer.
  RunOptions r;
  r.scenario = "idle_exit";
  r.seed = 11;
  r.params.add("clients=1");
  r.strategy = "schedule";
  const Outcome whole = run_scenario(r);
  r.params.add("skip=" + whole.op_sites.back());
  EXPECT_EQ(count_type(run_scenario(r), EventType::queue) + 1, count_type(whole, EventType::queue));
}

// `cap.KEY=P` on a probability: drawn as before, then at most P; the
// other draws stay (Rng::chance draws whatever p is).
TEST(Shrink, AProbabilityCapKeepsTheOtherDraws) {
  RunOptions r;
  r.scenario = "shared_deps";
  r.strategy = "schedule";
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    r.seed = seed;
    r.params = Params{};
    const Outcome whole = run_scenario(r);
    if (std::find(whole.config_lines.begin(), whole.config_lines.end(), "requeue_p=0.300") == whole.config_lines.end())
      continue;
    r.params.add("cap.requeue_p=0");
    const Outcome capped = run_scenario(r);
    std::vector<std::string> expected = whole.config_lines;
    std::replace(expected.begin(), expected.end(), std::string("requeue_p=0.300"), std::string("requeue_p=0.000"));
    EXPECT_EQ(capped.config_lines, expected) << seed;
    r.params = Params{};
    r.params.add("cap.requeue_p=2");
    EXPECT_THROW((void)run_scenario(r), std::invalid_argument);
    return;
  }
  FAIL() << "no seed of 1..40 drew requeue_p=0.3";
}

TEST(Counterexample, FileRoundTripsAndRefusesBadInput) {
  Counterexample c;
  c.run.scenario = "migration";
  c.run.seed = 0xfffffffffffffff1ull;  // past 2^53: a string in the file
  c.run.strategy = "schedule";
  c.run.params.add("cap.ops=3,ncpus=2");
  c.run.schedule = {{3, 17, 5}};
  c.run.prefix_steps = 321;
  c.rule = "C5";
  c.trace_hash = 0x8000000000000001ull;
  c.before.steps = 1000;
  c.after.steps = 100;
  const Counterexample d = counterexample_from_json(counterexample_to_json(c), "test");
  EXPECT_EQ(d.run.scenario, "migration");
  EXPECT_EQ(d.run.seed, c.run.seed);
  EXPECT_EQ(d.run.params.all(), c.run.params.all());
  EXPECT_EQ(d.run.schedule, c.run.schedule);
  EXPECT_EQ(d.run.strategy, "schedule");
  EXPECT_EQ(d.run.prefix_steps, 321u);
  EXPECT_EQ(d.trace_hash, c.trace_hash);
  EXPECT_EQ(d.before.steps, 1000u);
  EXPECT_EQ(d.after.steps, 100u);
  for (const char* bad : {"", "[]", "{\"kind\": \"lazywq counterexample\", \"schema_version\": 9}",
                          "{\"kind\": \"something else\"}",
                          "{\"kind\": \"lazywq counterexample\", \"schema_version\": 1, \"rule\": \"C5\"}",
                          "{\"kind\": \"lazywq counterexample\", \"schema_version\": 1, \"rule\": \"C5\", "
                          "\"scenario\": \"nope\", \"seed\": \"1\", \"schedule\": \"\"}",
                          "{\"kind\": \"lazywq counterexample\", \"schema_version\": 1, \"rule\": \"C5\", "
                          "\"scenario\": \"migration\", \"seed\": \"1\", \"schedule\": \"1@2\"}"})
    EXPECT_THROW((void)counterexample_from_json(bad, "test"), std::invalid_argument) << bad;
}

#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)
namespace {

struct PlantedCase {
  const char* bug;
  const char* scenario;
  const char* rule;
};

// The first failure breaking `rule` over seeds 1..300 (as the planted tests find it).
RunOptions first_failure(const PlantedCase& c) {
  ExploreOptions eo;
  eo.scenarios = {c.scenario};
  eo.seed_first = 1;
  eo.seed_last = 300;
  eo.bug = planted_bug_from_string(c.bug);
  eo.isolate = false;
  eo.stop_on_first = true;
  eo.stop_rules = {c.rule};
  const ExploreReport rep = explore(eo, [](const std::string&, uint64_t, uint64_t, uint64_t) {});
  for (const auto& s : rep.scenarios)
    for (const auto& [r, out] : s.failed)
      for (const auto& v : out.violations)
        if (v.rule == c.rule) return r;
  ADD_FAILURE() << c.bug << ": no failure breaking " << c.rule;
  return {};
}

}  // namespace

// Each planted bug's failure shrinks: the same rule, at most three
// preemptions, and the shrunk schedule replays bit for bit (twice). A fixed run bound keeps the shrink
// the same on every machine.
const PlantedCase kPlantedCases[] = {{"spawn_fail_loses_work", "creation_failure", "C7"},
                               {"idle_exit_strands_work", "idle_exit", "C8"},
                               {"migrate_reorders", "migration", "C5"},
                               {"migrate_duplicates", "migration", "C1"},
                               {"clear_pending_after_run", "flush_cancel_storm", "C2"},
                               {"missing_wakeup", "mixed", "C15"},
                               {"blocked_worker_counted_running", "shared_deps", "C16"},
                               {"collision_runs_concurrently", "shared_deps", "C3"}};

TEST(ShrinkPlanted, EveryPlantedBugShrinksToTheSameRuleAndReplaysBitForBit) {
  for (const PlantedCase& c : kPlantedCases) {
    const RunOptions failing = first_failure(c);
    if (failing.scenario.empty()) continue;
    ShrinkOptions so;
    so.budget_seconds = 0;
    so.max_runs = 3000;
    const ShrinkResult r = shrink_schedule(failing, so);
    const RunShape b = shape_of(r.before), a = shape_of(r.after);
    SCOPED_TRACE(std::string(c.bug) + ": " + replay_command(failing) + " -> " + replay_command(r.shrunk));
    EXPECT_EQ(r.after.rule, r.before.rule);
    EXPECT_TRUE(r.after.failed);
    // Issue #16's target: at most 3 preemptions (from 17 to 787).
    EXPECT_LE(a.preemptions, 3u);
    EXPECT_LT(a.decisions, b.decisions);
    EXPECT_LT(a.steps, b.steps);
    EXPECT_LE(a.events, b.events);
    // Issue #16's second target, 30% of the steps, held by 6 of the 8:
    // idle_exit's seed 7 stays at 34% (see README), and the collision's
    // first failing seed (8 since the rescuer's wake-ups moved the
    // schedules, 2026-12-06) at 48%: its two queues' four works all take
    // part, and a run with fewer passes (a gap of issue #16, the corpus
    // keeps seed 25 at 12%). No worse than 35%, and 50% for that one.
    const bool collision = std::string(c.bug) == "collision_runs_concurrently";
    EXPECT_LE(a.steps * 100, b.steps * (collision ? 50 : 35)) << a.steps << " of " << b.steps;
    // The collision needs one client's queueings only: the others are
    // left out (param skip).
    if (collision) EXPECT_TRUE(r.shrunk.params.has("skip"));
    EXPECT_EQ(r.shrunk.strategy, "schedule");
    // The file's run: the same trace, twice.
    const Counterexample ce = counterexample_from_json(
        counterexample_to_json(counterexample_of(r, "test", "0", "test")), "test");
    for (int i = 0; i < 2; ++i) {
      const Outcome again = run_scenario(ce.run);
      EXPECT_EQ(again.trace_hash, r.after.trace_hash);
      EXPECT_EQ(again.rule, r.rule);
    }
  }
}
// A candidate that kills its child is another failure, and no schedule
// runs in the shrinker's own process before a child has run it without
// dying: an engine that crashes only on some schedules must not take the
// shrinker down. Every run given exactly one decision segfaults here (the
// test hook), in whatever process: before the fix the bounded search's
// probes of one-decision schedules ran in the shrinker's process and
// killed it (the mutant follow_awaited_queues_locked/2@a6c861, whose
// negated guard dereferences a null work on some schedules, did so to
// `wqcheck explore`).
TEST(ShrinkPlanted, ACandidateThatKillsItsChildIsNeverRunInTheShrinkersProcess) {
  // ctest runs each test in a process of its own: the hook is read here first.
  ::setenv(kTestFaultEnv, "segv-one-decision@*:*", 1);
  if (test_fault_setting().empty()) GTEST_SKIP() << "the hook was read before this test: run it alone";
  for (const PlantedCase& c : kPlantedCases) {
    const RunOptions failing = first_failure(c);
    if (failing.scenario.empty()) continue;
    ShrinkOptions so;
    so.budget_seconds = 0;
    so.max_runs = 4000;  // idle_exit's reaches the search for an earlier violation, which probes one-decision schedules
    const ShrinkResult r = shrink_schedule(failing, so);
    SCOPED_TRACE(std::string(c.bug) + ": " + replay_command(failing) + " -> " + replay_command(r.shrunk));
    EXPECT_EQ(r.after.rule, r.before.rule);
    EXPECT_TRUE(r.after.failed);
    EXPECT_NE(r.shrunk.schedule.size(), 1u);  // each such run died: none is the result
  }
}
#endif
