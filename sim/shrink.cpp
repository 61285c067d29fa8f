#include "sim/shrink.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
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

// The workload's sizes the shrinker caps (kit::knob's counts, the CPUs).
const char* const kSizes[] = {"ncpus", "clients",  "ops",      "works",     "queues", "rounds",  "burst",   "requests",
                              "slots", "waiters",  "submitters", "producers", "leaves", "delayed", "creators"};

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
      if (c.killed_process)
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
    // So is a horizon the user set below the default (a clean run may wait that long).
    if (res_.before.run.status == RunStatus::horizon && failing.horizon_ns < kDefaultHorizonNs)
      throw std::invalid_argument("inconclusive: the run reached the horizon of " + std::to_string(failing.horizon_ns) +
                                  " ns you set, below the default " + std::to_string(kDefaultHorizonNs / 1'000'000) +
                                  " ms (a limit of the harness, not a failure): nothing to shrink; rerun with a "
                                  "larger --horizon, or without it");
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
    current_preemptions_ = res_.before.run.preemptions;
    current_steps_ = res_.before.run.steps;
    config_lines_ = res_.before.config_lines;
    op_sites_ = res_.before.op_sites;
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
      shrink_workload_both_ways();
      one_decision();
      fewest_preemptions();
      two_decisions();
      lower_targets();
      while (reschedule_smaller_workload(500))
        while (smaller_workload()) remove_decisions();
      earlier_violation();
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
  bool try_schedule(const Schedule& s, const Params* params = nullptr, uint64_t max_preemptions = UINT64_MAX) {
    Candidate o = evaluate(s, params);
    if (!accepts(o, max_preemptions)) return false;
    commit(std::move(o), params);
    return true;
  }

  // Runs `s` (with `params`, if given) and nothing more.
  Candidate evaluate(const Schedule& s, const Params* params) {
    check_budget();
    RunOptions r = base_;
    r.schedule = s;
    if (params) r.params = *params;
    return run_candidate(r);
  }

  // The same rule broken, with no more preemptions than `max_preemptions`.
  // A hang the original did not have is a schedule starving a thread, not
  // the failure. (A rule broken before the limit is still that rule.)
  bool accepts(const Candidate& o, uint64_t max_preemptions = UINT64_MAX) const {
    const bool starved = o.status == RunStatus::step_limit && !hung_at_limit_ && o.rule == "C15";
    // A run that killed its child is another failure than one the
    // simulator caught (the original did not kill its process: see the
    // constructor), and the shrunk run is replayed in this process.
    return o.failed && !o.killed_process && o.rule == res_.rule && !starved && o.preemptions <= max_preemptions;
  }

  // `o` (as recorded: decisions that met their default or no point drop
  // out) becomes the current run, and `params` the current params.
  void commit(Candidate&& o, const Params* params) {
    current_ = std::move(o.schedule);
    current_preemptions_ = o.preemptions;
    current_steps_ = o.steps;
    config_lines_ = std::move(o.config_lines);
    op_sites_ = std::move(o.op_sites);
    if (params) base_.params = *params;
  }

  // Runs `s` cut after `limit` steps: true, and `s` the current schedule,
  // if the rule is broken within them with no more preemptions than now.
  // The config lines stay the whole run's (a cut run notes less).
  bool try_cut(const Schedule& s, uint64_t limit) {
    check_budget();
    RunOptions r = base_;
    r.schedule = s;
    r.prefix_steps = limit;
    const Candidate o = run_candidate(r);
    if (!accepts(o, current_preemptions_)) return false;
    current_ = o.schedule;
    current_preemptions_ = o.preemptions;
    return true;
  }

  void check_budget() const {
    if ((opt_.max_runs && res_.runs >= opt_.max_runs) || (opt_.budget_seconds > 0 && elapsed() > opt_.budget_seconds))
      throw OutOfBudget{};
  }

  // One candidate, in the child unless in-process; counted. A run the
  // scenario refuses (a cap it does not take) is no failure.
  Candidate run_candidate(const RunOptions& r) {
    Candidate o;
    try {
      o = opt_.isolate ? worker_.run(r) : candidate_of(run_scenario(r));
    } catch (const std::invalid_argument&) {
      o = Candidate{};
    }
    ++res_.runs;
    if (progress_ && res_.runs % 64 == 0) progress_(phase_, res_.runs, current_.size());
    return o;
  }

  // The rules whose run cannot be cut: a hang (C15) is that nothing more
  // happens, a crash or a spin ends the process.
  bool needs_whole_run() const {
    return res_.rule == "C15" || res_.rule == "crash" || res_.rule == "race" || res_.rule == "timeout";
  }

  // The first step m <= hi such that schedule `s` cut after m steps breaks
  // the rule, or 0 if none does (a rule checked only at the run's end):
  // bisection, a run cut at step m being the same run up to m.
  uint64_t violation_step(const Schedule& s, uint64_t hi, const Params* params = nullptr) {
    RunOptions r = base_;
    r.schedule = s;
    if (params) r.params = *params;
    r.record_schedule = false;
    uint64_t lo = 1, none = hi + 1;
    uint64_t top = none;
    while (lo < top) {
      r.prefix_steps = lo + (top - lo) / 2;
      const Candidate c = run_candidate(r);
      if (c.failed && c.rule == res_.rule)
        top = r.prefix_steps;
      else
        lo = r.prefix_steps + 1;
    }
    return top == none ? 0 : top;
  }

  // Fewer steps, the target's second measure: a schedule with no more
  // preemptions whose run breaks the rule earlier. Each decision in turn
  // moves to every other choice point of the run without it (before the
  // step the rule is broken at now), to each other thread there. A
  // candidate runs cut a step before the current violation, so it costs
  // one run and passes only if it is earlier. The bounded searches put
  // a decision at the first point that fails, not the earliest failure.
  void earlier_violation() {
    if (current_.empty() || needs_whole_run()) return;
    phase_ = "an earlier violation";
    uint64_t at = violation_step(current_, current_steps_);
    violation_at_ = at;
    for (bool moved = true; moved && at > 1;) {
      moved = false;
      for (size_t i = 0; i < current_.size() && !moved; ++i) {
        Schedule rest = current_;
        rest.erase(rest.begin() + static_cast<long>(i));
        for (const ChoicePoint& cp : probe(rest, at)) {
          for (uint32_t u : cp.runnable) {
            if (u == cp.def) continue;
            Schedule cand = rest;
            cand.push_back({cp.thread, cp.step, u});
            if (try_cut(normalized(cand), at - 1)) {
              moved = true;
              break;
            }
          }
          if (moved) break;
        }
      }
      if (moved) violation_at_ = at = violation_step(current_, at - 1);
    }
  }

  // The run ends at the step the rule is broken, not at the end of its
  // workload: the shortest prefix (RunOptions::prefix_steps,
  // --prefix-steps) in which the shrunk run still breaks it, by bisection
  // (a run cut at step m is the same run up to m). A hang (C15) needs the
  // whole run: its rule is that nothing more happens. About 10 runs,
  // outside the budget; none if earlier_violation() found it already.
  uint64_t shortest_prefix() {
    if (needs_whole_run()) return res_.original.prefix_steps;
    if (violation_at_) return violation_at_;
    const uint64_t at = violation_step(current_, current_steps_);
    return at ? at : res_.original.prefix_steps;
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
  //
  // Best improvement, not first: every size's lowest cap that still fails
  // and every probability at 0 are run, and the one whose run breaks the
  // rule soonest (violation_step) is kept, then again (capping the works first can forbid capping the
  // rounds, which would have cut more: migrate_reorders ended at twice
  // the steps). A cap the scenario takes no notice of (the CPUs at their
  // minimum already) is no reduction.
  bool shrink_workload() {
    bool any = false;
    for (;;) {
      std::optional<std::pair<Candidate, Params>> best;
      uint64_t best_at = 0;
      auto consider = [&](Candidate&& c, Params&& p) {
        if (first_improvement_) {
          if (!best) best.emplace(std::move(c), std::move(p));
          return;
        }
        // Shortest up to the violation (a hang: the whole run).
        const uint64_t at = needs_whole_run() ? c.steps : violation_step(c.schedule, c.steps, &p);
        const uint64_t key = at ? at : c.steps;
        if (!best || key < best_at) {
          best.emplace(std::move(c), std::move(p));
          best_at = key;
        }
      };
      for (const char* key : kSizes) {
        if (first_improvement_ && best) break;
        const int64_t now = drawn_value(config_lines_, key);
        if (now <= 1) continue;
        phase_ = std::string("capping ") + key;
        for (int64_t cap : caps_below(now)) {
          Params p = base_.params;
          p.add("cap." + std::string(key) + "=" + std::to_string(cap));
          Candidate c = evaluate(current_, &p);
          if (!accepts(c)) continue;
          if (drawn_value(c.config_lines, key) < now) consider(std::move(c), std::move(p));
          break;
        }
      }
      // The probabilities (kit::knob_p's, "fail_p=0.300"): each to 0, the
      // rest of the seed's draws as they were (Rng::chance always draws).
      for (const std::string& line : config_lines_) {
        if (first_improvement_ && best) break;
        const size_t eq = line.find('=');
        if (eq == std::string::npos || eq < 2 || line.compare(eq - 2, 2, "_p") != 0) continue;
        const std::string key = line.substr(0, eq);
        if (std::strtod(line.c_str() + eq + 1, nullptr) <= 0.0 || base_.params.has("cap." + key)) continue;
        phase_ = "capping " + key;
        Params p = base_.params;
        p.add("cap." + key + "=0");
        Candidate c = evaluate(current_, &p);
        if (accepts(c)) consider(std::move(c), std::move(p));
      }
      if (!best) return any;
      commit(std::move(best->first), &best->second);
      any = true;
    }
  }

  // What the shrinker holds of the current run, to go back to it.
  struct State {
    Schedule schedule;
    Params params;
    std::vector<std::string> config_lines, op_sites;
    uint64_t preemptions = 0, steps = 0;
  };
  State save() const { return {current_, base_.params, config_lines_, op_sites_, current_preemptions_, current_steps_}; }
  void restore(const State& s) {
    current_ = s.schedule;
    base_.params = s.params;
    config_lines_ = s.config_lines;
    op_sites_ = s.op_sites;
    current_preemptions_ = s.preemptions;
    current_steps_ = s.steps;
  }
  // Fewer preemptions first, then the sooner violation (a hang: its length).
  std::pair<uint64_t, uint64_t> score(const State& s) {
    const uint64_t at = needs_whole_run() ? 0 : violation_step(s.schedule, s.steps, &s.params);
    return {s.preemptions, at ? at : s.steps};
  }

  // Greedy workload reduction ends in a local minimum that depends on
  // the order: the reduction that breaks the rule soonest can forbid two
  // that together cut more (a planted collision: requeue_p to 0 first
  // kept three CPUs, 32% of the steps; the CPUs first, 26%), and the
  // first one that works can forbid a better one (migrate_reorders: the
  // works before the rounds, 34% against 17%). Both ways from the same
  // start, the better result kept; a budget cut keeps the better so far.
  void shrink_workload_both_ways() {
    const State start = save();
    first_improvement_ = false;
    std::optional<State> best_first;
    try {
      while (smaller_workload()) remove_decisions();
      const State a = save();
      restore(start);
      first_improvement_ = true;
      best_first = a;
      while (smaller_workload()) remove_decisions();
      first_improvement_ = false;
      if (score(*best_first) < score(save())) restore(*best_first);
    } catch (const OutOfBudget&) {
      first_improvement_ = false;
      if (best_first && score(*best_first) < score(save())) restore(*best_first);
      throw;
    }
  }

  // Both kinds of workload reduction, each tried: true if either went.
  bool smaller_workload() {
    const bool capped = shrink_workload();
    const bool skipped = skip_operations();
    return capped || skipped;
  }

  // The workload's operations the failure does without (the scenario's
  // op sites, param `skip`), delta debugging style: chunks of halving
  // size, the current decisions kept. True if any went.
  bool skip_operations() {
    bool any = false;
    for (size_t k = std::max<size_t>(op_sites_.size() / 2, 1); !op_sites_.empty(); k /= 2) {
      phase_ = "leaving out operations, " + std::to_string(k) + " at a time";
      size_t i = 0;
      while (i < op_sites_.size()) {
        std::string chunk;
        for (size_t j = i; j < std::min(i + k, op_sites_.size()); ++j) chunk += (chunk.empty() ? "" : "+") + op_sites_[j];
        Params p = base_.params;
        p.add("skip=" + with_skipped(chunk));
        // Success leaves the run's own sites: the ones after i move down.
        if (try_schedule(current_, &p))
          any = true;
        else
          i += k;
      }
      if (k == 1) break;
    }
    return any;
  }

  // Lowest first: 1, 2, 3 (a race needs two of something, seldom more),
  // then a quarter, a half, one less.
  static std::vector<int64_t> caps_below(int64_t now) {
    std::vector<int64_t> caps;
    for (int64_t c : {int64_t{1}, int64_t{2}, int64_t{3}, now / 4, now / 2, now - 1})
      if (c >= 1 && c < now) caps.push_back(c);
    std::sort(caps.begin(), caps.end());
    caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
    return caps;
  }

  // A cap the current decisions do not fail under may fail under others:
  // a smaller workload moves every thread's steps. Each cap still open,
  // lowest first, gets the bounded one-decision search of its own run (at
  // most `per_cap` runs): a schedule of one decision has no more
  // preemptions than any the shrinker keeps. True if a cap went down.
  bool reschedule_smaller_workload(uint64_t per_cap) {
    if (current_preemptions_ == 0) return false;
    for (const char* key : kSizes) {
      const int64_t now = drawn_value(config_lines_, key);
      for (int64_t cap : caps_below(now)) {
        phase_ = std::string("capping ") + key + ", new schedule";
        Params p = base_.params;
        p.add("cap." + std::string(key) + "=" + std::to_string(cap));
        if (one_decision_with(p, per_cap) && drawn_value(config_lines_, key) < now) return true;
      }
    }
    // So with each operation left out: its thread's steps move, and the
    // decisions that named them name others.
    for (const std::string& site : std::vector<std::string>(op_sites_)) {
      phase_ = "leaving out " + site + ", new schedule";
      Params p = base_.params;
      p.add("skip=" + with_skipped(site));
      if (one_decision_with(p, per_cap)) return true;
    }
    return false;
  }

  // Param `skip`'s value with `more` ('+'-joined sites) added, in the
  // order the run does them (client, then index, numbers as numbers).
  std::string with_skipped(const std::string& more) const {
    std::vector<std::string> sites;
    const std::string all = (base_.params.has("skip") ? base_.params.all().at("skip") + "+" : "") + more;
    for (size_t start = 0; start < all.size();) {
      const size_t plus = std::min(all.find('+', start), all.size());
      if (plus > start) sites.push_back(all.substr(start, plus - start));
      start = plus + 1;
    }
    std::sort(sites.begin(), sites.end(), natural_less);
    std::string out;
    for (const std::string& x : sites) out += (out.empty() ? "" : "+") + x;
    return out;
  }

  static bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
        size_t ei = i, ej = j;
        while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
        while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
        const uint64_t x = std::stoull(a.substr(i, ei - i)), y = std::stoull(b.substr(j, ej - j));
        if (x != y) return x < y;
        i = ei;
        j = ej;
      } else {
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
      }
    }
    return a.size() - i < b.size() - j;
  }

  // Under params `p`: no decision, then one decision, then the current
  // decisions and one more (where the current run needs more than one),
  // at most `limit` runs each, never more preemptions than now.
  bool one_decision_with(const Params& p, uint64_t limit) {
    const uint64_t bound = current_preemptions_;
    if (try_schedule({}, &p, bound)) return true;
    // `keep` and one more decision, at most `limit` of them.
    auto one_more = [&](const Schedule& keep) {
      const Params saved = base_.params;
      base_.params = p;
      const std::vector<ChoicePoint> cps = probe(keep);
      base_.params = saved;
      uint64_t spent = 0;
      for (const ChoicePoint& cp : cps)
        for (uint32_t u : cp.runnable) {
          if (u == cp.def) continue;
          if (++spent > limit) return false;
          Schedule cand = keep;
          cand.push_back({cp.thread, cp.step, u});
          if (try_schedule(normalized(cand), &p, bound)) return true;
        }
      return false;
    };
    if (one_more({})) return true;
    return current_.size() > 1 && one_more(Schedule(current_));
  }

  // KEY's value in a run's config lines ("ops=14"), or 0.
  static int64_t drawn_value(const std::vector<std::string>& config_lines, const std::string& key) {
    for (const std::string& line : config_lines) {
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
  // left, of two, while the budget lasts.
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

  // The choice points of schedule `s`, run like a candidate (in the child
  // when isolated): a schedule probed may never have run, or may have
  // killed a child as a candidate already (the bounded search probes every
  // one-decision schedule for a second decision). A run that dies offers
  // no choice point.
  std::vector<ChoicePoint> probe(const Schedule& s, uint64_t prefix_steps = 0) {
    RunOptions r = base_;
    r.schedule = s;
    r.prefix_steps = prefix_steps;
    r.record_schedule = false;
    r.record_choices = true;
    return run_candidate(r).choices;
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
  uint64_t current_preemptions_ = 0;  // of the current schedule's run
  uint64_t current_steps_ = 0;        // its length, as a whole run
  uint64_t violation_at_ = 0;         // the step it breaks the rule by (0: not known)
  bool first_improvement_ = false;    // shrink_workload: the first reduction that works, not the best
  std::vector<std::string> config_lines_;  // of the current run
  std::vector<std::string> op_sites_;      // its operations the shrinker may skip
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
