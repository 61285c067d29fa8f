// Properties of the harness's own pure parts: the `bytes` schedule encoding,
// PCT's change-point sampling, the trace writers.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "property/program_gen.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"

using namespace lazywq;
using namespace lazywq::sim;
using namespace lazywq::prop;

namespace {

std::vector<std::string> scenario_names() {
  std::vector<std::string> n;
  for (auto& s : all_scenarios()) n.push_back(s.name);
  return n;
}

// The first step at which a depth-2 PCT strategy switches away from the
// thread it started with: its single change point (1..K).
uint64_t pct_change_point(uint64_t seed, uint64_t k) {
  auto s = make_strategy("pct:2:" + std::to_string(k), seed);
  s->on_spawn(0);
  s->on_spawn(1);
  const std::vector<uint32_t> both = {0, 1};
  uint32_t cur = s->pick(both, 0, true, false, 0);
  const uint32_t first = cur;
  for (uint64_t step = 1; step <= k + 1; ++step) {
    cur = s->pick(both, cur, true, false, step);
    if (cur != first) return step;
  }
  return 0;  // never switched
}

}  // namespace

// The `bytes` strategy is a schedule encoding: the same bytes give the same
// execution (schedule and events), for any scenario and workload seed.
RC_GTEST_PROP(ScheduleEncoding, SameBytesSameTrace, ()) {
  RunOptions o;
  o.scenario = *rc::gen::elementOf(scenario_names());
  o.seed = *full(rc::gen::arbitrary<uint64_t>());
  o.strategy = "bytes";
  o.bytes = *rc::gen::container<std::vector<uint8_t>>(full(rc::gen::arbitrary<uint8_t>()));
  o.max_steps = 300'000;
  Outcome a = run_scenario(o);
  Outcome b = run_scenario(o);
  RC_ASSERT(a.trace_hash == b.trace_hash);
  RC_ASSERT(a.run.steps == b.run.steps);
  RC_ASSERT(a.failed == b.failed);
}

// ... and the bytes are what decides: an execution driven by bytes breaks no
// rule (the engine is correct under every schedule, including these).
RC_GTEST_PROP(ScheduleEncoding, AnyBytesKeepTheContract, ()) {
  RunOptions o;
  o.scenario = *rc::gen::elementOf(scenario_names());
  o.seed = *full(rc::gen::inRange<uint64_t>(1, 1000));
  o.strategy = "bytes";
  o.bytes = *rc::gen::container<std::vector<uint8_t>>(full(rc::gen::arbitrary<uint8_t>()));
  o.max_steps = 300'000;
  Outcome a = run_scenario(o);
  if (a.failed) RC_FAIL(failure_report(o, a));
}

// Every PCT change point lies in [1, K].
RC_GTEST_PROP(Pct, ChangePointWithinOneToK, ()) {
  const uint64_t k = *full(rc::gen::inRange<uint64_t>(1, 5000));
  const uint64_t seed = *full(rc::gen::arbitrary<uint64_t>());
  const uint64_t c = pct_change_point(seed, k);
  RC_ASSERT(c >= 1);
  RC_ASSERT(c <= k);
}

// PCT's change points are uniform over [1, K]: a chi-square test over fixed
// seeds, with a generous bound (p < 1e-6 for a uniform sampler), for several
// K, including K not a power of two.
TEST(Pct, ChangePointsAreUniform) {
  for (uint64_t k : {2ull, 7ull, 10ull, 33ull}) {
    const uint64_t per_bucket = 400;
    const uint64_t n = k * per_bucket;
    std::vector<uint64_t> hist(k + 1, 0);
    for (uint64_t seed = 1; seed <= n; ++seed) {
      uint64_t c = pct_change_point(seed * 0x9e3779b97f4a7c15ull, k);
      ASSERT_GE(c, 1u);
      ASSERT_LE(c, k);
      ++hist[c];
    }
    double chi2 = 0;
    for (uint64_t i = 1; i <= k; ++i) {
      double d = static_cast<double>(hist[i]) - static_cast<double>(per_bucket);
      chi2 += d * d / static_cast<double>(per_bucket);
    }
    // dof = k-1; mean k-1, sd sqrt(2(k-1)); 6 sd + 20 is far past p = 1e-6.
    const double dof = static_cast<double>(k - 1);
    EXPECT_LT(chi2, dof + 6 * std::sqrt(2 * dof) + 20) << "K=" << k;
  }
}

// The trace writers agree with the stream: the Chrome JSON parses, has one
// entry per event plus the lane names, every B has its E on the same lane;
// the text trace has one line per event.
RC_GTEST_PROP(TraceWriter, ChromeJsonParsesAndMatchesTheEvents, ()) {
  const Program p = *gen_program(1, 3);
  ProgramOptions opt;
  opt.max_steps = kMaxSteps;
  ProgramOutcome out = run_program(p, opt);
  const std::string text = chrome_trace_json(out.events, "prop \"quoted\" \\ title");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    RC_FAIL(std::string("chrome trace does not parse: ") + e.what());
  }
  RC_ASSERT(doc.contains("traceEvents"));
  const auto& evs = doc["traceEvents"];
  RC_ASSERT(evs.is_array());
  size_t meta = 0, data = 0;
  std::map<uint64_t, int> open;  // tid -> open slices
  for (const auto& e : evs) {
    if (e["ph"] == "M") {
      ++meta;
      continue;
    }
    RC_ASSERT(e["args"]["seq"].get<uint64_t>() == data);
    const auto& src = out.events[data];
    RC_ASSERT(e["tid"].get<uint64_t>() == src.thread);
    RC_ASSERT(e["args"]["work"].get<uint64_t>() == src.work);
    if (e["ph"] == "B") ++open[src.thread];
    if (e["ph"] == "E") {
      RC_ASSERT(open[src.thread] > 0);
      --open[src.thread];
    }
    ++data;
  }
  RC_ASSERT(data == out.events.size());
  RC_ASSERT(meta >= 1);
  if (out.run.status == RunStatus::ok)
    for (auto& [tid, n] : open) RC_ASSERT(n == 0);
  const std::string plain = format_trace(out.events);
  RC_ASSERT(static_cast<size_t>(std::count(plain.begin(), plain.end(), '\n')) == out.events.size() + 1);
}
