// lazywq_models: the driver and the one registry of the Relacy models of
// the engine's own code. Every model (models_core.cpp, models_shared.cpp;
// driver.hpp lists the files by theme) instantiates
// BasicEngine<RelacyPlatform> (engine/include/lazywq/engine.hpp), a queue
// on 2 CPUs, a few works and 2 static threads, and lets Relacy's
// schedulers (random, and a context-bound tree search) choose the
// interleavings, the values relaxed loads see, spurious wake-ups and which
// timed waits time out (idle exit, creation cooldown, timers).
//
//   lazywq_models --list
//   lazywq_models [--model NAME|all] [--sched random|bound|both]
//                 [--iterations N] [--bound-iterations N] [--context-bound K]
//                 [--planted BUG --expect KIND[|KIND...]|any] [--no-oracle]
//   replay:  lazywq_models --model NAME --sched random --iteration N --history
//            lazywq_models --model NAME --sched bound --context-bound K --state 'S' --history
//
// A failing model prints its iteration and the exact replay command.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/coverage_report.hpp"
#include "models/driver.hpp"
#include "models/harness.hpp"
#include "tools/build_info.hpp"

// <relacy/context.hpp> defines the replacement operator new/delete as
// inline functions. If every call in this file got inlined, the compiler
// would emit no out-of-line copy, and the other libraries (the oracle)
// would allocate with libstdc++'s new but free with Relacy's delete.
// Taking their addresses forces the out-of-line definitions, so the whole
// program uses one pair.
__attribute__((used)) void* (*const lazywq_relacy_new)(std::size_t) = &::operator new;
__attribute__((used)) void* (*const lazywq_relacy_new_array)(std::size_t) = &::operator new[];
__attribute__((used)) void (*const lazywq_relacy_delete)(void*) noexcept = &::operator delete;
__attribute__((used)) void (*const lazywq_relacy_delete_array)(void*) noexcept = &::operator delete[];

