#include "sim/shrink.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "sim/shrink_worker.hpp"

namespace lazywq::sim {

RunShape shape_of(const Outcome& o) {
  RunShape s;
  s.steps = o.run.steps;
  s.choice_points = o.run.choice_points;
  s.decisions = o.run.decisions;
  s.preemptions = o.run.preemptions;
  s.threads = o.run.threads;
  s.events = o.events.size();
  return s;
}

namespace {

class Shrinker {
 public:
  Shrinker(const RunOptions& failing, const ShrinkOptions& opt,
           const std::function<void(const std::string&, uint64_t, uint64_t)>& progress)
      : opt_(opt), progress_(progress), started_(std::chrono::steady_clock::now()), worker_(opt.run_timeout_seconds) {
    res_.original = failing;
    RunOptions rec = failing;
    rec.record_schedule = true;
    if (opt_.isolate) {
      // In a child first: a run that kills its process (an engine crash, a
      // spin) would take the shrinker down with it.
      const Candidate c = worker_.run(rec);
      ++res_.runs;
      if (c.status == RunStatus::crashed && (c.rule == "crash" || c.rule == "timeout") && c.schedule.empty())
        throw std::invalid_argument("the run kills its process (" + c.rule + "): the shrinker replays the original in "
                                    "its own process; replay it under a debugger (" + replay_command(failing) + ")");
    }
    res_.before = run_scenario(rec);
    ++res_.runs;
    if (!res_.before.failed) throw std::invalid_argument("the run breaks no rule: nothing to shrink (" + replay_command(failing) + ")");
    // A step budget the user set ran out with nothing but the stall found:
    // the harness's limit, not a failure (wqcheck replay says inconclusive).
    if (res_.before.run.status == RunStatus::step_limit && failing.max_steps != RunOptions{}.max_steps &&
        std::all_of(res_.before.violations.begin(), res_.before.violations.end(),
                    [](const check::Violation& v) { return v.rule == "C15"; }))
      throw std::invalid_argument("inconclusive: the step budget of " + std::to_string(failing.max_steps) +
                                  " scheduling points ran out while threads could still run (a limit of the harness, "
                                  "not a failure): nothing to shrink; rerun with a larger --max-steps");
    res_.rule = res_.before.rule;
    base_ = as_schedule_run(rec, res_.before);
    base_.schedule.clear();
    base_.record_schedule = true;
    // A shrunk run may not end in a step limit the original did not meet:
    // that is a schedule starving a thread, not the failure. The cap also
    // bounds what a candidate costs.
    hung_at_limit_ = res_.before.run.status == RunStatus::step_limit;
    if (!hung_at_limit_) base_.max_steps = std::min(failing.max_steps, std::max<uint64_t>(res_.before.run.steps * 4, 100'000));
    current_ = res_.before.run.schedule;
    config_lines_ = res_.before.config_lines;
    // The recorded decisions must give the very same run.
    RunOptions again = base_;
    again.schedule = current_;
    Outcome o = run_scenario(again);
    ++res_.runs;
    if (o.trace_hash != res_.before.trace_hash || o.rule != res_.rule)
      throw std::invalid_argument("the run's recorded schedule does not replay it (trace hash " +
                                  fmt::format("{:016x} vs {:016x}", o.trace_hash, res_.before.trace_hash) +
                                  "): a nondeterminism in the simulator or the scenario");
  }

  ShrinkResult run() {
    try {
      try_schedule({});
      remove_decisions();
      // A smaller workload, then the decisions it leaves; again while
      // either moves.
      while (shrink_workload()) remove_decisions();
      one_decision();
      fewest_preemptions();
      two_decisions();
      lower_targets();
    } catch (const OutOfBudget&) {
      res_.cut = true;
    }
    res_.shrunk = base_;
    res_.shrunk.record_schedule = false;
    res_.shrunk.max_steps = res_.original.max_steps;
    res_.shrunk.schedule = current_;
    res_.shrunk.prefix_steps = shortest_prefix();
    // The shrunk run once more, in this process, for its events and trace.
    RunOptions last = res_.shrunk;
    last.record_schedule = true;
    res_.after = run_scenario(last);
    ++res_.runs;
    res_.shrunk.schedule = res_.after.run.schedule;
    res_.seconds = elapsed();
    return std::move(res_);
  }

 private:
  struct OutOfBudget {};

  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  // Runs `s` (with `params`, if given); if it breaks the same rule, it
  // becomes the current schedule (as recorded: decisions that met their
  // default or no point drop out) and the params the current ones.
  bool try_schedule(const Schedule& s, const Params* params = nullptr) {
    if ((opt_.max_runs && res_.runs >= opt_.max_runs) || (opt_.budget_seconds > 0 && elapsed() > opt_.budget_seconds))
      throw OutOfBudget{};
    RunOptions r = base_;
    r.schedule = s;
    if (params) r.params = *params;
    Candidate o;
    try {
      o = opt_.isolate ? worker_.run(r) : candidate_of(run_scenario(r));
    } catch (const std::invalid_argument&) {
      return false;  // a cap the scenario refuses
    }
    ++res_.runs;
    if (progress_ && res_.runs % 64 == 0) progress_(phase_, res_.runs, current_.size());
    // A hang the original did not have: a schedule starving a thread, not
    // the failure. (A rule broken before the limit is still that rule.)
    const bool starved = o.status == RunStatus::step_limit && !hung_at_limit_ && o.rule == "C15";
    if (!o.failed || o.rule != res_.rule || starved) return false;
    current_ = std::move(o.schedule);
    config_lines_ = std::move(o.config_lines);
    if (params) base_.params = *params;
    return true;
  }

  // The run ends at the step the rule is broken, not at the end of its
  // workload: the shortest prefix (RunOptions::prefix_steps,
  // --prefix-steps) in which the shrunk run still breaks it, by bisection
  // (a run cut at step m is the same run up to m). A hang (C15) needs the
  // whole run: its rule is that nothing more happens. About 21 runs,
  // outside the budget.
  uint64_t shortest_prefix() {
    if (res_.rule == "C15" || res_.rule == "crash" || res_.rule == "timeout") return res_.original.prefix_steps;
    RunOptions r = res_.shrunk;
    r.record_schedule = false;
    // Bisected from the original budget (the child does not send the run's
    // length back): each probe costs at most the run, ~21 probes.
    uint64_t lo = 1, hi = res_.original.max_steps;
    if (res_.original.prefix_steps) hi = std::min(hi, res_.original.prefix_steps);
    const uint64_t none = res_.original.prefix_steps;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      r.prefix_steps = mid;
      Candidate c;
      try {
        c = opt_.isolate ? worker_.run(r) : candidate_of(run_scenario(r));
      } catch (const std::invalid_argument&) {
        return none;
      }
      ++res_.runs;
      if (c.failed && c.rule == res_.rule)
        hi = mid;
      else
        lo = mid + 1;
    }
    // No cut if the bisection ended at the budget itself: the whole run.
    return hi >= res_.original.max_steps ? none : hi;
  }

  // Delta debugging over the decisions: chunks of halving size, until a
  // pass removes none.
  void remove_decisions() {
    bool progress = true;
    while (progress && !current_.empty()) {
      progress = false;
      for (size_t k = std::max<size_t>(current_.size() / 2, 1);; k /= 2) {
        progress |= remove_chunks(k);
        if (k == 1) break;
      }
    }
  }

  // The workload's sizes (kit::knob's counts and the CPUs), each capped
  // as low as the failure allows: `cap.KEY=N` keeps every other draw of
  // the seed, so the run is the same one with less in it. True if any
  // went down.
  bool shrink_workload() {
    static const char* const kSizes[] = {"ncpus",  "clients",  "ops",    "works",   "queues",     "rounds",
                                         "burst",  "requests", "slots",  "waiters", "submitters", "producers",
                                         "leaves", "delayed",  "creators"};
    bool any = false;
    for (const char* key : kSizes) {
      const int64_t now = drawn_value(key);
      if (now <= 1) continue;
      phase_ = std::string("capping ") + key;
      const Params before = base_.params;
      // Lowest first: 1, then a quarter, a half, one less.
      std::vector<int64_t> caps = {1, now / 4, now / 2, now - 1};
      std::sort(caps.begin(), caps.end());
      caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
      for (int64_t cap : caps) {
        if (cap < 1 || cap >= now) continue;
        Params p = base_.params;
        p.add("cap." + std::string(key) + "=" + std::to_string(cap));
        if (try_schedule(current_, &p)) {
          // A cap the scenario takes no notice of (the CPUs at their
          // minimum already) is no reduction.
          if (drawn_value(key) < now)
            any = true;
          else
            base_.params = before;
          break;
        }
      }
    }
    return any;
  }

  // KEY's value in the current run's config lines ("ops=14"), or 0.
  int64_t drawn_value(const std::string& key) const {
    for (const std::string& line : config_lines_) {
      if (line.rfind(key + "=", 0) != 0) continue;
      try {
        size_t used = 0;
        const std::string v = line.substr(key.size() + 1);
        const long long n = std::stoll(v, &used);
        return used == v.size() ? n : 0;
      } catch (const std::exception&) {
        return 0;
      }
    }
    return 0;
  }

  // One pass removing chunks of k decisions; true if any went.
  bool remove_chunks(size_t k) {
    phase_ = "removing chunks of " + std::to_string(k);
    bool any = false;
    size_t i = 0;
    while (i < current_.size()) {
      Schedule cand;
      cand.reserve(current_.size());
      cand.insert(cand.end(), current_.begin(), current_.begin() + static_cast<long>(i));
      cand.insert(cand.end(), current_.begin() + static_cast<long>(std::min(i + k, current_.size())), current_.end());
      if (try_schedule(cand))
        any = true;  // the same i now names the decisions after the chunk
      else
        i += k;
    }
    return any;
  }

  // Delta debugging stops where no single decision can go, which can
  // leave a dozen where two would do (each kept only because the others
  // are). Every subset of one, two, then three of them is tried, smallest
  // first (CHESS's observation: most concurrency bugs need very few
  // preemptions), while the budget lasts.
  void fewest_preemptions() {
    if (current_.size() <= 1) return;
    phase_ = "subsets of 1-3 decisions";
    const Schedule all = current_;
    const size_t n = all.size();
    for (size_t k = 1; k <= 3 && k < n; ++k) {
      // A size whose subsets number more than a thousand is left to the
      // bounded search (k=2 up to 45 decisions, k=3 up to 18).
      uint64_t subsets = 1;
      for (size_t i = 0; i < k; ++i) subsets = subsets * (n - i) / (i + 1);
      if (subsets > 1000) break;
      std::vector<size_t> idx(k);
      for (size_t i = 0; i < k; ++i) idx[i] = i;
      for (;;) {
        Schedule cand;
        for (size_t i : idx) cand.push_back(all[i]);
        if (try_schedule(cand)) {
          remove_decisions();
          return;
        }
        // Next combination of k indices out of n, in lexicographic order.
        size_t i = k;
        while (i > 0 && idx[i - 1] == n - k + i - 1) --i;
        if (i == 0) break;
        ++idx[i - 1];
        for (size_t j = i; j < k; ++j) idx[j] = idx[j - 1] + 1;
      }
    }
  }

  // CHESS's iterative context bounding, from the run with no decision:
  // every schedule of one decision (each choice point of that run, each
  // other thread that could run there), then, where more than three are
  // left, of two, while the budget lasts. A probe run that lists the
  // choice points runs in this process only for a schedule that has
  // already run in a child without a crash (the run is deterministic).
  void one_decision() {
    if (current_.size() <= 1) return;
    phase_ = "one decision (bounded search)";
    if (try_schedule({})) return;
    firsts_.clear();
    for (const ChoicePoint& cp : probe({}))
      for (uint32_t u : cp.runnable) {
        if (u == cp.def) continue;
        const Decision d{cp.thread, cp.step, u};
        if (try_schedule({d})) return;
        firsts_.push_back(d);
      }
  }

  // Three or fewer is already a counterexample a person reads at a
  // glance, and the pairs cost the square of the choice points.
  void two_decisions() {
    if (current_.size() <= 3) return;
    phase_ = "two decisions (bounded search)";
    // First the switches the shrunk schedule already makes (the same
    // thread to the same thread), nearest to where it makes them: the
    // failure needs them, only fewer of them.
    auto distance = [&](const Decision& d) {
      uint64_t best = UINT64_MAX;
      for (const Decision& c : current_)
        if (c.thread == d.thread && c.to == d.to) best = std::min(best, c.step > d.step ? c.step - d.step : d.step - c.step);
      return best;
    };
    std::stable_sort(firsts_.begin(), firsts_.end(),
                     [&](const Decision& a, const Decision& b) { return distance(a) < distance(b); });
    for (const Decision& d1 : firsts_) {
      std::vector<Decision> seconds;
      bool after = false;
      for (const ChoicePoint& cp : probe({d1})) {
        if (!after) {
          after = cp.thread == d1.thread && cp.step == d1.step;
          continue;
        }
        for (uint32_t u : cp.runnable)
          if (u != cp.def) seconds.push_back({cp.thread, cp.step, u});
      }
      std::stable_sort(seconds.begin(), seconds.end(),
                       [&](const Decision& a, const Decision& b) { return distance(a) < distance(b); });
      for (const Decision& d2 : seconds)
        if (try_schedule({d1, d2})) return;
    }
  }

  // The choice points of schedule `s` (already run in a child: see above).
  std::vector<ChoicePoint> probe(const Schedule& s) {
    RunOptions r = base_;
    r.schedule = s;
    r.record_schedule = false;
    r.record_choices = true;
    ++res_.runs;
    try {
      return run_scenario(r).run.choices;
    } catch (const std::invalid_argument&) {
      return {};
    }
  }

  // Each decision switches to the lowest thread id that still fails (the
  // main thread and the first workers, which a reader knows best).
  void lower_targets() {
    phase_ = "lowering targets";
    for (size_t i = 0; i < current_.size(); ++i)
      for (uint32_t to = 0; i < current_.size() && to < current_[i].to; ++to) {
        if (to == current_[i].thread) continue;
        Schedule cand = current_;
        cand[i].to = to;
        if (try_schedule(cand)) break;
      }
  }

  ShrinkOptions opt_;
  std::function<void(const std::string&, uint64_t, uint64_t)> progress_;
  std::chrono::steady_clock::time_point started_;
  ShrinkResult res_;
  RunOptions base_;
  bool hung_at_limit_ = false;
  Schedule current_;
  std::vector<std::string> config_lines_;  // of the current run
  std::vector<Decision> firsts_;           // the one-decision schedules tried (one_decision)
  CandidateWorker worker_;
  std::string phase_ = "no decision at all";
};

}  // namespace

RunOptions as_schedule_run(const RunOptions& original, const Outcome& recorded) {
  RunOptions r = original;
  r.strategy = "schedule";
  r.bytes.clear();
  r.schedule = recorded.run.schedule;
  r.record_schedule = false;
  if (original.params.used().count("fair") && !original.params.has("fair"))
    r.params.add(std::string("fair=") + (original.strategy == "random" ? "1" : "0"));
  return r;
}

ShrinkResult shrink_schedule(const RunOptions& failing, const ShrinkOptions& opt,
                             const std::function<void(const std::string&, uint64_t, uint64_t)>& progress) {
  Shrinker s(failing, opt, progress);
  return s.run();
}

std::string shrink_table(const ShrinkResult& r) {
  const RunShape b = shape_of(r.before), a = shape_of(r.after);
  auto row = [](const char* what, uint64_t before, uint64_t after) {
    const double pct = before ? 100.0 * static_cast<double>(after) / static_cast<double>(before) : 100.0;
    return fmt::format("  {:<26} {:>10} {:>10} {:>6.0f}%\n", what, before, after, pct);
  };
  std::string out = fmt::format("  {:<26} {:>10} {:>10} {:>7}\n", "", "before", "after", "");
  out += row("steps", b.steps, a.steps);
  out += row("choice points", b.choice_points, a.choice_points);
  out += row("decisions (not the default)", b.decisions, a.decisions);
  out += row("preemptions", b.preemptions, a.preemptions);
  out += row("threads", b.threads, a.threads);
  out += row("events", b.events, a.events);
  return out;
}

}  // namespace lazywq::sim
