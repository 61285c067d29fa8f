// lazywq-demo: reproduces the headline of Jens Axboe's "Lazy workqueues"
// (LKML, August 2009). On his test box the lazy patches cut the kernel's
// workqueue threads from 531 to 280 (a 47% cut), because most per-CPU
// workqueue threads never see any work.
//
// Here: N workqueues on M virtual CPUs (default 64 on 8) with a sparse
// workload: every queue has one or two "home" CPUs, drawn from --seed, and
// now and then gets a tiny work on them. The same workload runs once with
// per_cpu queues (eager: one thread per CPU from creation, the 2009
// baseline) and once with lazy queues (a core thread, workers created on
// demand, idle workers exit), each in its own Engine. The demo prints the
// live thread counts side by side, then waits past the idle timeout and
// prints them again, and checks the expectations:
//   - under the workload, lazy uses at most 53% of per_cpu's threads;
//   - once idle, lazy falls back to one thread (the core) per queue.
// Exit status: 0 when both hold, 1 when one fails, 2 on a usage or engine
// error.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "tools/build_info.hpp"

namespace {

// Axboe's figures from the 2009 posting, for reference.
constexpr int kSeedPerCpuThreads = 531;
constexpr int kSeedLazyThreads = 280;
// The bound: lazy may use at most this share of per_cpu's threads.
constexpr double kMaxLazyShare = 0.53;

struct Options {
  int queues = 64;
  int cpus = 8;
  int rounds = 5;
  int gap_ms = 10;
  int idle_timeout_ms = 200;
  uint64_t seed = 1;
};

// The workload: for each queue, its 1-2 home CPUs. Drawn once from the
// seed so both kinds see exactly the same work.
using Homes = std::vector<std::vector<int>>;

Homes draw_homes(const Options& o) {
  std::mt19937_64 rng(o.seed);
  Homes homes(static_cast<size_t>(o.queues));
  for (auto& h : homes) {
    const int n = (o.cpus >= 2 && (rng() & 1u)) ? 2 : 1;
    while (static_cast<int>(h.size()) < n) {
      const int cpu = static_cast<int>(rng() % static_cast<uint64_t>(o.cpus));
      if (std::find(h.begin(), h.end(), cpu) == h.end()) h.push_back(cpu);
    }
    std::sort(h.begin(), h.end());
  }
  return homes;
}

// One kind's engine, its queues and works, and what we measured.
struct Run {
  explicit Run(lazywq::WqKind k) : kind(k) {}
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  const lazywq::WqKind kind;
  std::unique_ptr<lazywq::Engine> engine;
  std::vector<lazywq::Workqueue*> queues;
  // Declared after `engine`, destroyed before it: a Work must outlive its
  // runs, and its destructor cancels synchronously through the engine.
  std::vector<std::unique_ptr<lazywq::Work>> works;
  std::vector<size_t> first_work;  // index into `works` of each queue's first work
  std::atomic<uint64_t> callbacks{0};

  int live_after_create = 0;
  int live_under_load = 0;
  int min_per_queue = 0, max_per_queue = 0;
  int live_after_idle = 0;
  int max_cpu_pool_workers = 0;  // shared: the largest per-CPU pool under the workload
  int unbound_pool_workers = 0;  // shared: the unbound pool's workers under the workload
  double load_ms = 0;
  lazywq::Stats final_stats;