namespace lazywq::models {
namespace {

class NullBuf : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

struct ModelInfo {
  const char* name;
  const char* rules;
  const char* what;
  Outcome (*run)(rl::test_params&);
  uint64_t random_iterations;  // default budget of the random scheduler
  uint64_t bound_iterations;   // default budget of the context-bound search (0: random scheduler only, see nr_running)
};

const std::vector<ModelInfo>& models() {
  static const std::vector<ModelInfo> m = {
      {"creation_failure", "C7", "creation always fails after queue creation: cpu-1 works run once, on the core",
       &run_creation_failure, 30000, 30000},
      {"creation_retry", "C7", "first creation fails, retried after the cooldown: every work runs once",
       &run_creation_retry, 30000, 30000},
      {"idle_exit", "C8", "idle worker exit (a Relacy timeout) races two queueings: every queueing runs",
       &run_idle_exit, 30000, 30000},
      {"migration", "C9 C5", "core migrates A, B, C to cpu 1's new worker: none lost or duplicated, A before B",
       &run_migration, 30000, 30000},
      {"pending", "C1 C2", "self-requeue + concurrent queue_work: runs == accepted, a run follows every call",
       &run_pending, 30000, 30000},
      {"cancel", "C12", "two queue+cancel_work_sync threads vs a self-requeueing work: nothing left afterwards",
       &run_cancel, 30000, 30000},
      {"flush_migration", "C9 C10", "flush_work racing migration and worker creation: flush waits for the run",
       &run_flush_migration, 30000, 30000},
      {"stats", "plain fields", "stats read racing worker creation: every lock-guarded field is an rl::var",
       &run_stats, 20000, 20000},
      {"published_getters", "C14", "a thread that knows only a work's engine() or a queue's destroyed() sees what came before them",
       &run_published_getters, 4000, 3000},
      {"late_queue", "C16", "a callback flushes X while a thread it never synchronized with creates a queue and queues X there",
       &run_late_queue, 4000, 3000},
      // Random scheduler only: Debian's Relacy (2019) context_bound_scheduler
      // resumes a static thread that already finished when three dynamic
      // threads (the manager and two pool workers) are live, running its
      // thread function twice in one iteration (seen at iteration 1; the
      // random scheduler never does it in 20000 iterations).
      {"nr_running", "C16 C10", "shared pool: A flushes B queued behind it on its CPU; its wait lets another worker run B",
       &run_nr_running, 20000, 0},
      {"delayed", "C1 C10 C12", "delayed work armed, re-armed, cancelled and flushed at once: runs == queueings kept",
       &run_delayed, 6000, 6000},
      {"flush_drain", "C11 C14", "flush_workqueue and drain_workqueue racing queueings: each waits for its works",
       &run_flush_drain, 6000, 6000},
      {"hotplug", "C9 C13", "cpu 1 offline and online racing queueing and flush_work on a lazy queue",
       &run_hotplug, 6000, 6000},
      {"shared_hotplug", "C9 C13", "cpu 1 offline and online racing queueing and flush_work on a shared queue",
       &run_shared_hotplug, 6000, 0},
      {"ordered", "C5 C12", "ordered shared queue: inactive list, cancel_work_sync of a queued work, one run at a time",
       &run_ordered, 6000, 0},
      {"rescuer", "C7 C16", "shared pools whose worker creation always fails: the rescuer runs every work",
       &run_rescuer, 6000, 0},
      {"per_cpu", "C13 C4", "per_cpu queue: a worker per CPU at creation, again at once after cpu_online; no idle exit",
       &run_per_cpu, 4000, 3000},
      {"lazy_collision", "C3 C10", "lazy queue: works requeued for the other CPU while they run; the core skips, a worker waits",
       &run_lazy_collision, 4000, 3000},
      {"drain_timer", "C11 C14", "drain and destroy fire armed timers, one never due: each armed work runs once, after them",
       &run_drain_timer, 4000, 3000},
      // Random scheduler only, as nr_running: the context-bound search runs
      // thread 1's function a second time after it finished (iteration 1,
      // history: [THREAD FINISHED] then its queueings again), with the core,
      // CPU 1's worker and a re-created one live.
      {"flush_behind", "C10 C16", "callbacks flush works queued behind them (refused) and on the core (waited for): no cycle",
       &run_flush_behind, 4000, 0},
      {"cycle_per_cpu", "C16", "per_cpu queue, DependencyCheck::error: A flushes B, B flushes A: one wait refused, never a hang",
       &run_cycle_per_cpu, 4000, 3000},
      {"flush_own_pending", "C16", "DependencyCheck::error: W queues itself on Q2 and flushes Q2: refused, never a hang",
       &run_flush_own_pending, 4000, 3000},
      {"flush_racing_queue", "C10 C16", "W flushes X while another thread queues X behind W: refused or returned, never a hang",
       &run_flush_racing_queue, 4000, 3000},
      {"flush_rehomed", "C10 C16", "W flushes X, idle on W's queue, while another thread queues X on a second queue: never refused",
       &run_flush_rehomed, 4000, 3000},
      {"pending_handoff", "C1 C2 C3", "W moves between two queues; PENDING alone orders its owners: no data race, no lost run",
       &run_pending_handoff, 4000, 3000},
      {"cancel_handoff", "C1 C12", "a cancel takes W off one queue while another thread queues it on a second: PENDING orders them",
       &run_cancel_handoff, 4000, 3000},
      {"cycle_shared", "C16", "shared queue, DependencyCheck::error: A flushes B, B flushes A: one wait refused, never a hang",
       &run_cycle_shared, 4000, 0},
      {"misuse", "C10 C12 C14", "creation errors, self-flush/cancel, a throwing callback, works outliving the engine",
       &run_misuse, 4000, 3000},
      {"rescuer_chain", "C7 C16 C12", "the rescuer's cancel_work_sync/flush_work of a run that waits for it: refused, V intact",
       &run_rescuer_chain, 4000, 0},
      {"shared_collision", "C3 C13 C5", "shared: a work requeued while it runs (scheduled lists), cpu 1 offline meanwhile",
       &run_shared_collision, 4000, 0},
      {"watchdog", "C16 C15", "shared: a callback blocks where the engine cannot see; the stall watchdog lets the next one in",
       &run_watchdog, 4000, 0},
      {"rescuer_turn", "C12 C7", "the rescuer's cancel_work_sync takes turns with another cancel and waits for the run",
       &run_rescuer_turn, 4000, 0},
      {"rescuer_slots", "C7 C5 C11", "creation failing: the rescuer runs the slot holder an ordered queue's work waits behind",
       &run_rescuer_slots, 4000, 0},
      {"rescuer_behind", "C7 C3 C15", "creation failing for good: the rescuer runs a work queued behind one still running on an offline CPU's pool",
       &run_rescuer_behind, 4000, 0},
      {"rescuer_queue_flush", "C7 C16 C11", "the rescuer waits for a run whose pool thread flushes a leaf queue: it runs the leaf's work",
       &run_rescuer_queue_flush, 4000, 0},
      {"rescuer_single_flush", "C7 C11", "the rescuer flushes a single_thread queue whose work waits for a shared work: no lost wake-up in its sleep",
       &run_rescuer_single_flush, 4000, 0},
  };
  return m;
}

const char* kind_name(rl::test_result_e r) {
  switch (r) {
    case rl::test_result_success: return "success";
    case rl::test_result_user_assert_failed: return "user_assert_failed";
    case rl::test_result_user_invariant_failed: return "user_invariant_failed";
    case rl::test_result_data_race: return "data_race";
    case rl::test_result_access_to_freed_memory: return "access_to_freed_memory";
    case rl::test_result_double_free: return "double_free";
    case rl::test_result_memory_leak: return "memory_leak";
    case rl::test_result_resource_leak: return "resource_leak";
    case rl::test_result_unitialized_access: return "uninitialized_access";
    case rl::test_result_deadlock: return "deadlock";
    case rl::test_result_livelock: return "livelock";
    default: return rl::test_result_str(r);
  }
}

struct Options {
  std::string model = "all";
  std::string sched = "both";
  uint64_t iterations = 0;        // 0 = the model's default
  uint64_t bound_iterations = 0;  // 0 = the model's default
  unsigned context_bound = 2;
  std::string planted;
  std::string expect;
  bool oracle = true;
  bool history = false;
  uint64_t replay_iteration = 0;
  std::string replay_state;
  bool list = false;
  unsigned depth = 20000;
  bool coverage = false;
  std::string source_dir = LAZYWQ_MODELS_SOURCE_DIR;
  std::string json_path;  // --json: FILE, or "-" for stdout (then the text goes to stderr)
};

// --json: one record per model and scheduler run, in the shape of the other
// tools' reports (schema_version, tool, lazywq_version, commit).
nlohmann::json& json_runs() {
  static nlohmann::json runs = nlohmann::json::array();
  return runs;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string replay_command(const char* argv0, const ModelInfo& m, const Options& o, bool bound, const Outcome& r) {
  std::string cmd = std::string(argv0) + " --model " + m.name;
  if (!o.planted.empty()) cmd += " --planted " + o.planted;
  if (!o.oracle) cmd += " --no-oracle";
  if (bound)
    cmd += " --sched bound --context-bound " + std::to_string(o.context_bound) + " --state " + quote(r.state);
  else
    cmd += " --sched random --iteration " + std::to_string(r.stop_iteration);
  return cmd + " --history";
}

rl::test_params base_params(const Options& o, bool bound, NullBuf& nb, std::ostream& null_os) {
  (void)nb;
  rl::test_params p;
  p.output_stream = &std::cout;
  p.progress_stream = &null_os;
  p.execution_depth_limit = o.depth;
  p.search_type = bound ? rl::sched_bound : rl::sched_random;
  p.context_bound = o.context_bound;
  return p;
}

// Replays one iteration with Relacy's full history on stdout.
int replay(const ModelInfo& m, const Options& o) {
  NullBuf nb;
  std::ostream null_os(&nb);
  const bool bound = o.sched == "bound";
  rl::test_params p = base_params(o, bound, nb, null_os);
  p.collect_history = true;
  p.output_history = false;
  if (bound) {
    p.initial_state = rl::string(o.replay_state.c_str());
  } else {
    p.initial_state = rl::string((std::to_string(o.replay_iteration) + " ").c_str());
    p.iteration_count = o.replay_iteration;
  }
  run_config().iteration_budget = 0;
  std::printf("replaying model %s (%s scheduler)%s%s\n", m.name, bound ? "context-bound" : "random",
              o.planted.empty() ? "" : ", planted bug ", o.planted.c_str());
  std::fflush(stdout);
  Outcome r = m.run(p);
  std::cout.flush();
  std::printf("result: %s%s%s\n", kind_name(r.result), r.message.empty() ? "" : "\n  ", r.message.c_str());
  return r.result == rl::test_result_success ? 0 : 1;
}

// Runs a model under one scheduler. Returns the outcome; prints one line.
Outcome run_one(const char* argv0, const ModelInfo& m, const Options& o, bool bound, bool expect_failure) {
  NullBuf nb;
  std::ostream null_os(&nb);
  rl::test_params p = base_params(o, bound, nb, null_os);
  const uint64_t budget = bound ? (o.bound_iterations ? o.bound_iterations : m.bound_iterations)
                                : (o.iterations ? o.iterations : m.random_iterations);
  p.iteration_count = budget;
  run_config().iteration_budget = bound ? budget : 0;
  Outcome r = m.run(p);
  const char* sname = bound ? "context-bound" : "random";
  const double ips = r.seconds > 0 ? static_cast<double>(r.iterations) / r.seconds : 0.0;
  if (r.result == rl::test_result_success) {
    std::printf("model %-16s %-13s scheduler%s: %llu iterations%s in %.2f s, %.0f iterations/s: ok\n", m.name,
                sname, bound ? (" (bound " + std::to_string(o.context_bound) + ")").c_str() : "",
                static_cast<unsigned long long>(r.iterations),
                bound ? (r.budget_hit ? " (budget)" : " (tree exhausted)") : "", r.seconds, ips);
  } else {
    std::printf("model %-16s %-13s scheduler: %s %s at iteration %llu (%.2f s, %.0f iterations/s)%s%s\n", m.name,
                sname, expect_failure ? "caught (expected):" : "FAILED:", kind_name(r.result),
                static_cast<unsigned long long>(r.stop_iteration), r.seconds, ips,
                r.message.empty() ? "" : "\n  ", r.message.c_str());
    std::printf("  replay with full history: %s\n", replay_command(argv0, m, o, bound, r).c_str());
  }
  std::fflush(stdout);
  nlohmann::json j = {{"model", m.name},
                      {"rules", m.rules},
                      {"scheduler", bound ? "bound" : "random"},
                      {"result", r.result == rl::test_result_success ? "ok" : kind_name(r.result)},
                      {"iterations", r.iterations},
                      {"seconds", r.seconds}};
  if (bound) {
    j["context_bound"] = o.context_bound;
    j["budget_hit"] = r.budget_hit;
  }
  if (r.result != rl::test_result_success) {
    j["expected"] = expect_failure;
    j["stop_iteration"] = std::to_string(r.stop_iteration);
    j["message"] = r.message;
    j["replay"] = replay_command(argv0, m, o, bound, r);
  }
  json_runs().push_back(std::move(j));
  return r;
}

// Checked on the text: CLI11 converts "-1" to an unsigned by wrapping it.
std::string digits_only(const std::string& v) {
  return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos ? std::string()
                                                                              : "'" + v + "' is not a number >= 0";
}

// --coverage: runs every model (random scheduler, then the context-bound
// search) for a modest budget, then prints which of the engine's atomic
// and Var sites the runs reached (models/coverage.hpp). Fails when a model
// fails, when a site is reached that the source scan did not list, or when
// the unreached sites are not exactly the allowlisted ones
// (models/coverage_allowlist.txt, each with its reason).
int run_coverage(const char* argv0, const std::vector<const ModelInfo*>& chosen, Options o) {
  using namespace coverage;
  if (o.iterations == 0) o.iterations = 1500;
  if (o.bound_iterations == 0) o.bound_iterations = 500;
  int failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  for (const ModelInfo& m : models()) names.push_back(m.name);
  for (const ModelInfo* m : chosen) {
    set_model(static_cast<int>(m - models().data()));
    for (int s = 0; s < 2; ++s) {
      const bool bound = s == 1;
      if ((bound && o.sched == "random") || (!bound && o.sched == "bound")) continue;
      if (bound && m->bound_iterations == 0) continue;
      if (run_one(argv0, *m, o, bound, false).result != rl::test_result_success) ++failures;
    }
  }
  set_model(-1);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::string error;
  const std::string engine_dir = o.source_dir + "/engine/include/lazywq";
  std::vector<Site> sites = scan_sites(engine_dir, &error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  const std::map<SiteKey, uint32_t> atomics = reached_atomics();
  const std::map<SiteKey, uint32_t> vars = reached_vars(&error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  if (tables().overflow) {
    std::printf("coverage: the recording tables overflowed (models/coverage.hpp)\n");
    return 1;
  }
  // Sites reached at run time but missing from the scan: the scan is wrong.
  std::set<std::pair<SiteKind, SiteKey>> listed;
  for (Site& st : sites) {
    const SiteKey key{st.file, st.line};
    listed.insert({st.kind, key});
    const auto& reached = st.kind == SiteKind::atomic ? atomics : vars;
    auto it = reached.find(key);
    if (it != reached.end()) st.models = it->second | 0x80000000u;
  }
  int unlisted = 0;
  for (const auto* reached : {&atomics, &vars}) {
    const SiteKind kind = reached == &atomics ? SiteKind::atomic : SiteKind::var;
    for (const auto& [key, mask] : *reached) {
      (void)mask;
      if (listed.count({kind, key}) != 0) continue;
      std::printf("coverage: %s site %s:%u reached but not found by the source scan\n", kind_str(kind),
                  key.first.c_str(), key.second);
      ++unlisted;
    }
  }

  auto model_list = [&](uint32_t mask) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 31; ++i)
      if (mask & (1u << i)) out += (out.empty() ? "" : ",") + names[i];
    return out.empty() ? std::string("-") : out;
  };
  std::printf("\n%-7s %-6s %-22s %-34s %s\n", "reached", "kind", "site", "operations / fields", "models");
  int total[2] = {0, 0}, hit[2] = {0, 0};
  for (const Site& st : sites) {
    const int k = st.kind == SiteKind::atomic ? 0 : 1;
    ++total[k];
    const bool r = st.models != 0;
    hit[k] += r ? 1 : 0;
    const std::string where = st.file + ":" + std::to_string(st.line);
    std::printf("%-7s %-6s %-22s %-34s %s\n", r ? "yes" : "NO", kind_str(st.kind), where.c_str(), st.what.c_str(),
                r ? model_list(st.models).c_str() : "-");
  }

  std::vector<Allowed> allow = read_allowlist(o.source_dir + "/models/coverage_allowlist.txt", &error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  int unexpected = 0;
  std::printf("\nnever reached:\n");
  for (const Site& st : sites) {
    if (st.models != 0) continue;
    Allowed* why = nullptr;
    for (Allowed& a : allow)
      if (a.kind == st.kind && a.file == st.file && st.text.find(a.pattern) != std::string::npos) {
        why = &a;
        ++a.matched;
        break;
      }
    std::printf("  %-6s %s:%u  %s\n         %s\n", kind_str(st.kind), st.file.c_str(), st.line, st.text.c_str(),
                why ? ("allowlisted: " + why->reason).c_str() : "NOT ALLOWLISTED");
    if (why == nullptr) ++unexpected;
  }
  int stale = 0;
  for (const Allowed& a : allow) {
    if (a.matched != 0) continue;
    std::printf("coverage: allowlist entry `%s %s %s` matches no unreached site (reached now, or gone): remove it\n",
                kind_str(a.kind), a.file.c_str(), a.pattern.c_str());
    ++stale;
  }
  std::printf("\ncoverage: atomic sites reached %d/%d, Var sites reached %d/%d (%zu models, %.1f s)\n", hit[0],
              total[0], hit[1], total[1], chosen.size(), secs);
  const bool whole = chosen.size() == models().size() && o.sched == "both";
  if (!whole) {
    std::printf("coverage: a subset of the models or schedulers: the allowlist is not checked\n");
    return failures == 0 && unlisted == 0 ? 0 : 1;
  }
  std::printf("coverage: %d model failures, %d unlisted sites, %d unreached sites not allowlisted, %d stale "
              "allowlist entries: %s\n",
              failures, unlisted, unexpected, stale,
              failures + unlisted + unexpected + stale == 0 ? "ok" : "FAILED");
  return failures + unlisted + unexpected + stale == 0 ? 0 : 1;
}

int main_impl(int argc, char** argv) {
  Options o;
  CLI::App app{
      "lazywq_models: Relacy models of the engine's own protocol code (the real engine templates on a Relacy "
      "platform). Each model runs under Relacy's random scheduler and its context-bound search; a failure prints "
      "Relacy's verdict and the command that replays that iteration with the full execution history."};
  app.set_version_flag("--version", lazywq::tools::version_line("lazywq_models"));
  app.add_flag("--list", o.list, "List the models and the contract rules each one checks, then exit");
  app.add_option("--model", o.model, "A model name (see --list), or all")->capture_default_str();
  app.add_option("--sched", o.sched, "Schedulers: random, bound (context-bound search) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "bound", "both"}));
  app.add_option("--iterations", o.iterations, "Iterations of the random scheduler (0: the model's default)")
      ->check(digits_only);
  app.add_option("--bound-iterations", o.bound_iterations,
                 "Iteration budget of the context-bound search (0: the model's default)")
      ->check(digits_only);
  app.add_option("--context-bound", o.context_bound, "Preemptions per execution of the context-bound search")
      ->capture_default_str()
      ->check(digits_only)
      ->check(CLI::Range(0u, 64u));
  app.add_option("--depth", o.depth, "Relacy's execution depth limit (steps per execution)")
      ->capture_default_str()
      ->check(digits_only)
      ->check(CLI::Range(1u, 100000000u));
  app.add_option("--planted", o.planted, "Switch on a planted bug by name (planted-bug build only)");
  app.add_option("--expect", o.expect,
                 "With --planted: succeed only if the bug is caught as this Relacy failure kind "
                 "(user_assert_failed, deadlock, data_race, ...), one of several (deadlock|user_assert_failed), "
                 "or any");
  app.add_flag("--no-oracle", [&](int64_t) { o.oracle = false; }, "Do not run the contract oracle on each iteration's events");
  app.add_flag("--history", o.history, "Replay with Relacy's full execution history (with --iteration or --state)");
  app.add_option("--iteration", o.replay_iteration, "Replay this iteration of the random scheduler")
      ->check(digits_only)
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("--state", o.replay_state, "Replay this state of the context-bound search");
  app.add_flag("--coverage", o.coverage,
               "Run the models for a modest budget (--iterations, default 1500; --bound-iterations, default 500) "
               "and print which of the engine's atomic and Var sites they reach; fail when an unreached site is "
               "not in models/coverage_allowlist.txt");
  app.add_option("--source-dir", o.source_dir, "The repository (engine sources and the allowlist), for --coverage")
      ->capture_default_str();
  app.add_option("--json", o.json_path,
                 "Write the runs as JSON to this file ('-' for stdout: the JSON alone, the text to stderr); "
                 "model runs only (not --list, --coverage or a replay)");
  app.footer(
      "Examples:\n"
      "  lazywq_models --list\n"
      "  lazywq_models --model idle_exit --sched random --iterations 20000\n"
      "  lazywq_models --model pending --planted clear_pending_after_run --expect user_assert_failed\n"
      "  lazywq_models --model migration --sched random --iteration 17 --history\n"
      "Exit codes: 0 every model passed (or, with --planted/--expect, caught the bug), 1 a failure, 2 bad usage.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.list) {
    for (const auto& m : models()) std::printf("%-16s %-6s %s\n", m.name, m.rules, m.what);
    return 0;
  }
  RunConfig& rc = run_config();
  rc.oracle = o.oracle;
  if (!o.planted.empty()) {
#if !defined(LAZYWQ_ENABLE_PLANTED_BUGS)
    std::fprintf(stderr, "--planted needs the planted-bug build (cmake -DLAZYWQ_PLANTED_BUGS=ON)\n");
    return 2;
#else
    try {
      rc.planted = planted_bug_from_string(o.planted);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
#endif
  }
  std::vector<const ModelInfo*> chosen;
  for (const auto& m : models())
    if (o.model == "all" || o.model == m.name) chosen.push_back(&m);
  if (chosen.empty()) {
    std::fprintf(stderr, "unknown model '%s' (see --list)\n", o.model.c_str());
    return 2;
  }

  if (o.history || o.replay_iteration != 0 || !o.replay_state.empty()) {
    if (chosen.size() != 1 || o.sched == "both" || (o.sched == "random" && o.replay_iteration == 0) ||
        (o.sched == "bound" && o.replay_state.empty())) {
      std::fprintf(stderr, "replay needs --model NAME and --sched random --iteration N, or --sched bound --state S\n");
      return 2;
    }
    return replay(*chosen.front(), o);
  }

  if (o.coverage) return run_coverage(argv[0], chosen, o);

  FILE* json_out = nullptr;
  try {
    json_out = lazywq::tools::open_json_output(o.json_path);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const bool expect_failure = !o.planted.empty() && !o.expect.empty();
  int failures = 0;
  for (const ModelInfo* m : chosen) {
    bool caught = false;
    std::string kind;
    for (int s = 0; s < 2; ++s) {
      const bool bound = s == 1;
      if ((bound && o.sched == "random") || (!bound && o.sched == "bound")) continue;
      if (bound && m->bound_iterations == 0) {
        std::printf("model %-16s context-bound scheduler: skipped (not usable with this model, see models.cpp)\n", m->name);
        continue;
      }
      Outcome r = run_one(argv[0], *m, o, bound, expect_failure);
      if (r.result != rl::test_result_success) {
        caught = true;
        kind = kind_name(r.result);
        if (!expect_failure) ++failures;
        if (expect_failure) break;  // one scheduler finding it is enough
      }
    }
    if (expect_failure) {
      if (!caught) {
        std::printf("model %s: planted bug %s NOT caught\n", m->name, o.planted.c_str());
        ++failures;
      } else if (o.expect != "any" && ("|" + o.expect + "|").find("|" + kind + "|") == std::string::npos) {
        std::printf("model %s: planted bug %s caught as %s, expected %s\n", m->name, o.planted.c_str(),
                    kind.c_str(), o.expect.c_str());
        ++failures;
      }
    }
  }
  if (json_out) {
    nlohmann::json j = {{"schema_version", 2},
                        {"tool", "lazywq_models"},
                        {"lazywq_version", lazywq::tools::lazywq_version()},
                        {"commit", lazywq::tools::build_commit()},
                        {"planted", o.planted},
                        {"expect", o.expect},
                        {"failures", failures},
                        {"runs", json_runs()}};
    std::fprintf(json_out, "%s\n", j.dump(2).c_str());
    std::fclose(json_out);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lazywq::models

int main(int argc, char** argv) { return lazywq::models::main_impl(argc, argv); }
