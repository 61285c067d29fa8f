#include "sim/explorer.hpp"

#include "sim/knobs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace lazywq::sim {

uint64_t ExploreReport::failures() const {
  uint64_t n = 0;
  for (auto& s : scenarios) n += s.failures;
  return n;
}

ExploreReport explore(const ExploreOptions& opt,
                      const std::function<void(const std::string&, uint64_t, uint64_t, uint64_t)>& progress) {
  // The budget is the explorer's own, outside the simulated world: wall
  // clock is fine here and never reaches a run.
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
  std::vector<std::string> names = opt.scenarios;
  if (names.empty())
    for (auto& s : all_scenarios()) names.push_back(s.name);
  for (auto& n : names) (void)find_scenario(n);  // fail fast on a typo

  ExploreReport report;
  const uint64_t span = opt.seed_last - opt.seed_first + 1;
  const uint64_t mine = span / static_cast<uint64_t>(opt.shard_count) +
                        (span % static_cast<uint64_t>(opt.shard_count) > static_cast<uint64_t>(opt.shard_index) ? 1 : 0);
  for (size_t si = 0; si < names.size(); ++si) {
    ScenarioSummary sum;
    sum.scenario = names[si];
    const auto sc_start = clock::now();
    // An even share of what is left of the budget for each scenario left.
    const double sc_budget = opt.budget_seconds > 0
                                 ? (opt.budget_seconds - elapsed()) / static_cast<double>(names.size() - si)
                                 : 0;
    uint64_t done = 0;
    for (uint64_t seed = opt.seed_first + static_cast<uint64_t>(opt.shard_index); seed <= opt.seed_last;
         seed += static_cast<uint64_t>(opt.shard_count)) {
      if (sc_budget > 0 && std::chrono::duration<double>(clock::now() - sc_start).count() > sc_budget) {
        sum.budget_cut = true;
        break;
      }
      RunOptions ro;
      ro.scenario = sum.scenario;
      ro.seed = seed;
      ro.strategy = opt.strategy;
      ro.params = opt.params;
      ro.bug = opt.bug;
      ro.max_steps = opt.max_steps;
      if (seed == opt.seed_first && !opt.seed_first_text.empty()) ro.seed_text = opt.seed_first_text;
      Outcome out = run_scenario(ro);
      ++sum.runs;
      sum.total_steps += out.run.steps;
      sum.strategy_report = out.run.strategy_report;
      for (size_t a = 0; a < kRaceWindows; ++a)
        for (size_t b = 0; b < kRaceWindows; ++b) sum.window_hits[a][b] += out.run.window_hits[a][b];
      add_pairs(sum.activity_pairs, activity_pairs(out.events));
      sum.knobs.insert(out.knobs.begin(), out.knobs.end());
      if (out.failed) {
        ++sum.failures;
        ++sum.failures_by_rule[out.rule];
        if (static_cast<int>(sum.failed.size()) < opt.max_failures_per_scenario)
          sum.failed.emplace_back(ro, std::move(out));  // with its events: the report prints its trace
        if (opt.stop_after_failures != 0 && sum.failures >= opt.stop_after_failures) {
          sum.stopped_early = true;
          if (progress) progress(sum.scenario, done + 1, mine, sum.failures);
          break;
        }
      }
      if (progress && (++done % 64 == 0 || seed + static_cast<uint64_t>(opt.shard_count) > opt.seed_last))
        progress(sum.scenario, done, mine, sum.failures);
      if (seed > UINT64_MAX - static_cast<uint64_t>(opt.shard_count)) break;
    }
    sum.seconds = std::chrono::duration<double>(clock::now() - sc_start).count();
    report.scenarios.push_back(std::move(sum));
  }
  return report;
}

std::string summary_table(const ExploreReport& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %8s %8s %10s %10s  %s\n", "scenario", "runs", "failed", "exec/s",
                "steps/run", "rules broken");
  out += line;
  for (auto& s : r.scenarios) {
    std::string rules;
    for (auto& [rule, n] : s.failures_by_rule) rules += (rules.empty() ? "" : ", ") + rule + " x" + std::to_string(n);
    if (rules.empty()) rules = "-";
    if (s.budget_cut) rules += "  (budget reached)";
    if (s.stopped_early) rules += "  (stopped after " + std::to_string(s.failures) + " failures)";
    std::snprintf(line, sizeof line, "%-20s %8llu %8llu %10.0f %10.0f  %s\n", s.scenario.c_str(),
                  static_cast<unsigned long long>(s.runs), static_cast<unsigned long long>(s.failures),
                  s.seconds > 0 ? static_cast<double>(s.runs) / s.seconds : 0.0,
                  s.runs ? static_cast<double>(s.total_steps) / static_cast<double>(s.runs) : 0.0, rules.c_str());
    out += line;
  }
  return out;
}