  ~Run() {
    works.clear();  // before the engine, see above
    engine.reset();
  }
};

int live_threads(const Run& r) { return r.engine->stats().live_threads; }

void run_workload(Run& r, const Options& o, const Homes& homes) {
  lazywq::EngineConfig cfg;
  cfg.ncpus = o.cpus;
  cfg.idle_timeout = std::chrono::milliseconds(o.idle_timeout_ms);
  r.engine = std::make_unique<lazywq::Engine>(cfg);

  const std::string prefix = std::string(lazywq::to_string(r.kind)) + "-wq-";
  for (int q = 0; q < o.queues; ++q) {
    r.queues.push_back(&r.engine->create_workqueue(prefix + std::to_string(q), r.kind));
    r.first_work.push_back(r.works.size());
    for (int cpu : homes[static_cast<size_t>(q)]) {
      (void)cpu;
      r.works.push_back(std::make_unique<lazywq::Work>(
          [&r](lazywq::Work&) { r.callbacks.fetch_add(1, std::memory_order_relaxed); }));
    }
  }
  r.live_after_create = live_threads(r);

  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < o.rounds; ++round) {
    if (round > 0 && o.gap_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));  // "now and then"
    for (int q = 0; q < o.queues; ++q) {
      const auto& h = homes[static_cast<size_t>(q)];
      for (size_t i = 0; i < h.size(); ++i)
        lazywq::queue_work_on(h[i], *r.queues[static_cast<size_t>(q)],
                              *r.works[r.first_work[static_cast<size_t>(q)] + i]);
    }
    for (auto* wq : r.queues) lazywq::flush_workqueue(*wq);
  }
  r.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  const lazywq::Stats s = r.engine->stats();
  r.live_under_load = s.live_threads;
  for (const auto& p : s.pools) {
    if (p.cpu < 0) r.unbound_pool_workers = p.workers;
    else r.max_cpu_pool_workers = std::max(r.max_cpu_pool_workers, p.workers);
  }
  r.min_per_queue = r.max_per_queue = r.queues.front()->live_threads();
  for (auto* wq : r.queues) {
    r.min_per_queue = std::min(r.min_per_queue, wq->live_threads());
    r.max_per_queue = std::max(r.max_per_queue, wq->live_threads());
  }
}

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * x);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "lazywq-demo: per_cpu vs lazy vs shared workqueues, thread counts side by side.\n"
      "Reproduces the headline of Jens Axboe's \"Lazy workqueues\" (LKML, 2009),\n"
      "where lazy workqueues cut 531 kernel threads to 280 (47%). Every queue\n"
      "gets tiny works on one or two home CPUs (drawn from --seed) in a few\n"
      "rounds; the demo prints live threads under that workload and after the\n"
      "idle timeout, and checks: lazy <= 53% of per_cpu's threads under load,\n"
      "one thread per lazy queue once idle; shared (Weisbecker's answer, the\n"
      "engine's concurrency-managed pools) at most 2 workers per CPU under load\n"
      "and only the pools' manager and rescuer once idle. Exit 1 if a check fails."};
  app.set_version_flag("--version", lazywq::tools::version_line("lazywq-demo"));
  app.add_option("--queues", o.queues, "Number of workqueues of each kind")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--cpus", o.cpus, "Number of virtual CPUs of each engine")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--rounds", o.rounds, "Rounds of work; each queues one work per home CPU, then flushes")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--gap-ms", o.gap_ms, "Pause between rounds, in ms (keep it below the idle timeout)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms, "Idle timeout of lazy workers, in ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--seed", o.seed, "Seed that chooses every queue's home CPUs (0 .. 2^64-1)")
      ->capture_default_str()
      // Checked on the text: converted, -1 would wrap to 2^64-1 silently.
      ->check([](const std::string& v) {
        const std::string bad = "seed '" + v + "' must be a number from 0 to 2^64-1";
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return bad;
        try {
          (void)std::stoull(v);
        } catch (const std::out_of_range&) {
          return bad;
        }
        return std::string();
      });
  std::string json_path;
  app.add_option("--json", json_path,
                 "Write the figures and the checks as JSON to this file ('-' for stdout: the JSON alone, the "
                 "table to stderr)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints the help or the message
    return rc == 0 ? 0 : 2;
  }
  FILE* json_out = nullptr;
  try {
    json_out = lazywq::tools::open_json_output(json_path);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "lazywq-demo: %s\n", e.what());
    return 2;
  }

  try {
    const Homes homes = draw_homes(o);
    size_t pairs = 0, two = 0, lazy_expected = 0;
    for (const auto& h : homes) {
      pairs += h.size();
      two += h.size() == 2;
      // C6: the core thread (which serves CPU 0) plus one worker per other home CPU.
      lazy_expected += 1 + static_cast<size_t>(std::count_if(h.begin(), h.end(), [](int c) { return c != 0; }));
    }

    std::printf("lazywq-demo: %d workqueues on %d virtual CPUs, %d rounds %d ms apart, "
                "idle timeout %d ms, seed %llu\n",
                o.queues, o.cpus, o.rounds, o.gap_ms, o.idle_timeout_ms,
                static_cast<unsigned long long>(o.seed));
    std::printf("workload: %zu (queue, CPU) pairs; %zu queues work on 2 CPUs, %zu on 1; "
                "one tiny work per pair per round, then flush_workqueue on every queue\n\n",
                pairs, two, static_cast<size_t>(o.queues) - two);

    Run per_cpu{lazywq::WqKind::per_cpu};
    Run lazy{lazywq::WqKind::lazy};
    Run shared{lazywq::WqKind::shared};
    run_workload(per_cpu, o, homes);
    run_workload(lazy, o, homes);
    run_workload(shared, o, homes);
    const auto load_end = std::chrono::steady_clock::now();

    // Past the idle timeout: poll until every lazy queue is down to its
    // core thread, or give up at 20 idle timeouts. Wait at least 1.5 idle
    // timeouts in any case, so per_cpu has had the same chance to shrink.
    const auto idle = std::chrono::milliseconds(o.idle_timeout_ms);
    const auto min_wait = idle + idle / 2;
    const auto deadline = load_end + idle * 20;
    auto now = std::chrono::steady_clock::now();
    while (now < deadline) {
      if (now - load_end >= min_wait && live_threads(lazy) <= o.queues && live_threads(shared) <= 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      now = std::chrono::steady_clock::now();
    }
    const double waited_ms = std::chrono::duration<double, std::milli>(now - load_end).count();
    per_cpu.live_after_idle = live_threads(per_cpu);
    lazy.live_after_idle = live_threads(lazy);
    shared.live_after_idle = live_threads(shared);
    per_cpu.final_stats = per_cpu.engine->stats();
    lazy.final_stats = lazy.engine->stats();
    shared.final_stats = shared.engine->stats();

    const double share = static_cast<double>(lazy.live_under_load) / per_cpu.live_under_load;
    const double idle_share = static_cast<double>(lazy.live_after_idle) / per_cpu.live_after_idle;
    const double seed_share = static_cast<double>(kSeedLazyThreads) / kSeedPerCpuThreads;

    std::printf("%-36s %10s %10s %10s %14s %14s\n", "live threads", "per_cpu", "lazy", "shared", "lazy/per_cpu",
                "shared/per_cpu");
    auto share_of = [](int a, int b) { return pct(static_cast<double>(a) / b); };
    std::printf("%-36s %10d %10d %10d %14s %14s\n", "after create_workqueue", per_cpu.live_after_create,
                lazy.live_after_create, shared.live_after_create,
                share_of(lazy.live_after_create, per_cpu.live_after_create).c_str(),
                share_of(shared.live_after_create, per_cpu.live_after_create).c_str());
    std::printf("%-36s %10d %10d %10d %14s %14s\n", "under the workload", per_cpu.live_under_load,
                lazy.live_under_load, shared.live_under_load, pct(share).c_str(),
                share_of(shared.live_under_load, per_cpu.live_under_load).c_str());
    char label[64];
    std::snprintf(label, sizeof label, "after idle (%.0f ms later)", waited_ms);
    std::printf("%-36s %10d %10d %10d %14s %14s\n", label, per_cpu.live_after_idle, lazy.live_after_idle,
                shared.live_after_idle, pct(idle_share).c_str(),
                share_of(shared.live_after_idle, per_cpu.live_after_idle).c_str());
    std::printf("%-36s %10d %10d %10s %14s  (a %s cut)\n", "seed, Axboe 2009 (for reference)",
                kSeedPerCpuThreads, kSeedLazyThreads, "-", pct(seed_share).c_str(), pct(1.0 - seed_share).c_str());
    std::printf("\n%-36s %10s %10s %10s\n", "threads per queue under the workload", "per_cpu", "lazy", "shared");
    std::printf("%-36s %10d %10d %10s\n", "  min", per_cpu.min_per_queue, lazy.min_per_queue, "0");
    std::printf("%-36s %10.2f %10.2f %10s\n", "  mean",
                static_cast<double>(per_cpu.live_under_load) / o.queues,
                static_cast<double>(lazy.live_under_load) / o.queues, "0");
    std::printf("%-36s %10d %10d %10s\n", "  max", per_cpu.max_per_queue, lazy.max_per_queue, "0");
    std::printf("  (lazy expected: one core per queue + one worker per home CPU other than CPU 0 = %zu)\n",
                lazy_expected);
    std::printf("  (shared: no thread of its own; the engine's pools: at most %d worker(s) on one CPU, "
                "%d unbound, plus the manager and the rescuer)\n",
                shared.max_cpu_pool_workers, shared.unbound_pool_workers);

    const auto& ps = per_cpu.final_stats;
    const auto& ls = lazy.final_stats;
    const auto& ss = shared.final_stats;
    auto row = [](const char* name, uint64_t a, uint64_t b, uint64_t c) {
      std::printf("%-36s %10llu %10llu %10llu\n", name, static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b), static_cast<unsigned long long>(c));
    };
    std::printf("\n%-36s %10s %10s %10s\n", "engine stats (after idle)", "per_cpu", "lazy", "shared");
    row("threads created", ps.threads_created, ls.threads_created, ss.threads_created);
    row("threads exited (joined)", ps.threads_exited, ls.threads_exited, ss.threads_exited);
    row("idle exits", ps.idle_exits, ls.idle_exits, ss.idle_exits);
    row("works run", ps.works_run, ls.works_run, ss.works_run);
    row("callbacks seen by the demo", per_cpu.callbacks.load(), lazy.callbacks.load(), shared.callbacks.load());
    row("migrations (core -> worker)", ps.migrations, ls.migrations, ss.migrations);
    row("fallbacks (run on the core)", ps.fallbacks, ls.fallbacks, ss.fallbacks);
    row("spawn failures", ps.spawn_failures, ls.spawn_failures, ss.spawn_failures);
    std::printf("%-36s %10.1f %10.1f %10.1f\n", "workload wall time (ms)", per_cpu.load_ms, lazy.load_ms,
                shared.load_ms);

    const uint64_t expected_runs = static_cast<uint64_t>(pairs) * static_cast<uint64_t>(o.rounds);
    if (ps.works_run != expected_runs || ls.works_run != expected_runs || ss.works_run != expected_runs)
      std::printf("\nnote: expected %llu works run per kind (pairs x rounds)\n",
                  static_cast<unsigned long long>(expected_runs));
    if (per_cpu.live_after_idle != per_cpu.live_under_load)
      std::printf("\nnote: per_cpu thread count changed after idle (%d -> %d)\n",
                  per_cpu.live_under_load, per_cpu.live_after_idle);

    const bool ok_load = share <= kMaxLazyShare;
    const bool ok_idle = lazy.live_after_idle == o.queues;
    std::printf("\n%s  lazy uses at most %.0f%% of per_cpu's threads under the workload "
                "(%d of %d = %s)\n",
                ok_load ? "PASS" : "FAIL", 100.0 * kMaxLazyShare, lazy.live_under_load,
                per_cpu.live_under_load, pct(share).c_str());
    std::printf("%s  lazy falls back to one thread per queue once idle (%d threads for %d queues, "
                "%.0f ms after the workload)\n",
                ok_idle ? "PASS" : "FAIL", lazy.live_after_idle, o.queues, waited_ms);
    // Issue #8's expectation for the sparse workload: concurrency
    // management keeps at most 2 workers per CPU (plus the unbound pool's).
    const bool ok_shared = shared.max_cpu_pool_workers <= 2;
    const bool ok_shared_idle = shared.live_after_idle == 2;
    std::printf("%s  shared keeps at most 2 workers per CPU under the workload (largest CPU pool: %d; "
                "%d threads in all, the manager, the rescuer and %d unbound included)\n",
                ok_shared ? "PASS" : "FAIL", shared.max_cpu_pool_workers, shared.live_under_load,
                shared.unbound_pool_workers);
    std::printf("%s  shared falls back to the pools' manager and rescuer once idle (%d threads)\n",
                ok_shared_idle ? "PASS" : "FAIL", shared.live_after_idle);
    std::fflush(stdout);
    const bool pass = ok_load && ok_idle && ok_shared && ok_shared_idle;
    if (json_out) {
      auto kind = [&](const Run& r) {
        const auto& st = r.final_stats;
        return nlohmann::json{{"after_create", r.live_after_create},
                              {"under_load", r.live_under_load},
                              {"after_idle", r.live_after_idle},
                              {"min_per_queue", r.min_per_queue},
                              {"max_per_queue", r.max_per_queue},
                              {"threads_created", st.threads_created},
                              {"threads_exited", st.threads_exited},
                              {"idle_exits", st.idle_exits},
                              {"works_run", st.works_run},
                              {"migrations", st.migrations},
                              {"fallbacks", st.fallbacks},
                              {"spawn_failures", st.spawn_failures},
                              {"load_ms", r.load_ms}};
      };
      nlohmann::json j = {{"schema_version", 2},
                          {"tool", "lazywq-demo"},
                          {"lazywq_version", lazywq::tools::lazywq_version()},
                          {"commit", lazywq::tools::build_commit()},
                          {"config",
                           {{"queues", o.queues},
                            {"cpus", o.cpus},
                            {"rounds", o.rounds},
                            {"gap_ms", o.gap_ms},
                            {"idle_timeout_ms", o.idle_timeout_ms},
                            {"seed", std::to_string(o.seed)}}},
                          {"waited_after_load_ms", waited_ms},
                          {"per_cpu", kind(per_cpu)},
                          {"lazy", kind(lazy)},
                          {"shared", kind(shared)},
                          {"shared_max_cpu_pool_workers", shared.max_cpu_pool_workers},
                          {"seed_2009", {{"per_cpu", kSeedPerCpuThreads}, {"lazy", kSeedLazyThreads}}},
                          {"checks",
                           {{{"check", "lazy under load <= 53% of per_cpu"}, {"pass", ok_load}},
                            {{"check", "lazy idle: one thread per queue"}, {"pass", ok_idle}},
                            {{"check", "shared: at most 2 workers per CPU under load"}, {"pass", ok_shared}},
                            {{"check", "shared idle: the manager and the rescuer"}, {"pass", ok_shared_idle}}}},
                          {"pass", pass}};
      std::fprintf(json_out, "%s\n", j.dump(2).c_str());
      std::fclose(json_out);
    }
    return pass ? 0 : 1;
  } catch (const lazywq::Error& e) {
    std::fprintf(stderr, "lazywq-demo: engine error (%s): %s\n",
                 std::string(lazywq::to_string(e.code())).c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lazywq-demo: %s\n", e.what());
    return 2;
  }
}