std::string window_table(const ExploreReport& r) {
  std::array<std::array<uint64_t, kRaceWindows>, kRaceWindows> tot{};
  for (auto& s : r.scenarios)
    for (size_t a = 0; a < kRaceWindows; ++a)
      for (size_t b = 0; b < kRaceWindows; ++b) tot[a][b] += s.window_hits[a][b];
  std::string out = "race window          hits with another thread inside   (top partner windows)\n";
  char line[512];
  for (size_t a = 0; a < kRaceWindows; ++a) {
    uint64_t sum = 0;
    for (size_t b = 0; b < kRaceWindows; ++b) sum += tot[a][b];
    std::vector<std::pair<uint64_t, size_t>> partners;
    for (size_t b = 0; b < kRaceWindows; ++b)
      if (tot[a][b]) partners.emplace_back(tot[a][b], b);
    std::sort(partners.rbegin(), partners.rend());
    std::string top;
    for (size_t i = 0; i < partners.size() && i < 3; ++i)
      top += (top.empty() ? "" : ", ") + std::string(to_string(static_cast<RaceWindow>(partners[i].second))) + " " +
             std::to_string(partners[i].first);
    std::snprintf(line, sizeof line, "%-20s %12llu %s %s\n", std::string(to_string(static_cast<RaceWindow>(a))).c_str(),
                  static_cast<unsigned long long>(sum), sum ? "  " : "  NEVER HIT", top.c_str());
    out += line;
  }
  return out;
}

std::string report_json(const ExploreOptions& opt, const ExploreReport& r) {
  using nlohmann::json;
  json j;
  j["strategy"] = opt.strategy;
  j["seeds"] = {{"first", opt.seed_first}, {"last", opt.seed_last}};
  j["shard"] = {{"index", opt.shard_index}, {"count", opt.shard_count}};
  j["planted_bug"] = std::string(to_string(opt.bug));
  j["failures"] = r.failures();
  j["scenarios"] = json::array();
  for (auto& s : r.scenarios) {
    json js = {{"scenario", s.scenario},
               {"runs", s.runs},
               {"failures", s.failures},
               {"seconds", s.seconds},
               {"executions_per_second", s.seconds > 0 ? static_cast<double>(s.runs) / s.seconds : 0.0},
               {"budget_cut", s.budget_cut},
               {"stopped_early", s.stopped_early},
               {"failures_by_rule", s.failures_by_rule}};
    json fs = json::array();
    for (auto& [ro, out] : s.failed)
      fs.push_back({{"seed", ro.seed}, {"rule", out.rule}, {"headline", out.headline},
                    {"replay", replay_command(ro)}, {"trace_hash", out.trace_hash}});
    js["failed"] = fs;
    if (!s.strategy_report.empty()) js["strategy_report"] = s.strategy_report;
    json wh = json::object();
    for (size_t a = 0; a < kRaceWindows; ++a) {
      json row = json::object();
      for (size_t b = 0; b < kRaceWindows; ++b)
        if (s.window_hits[a][b]) row[std::string(to_string(static_cast<RaceWindow>(b)))] = s.window_hits[a][b];
      wh[std::string(to_string(static_cast<RaceWindow>(a)))] = row;
    }
    js["window_hits"] = wh;
    json op = json::object();
    for (size_t a = 0; a < kDurationActivities; ++a) {
      json row = json::object();
      for (size_t b = 0; b < kActivities; ++b)
        if (s.activity_pairs[a][b]) row[std::string(to_string(static_cast<Activity>(b)))] = s.activity_pairs[a][b];
      op[std::string(to_string(static_cast<Activity>(a)))] = row;
    }
    js["activity_pairs"] = op;
    j["scenarios"].push_back(js);
  }
  const auto never = never_overlapped(total_activity_pairs(r));
  j["activity_pairs_never_overlapped"] = never;
  j["knobs_never_drawn"] = knobs_never_drawn(total_knobs(r));
  return j.dump(2);
}

ActivityPairCounts total_activity_pairs(const ExploreReport& r) {
  ActivityPairCounts tot{};
  for (auto& s : r.scenarios)
    for (size_t a = 0; a < kDurationActivities; ++a)
      for (size_t b = 0; b < kActivities; ++b) tot[a][b] += s.activity_pairs[a][b];
  return tot;
}

}  // namespace lazywq::sim

namespace lazywq::sim {
std::set<std::string> total_knobs(const ExploreReport& r) {
  std::set<std::string> all;
  for (auto& s : r.scenarios) all.insert(s.knobs.begin(), s.knobs.end());
  return all;
}
}  // namespace lazywq::sim
