// The benchmarks, each a template over the pool (pools.hpp), so every pool
// runs the same measuring code and the same task body.
#include "benchmarks.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>

namespace lazywq_bench {

using nlohmann::json;

void BenchOptions::make_quick() {
  burst_tasks = 20'000;
  roundtrip_samples = 200;
  trickle_seconds = 0.05;
  trickle_warmup_ticks = 5;
  idle_seconds = 0.05;
  idle_timeout = std::chrono::milliseconds(20);
  timeline_after_burst_seconds = 0.1;
  timeline_burst_tasks = 2'000;
  timeline_period_ms = 2;
}

const std::vector<PoolInfo>& pool_infos() {
  static const std::vector<PoolInfo> infos = [] {
    std::vector<PoolInfo> v;
    for (lazywq::WqKind kind : kLazywqKinds) {
      const std::string k(lazywq::to_string(kind));
      v.push_back({"lazywq-" + k, "lazywq " + k, true, false});
    }
    v.push_back({"tbb", "oneTBB", false, true});
    v.push_back({"asio", "asio", false, false});
    v.push_back({"glib", "GLib", false, true});
    v.push_back({"eigen", "Eigen", false, false});
    v.push_back({"mutex-cv", "mutex+cv", false, false});
    return v;
  }();
  return infos;
}

std::string raw_file_name(const std::string& metric, const std::string& pool, const std::string& tag) {
  return fmt::format("{}__{}{}.raw.json", metric, pool, tag);
}

namespace {

BenchOptions g_options;  // set once by register_benchmarks, before any run

void write_raw(const std::string& metric, const std::string& pool, const json& data) {
  if (g_options.raw_dir.empty()) return;
  const std::string path = g_options.raw_dir + "/" + raw_file_name(metric, pool, g_options.raw_tag);
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << data.dump() << '\n';
}

void report_percentiles(benchmark::State& state, const std::string& prefix, const std::vector<int64_t>& samples) {
  state.counters[prefix + "p50_ns"] = percentile(samples, 50);
  state.counters[prefix + "p90_ns"] = percentile(samples, 90);
  state.counters[prefix + "p99_ns"] = percentile(samples, 99);
  state.counters[prefix + "max_ns"] = percentile(samples, 100);
  state.counters[prefix + "mean_ns"] = mean(samples);
}

// A task that only counts itself done: the cheapest useful body, so a
// burst measures the pool, not the work.
TaskBody arrive_body(Completion& done) {
  return {[](void* c, std::size_t) { static_cast<Completion*>(c)->arrive(); }, &done};
}

// Submits slots [begin, end) from the calling thread.
template <class Pool>
void submit_range(Pool& pool, std::size_t begin, std::size_t end) {
  for (std::size_t slot = begin; slot < end; ++slot) pool.submit(slot);
}

// --- burst throughput -------------------------------------------------------
// N tiny tasks as fast as `producers` threads can submit them; the round
// ends when the last task has run. Manual time: submit of the first task to
// the end of the last. One untimed round first (threads started, lazywq
// workers created, TBB's market up, allocator caches warm).
template <class Pool>
void burst(benchmark::State& state, PoolConfig cfg, int producers) {
  const auto tasks = static_cast<std::size_t>(g_options.burst_tasks);
  Completion done;
  Pool pool(cfg, arrive_body(done), tasks);

  // Helper producers wait at `round_start`; the benchmark thread is
  // producer 0. `stopping` ends them after the last round.
  std::barrier round_start(producers);
  std::atomic<bool> stopping{false};
  std::vector<std::thread> helpers;
  auto share = [&](int producer) {
    return std::pair{tasks * static_cast<std::size_t>(producer) / static_cast<std::size_t>(producers),
                     tasks * static_cast<std::size_t>(producer + 1) / static_cast<std::size_t>(producers)};
  };
  for (int p = 1; p < producers; ++p)
    helpers.emplace_back([&, p] {
      for (;;) {
        round_start.arrive_and_wait();
        if (stopping.load(std::memory_order_acquire)) return;
        auto [begin, end] = share(p);
        submit_range(pool, begin, end);
      }
    });
  auto round = [&] {
    done.reset(static_cast<int64_t>(tasks));
    const int64_t start = now_ns();
    round_start.arrive_and_wait();
    auto [begin, end] = share(0);
    submit_range(pool, begin, end);
    done.wait();
    return now_ns() - start;
  };

  round();  // warm-up
  int64_t total_ns = 0;
  int64_t rounds = 0;
  // CPU time and context switches of the whole process over the timed
  // rounds: what the throughput costs, and much less sensitive than wall
  // time to whatever else the machine is running.
  const int64_t cpu_start = process_cpu_ns();
  const int64_t switches_start = process_context_switches();
  for (auto _ : state) {
    const int64_t ns = round();
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
    total_ns += ns;
    ++rounds;
  }
  const double total_tasks = static_cast<double>(tasks) * static_cast<double>(rounds);
  state.counters["cpu_ns_per_task"] = static_cast<double>(process_cpu_ns() - cpu_start) / total_tasks;
  state.counters["switches_per_ktask"] = static_cast<double>(process_context_switches() - switches_start) * 1000 / total_tasks;
  stopping.store(true, std::memory_order_release);
  round_start.arrive_and_wait();
  for (auto& t : helpers) t.join();

  const double seconds = static_cast<double>(total_ns) / 1e9;
  state.counters["tasks_per_s"] = total_tasks / seconds;
  state.counters["ns_per_task"] = static_cast<double>(total_ns) / total_tasks;
  state.counters["tasks_per_round"] = static_cast<double>(tasks);
  state.SetItemsProcessed(static_cast<int64_t>(tasks) * rounds);
}

// --- hot round trip ---------------------------------------------------------
// Submit one task and wait (futex, via std::atomic::wait) until it has
// run; the pool is warm. One sample per benchmark iteration.
template <class Pool>
void roundtrip(benchmark::State& state, PoolConfig cfg, const std::string& pool_id) {
  Completion done;
  Pool pool(cfg, arrive_body(done), 1);
  auto once = [&] {
    done.reset(1);
    const int64_t start = now_ns();
    pool.submit(0);
    done.wait();
    return now_ns() - start;
  };
  for (int i = 0; i < 200; ++i) once();  // warm-up
  std::vector<int64_t> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    const int64_t ns = once();
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
    samples.push_back(ns);
  }
  report_percentiles(state, "", samples);
  write_raw("roundtrip", pool_id, json{{"samples_ns", samples}});
}

// --- trickle ----------------------------------------------------------------
// One task per period on an absolute schedule, the producer sleeping in
// between: the pool's threads go to sleep between tasks, so each task
// measures a wake-up (submit to start of the task). Also the process CPU
// time per second of wall time meanwhile (producer included, the same for
// every pool) and the context switches per second.
template <class Pool>
void trickle(benchmark::State& state, PoolConfig cfg, const std::string& pool_id) {
  const int64_t period_ns = g_options.trickle_period_us * 1000;
  const auto measured = static_cast<std::size_t>(g_options.trickle_seconds * 1e9 / static_cast<double>(period_ns));
  const auto warmup = static_cast<std::size_t>(g_options.trickle_warmup_ticks);
  const std::size_t ticks = warmup + measured;

  struct Stamps {
    std::vector<int64_t> submitted, started;
    Completion done;
  } stamps;
  stamps.submitted.assign(ticks, 0);
  stamps.started.assign(ticks, 0);
  TaskBody body{[](void* c, std::size_t slot) {
                  auto* s = static_cast<Stamps*>(c);
                  s->started[slot] = now_ns();
                  s->done.arrive();
                },
                &stamps};
  Pool pool(cfg, body, ticks);

  for (auto _ : state) {
    stamps.done.reset(static_cast<int64_t>(ticks));
    int64_t cpu_start = 0, csw_start = 0, wall_start = 0;
    const int64_t origin = now_ns() + period_ns;
    for (std::size_t tick = 0; tick < ticks; ++tick) {
      sleep_until_ns(origin + static_cast<int64_t>(tick) * period_ns);
      if (tick == warmup) {
        cpu_start = process_cpu_ns();
        csw_start = process_context_switches();
        wall_start = now_ns();
      }
      stamps.submitted[tick] = now_ns();
      pool.submit(tick);
    }
    // The window ends one period after the last submission, as if the
    // trickle went on: the last task's wake-up and run are inside it.
    sleep_until_ns(origin + static_cast<int64_t>(ticks) * period_ns);
    const int64_t cpu_ns = process_cpu_ns() - cpu_start;
    const int64_t csw = process_context_switches() - csw_start;
    const int64_t wall_ns = now_ns() - wall_start;
    stamps.done.wait();

    std::vector<int64_t> wake;
    wake.reserve(measured);
    for (std::size_t tick = warmup; tick < ticks; ++tick) wake.push_back(stamps.started[tick] - stamps.submitted[tick]);
    state.SetIterationTime(static_cast<double>(wall_ns) / 1e9);
    report_percentiles(state, "wake_", wake);
    state.counters["cpu_ms_per_s"] = static_cast<double>(cpu_ns) / 1e6 / (static_cast<double>(wall_ns) / 1e9);
    state.counters["switches_per_s"] = static_cast<double>(csw) / (static_cast<double>(wall_ns) / 1e9);
    write_raw("trickle", pool_id, json{{"samples_ns", wake}});
  }
}

// --- first task after creation ------------------------------------------
// Create the pool, submit one task at once, and time the submit to the
// start of the task. Meaningful once per process (TBB's and GLib's threads
// are process-wide), so the suite runs it in many fresh processes. lazywq
// queues it on an explicit CPU (PoolConfig::fixed_cpu): the core's CPU, or
// another one, whose worker a lazy queue must create first.
template <class Pool>
void first_task(benchmark::State& state, PoolConfig cfg, const std::string& metric, const std::string& pool_id) {
  for (auto _ : state) {
    struct Stamp {
      int64_t started = 0;
      Completion done;
    } stamp;
    stamp.done.reset(1);
    TaskBody body{[](void* c, std::size_t) {
                    auto* s = static_cast<Stamp*>(c);
                    s->started = now_ns();
                    s->done.arrive();
                  },
                  &stamp};
    const int64_t create_start = now_ns();
    Pool pool(cfg, body, 1);
    const int64_t created = now_ns();
    pool.submit(0);
    stamp.done.wait();
    state.SetIterationTime(static_cast<double>(stamp.started - created) / 1e9);
    state.counters["create_ns"] = static_cast<double>(created - create_start);
    state.counters["first_task_ns"] = static_cast<double>(stamp.started - created);
    state.counters["create_to_first_task_ns"] = static_cast<double>(stamp.started - create_start);
    write_raw(metric, pool_id, json{{"create_ns", created - create_start}, {"first_task_ns", stamp.started - created}});
  }
}

// --- idle CPU ----------------------------------------------------------------
// Warm the pool (every thread has run tasks), then let it idle and count
// the CPU time and context switches of the pool's threads: the process's
// minus the measuring thread's own (on this VM a thread that merely sleeps
// a second is charged a few hundred microseconds, which is not the pool's).
// Two windows: the first `idle_seconds` after the last task (spinning
// before sleep, idle exits) and the next `idle_seconds` (steady idle).
template <class Pool>
void idle_cpu(benchmark::State& state, PoolConfig cfg, const std::string& /*pool_id*/) {
  cfg.placement = Placement::spread;  // reach every CPU: lazy creates all its workers
  constexpr std::size_t kWarmTasks = 1000;
  Completion done;
  Pool pool(cfg, arrive_body(done), kWarmTasks);
  struct Reading {
    int64_t wall, pool_cpu, pool_switches;
  };
  auto read = [] {
    return Reading{now_ns(), process_cpu_ns() - thread_cpu_ns(), process_context_switches() - thread_context_switches()};
  };
  const auto window_ns = static_cast<int64_t>(g_options.idle_seconds * 1e9);
  for (auto _ : state) {
    done.reset(static_cast<int64_t>(kWarmTasks));
    submit_range(pool, 0, kWarmTasks);
    done.wait();
    const Reading start = read();
    sleep_until_ns(start.wall + window_ns);
    const Reading middle = read();
    sleep_until_ns(start.wall + 2 * window_ns);
    const Reading end = read();
    auto report = [&](const std::string& prefix, const Reading& a, const Reading& b) {
      const double seconds = static_cast<double>(b.wall - a.wall) / 1e9;
      // process minus own thread is read as two clocks, so a pool that used
      // nothing can come out a few hundred nanoseconds below zero.
      const auto pool_cpu = std::max<int64_t>(0, b.pool_cpu - a.pool_cpu);
      state.counters[prefix + "cpu_us_per_s"] = static_cast<double>(pool_cpu) / 1e3 / seconds;
      state.counters[prefix + "switches_per_s"] = static_cast<double>(b.pool_switches - a.pool_switches) / seconds;
    };
    report("winddown_", start, middle);
    report("idle_", middle, end);
    state.SetIterationTime(static_cast<double>(end.wall - start.wall) / 1e9);
  }
}

// --- thread count over time ------------------------------------------------
// A sampler thread counts /proc/self/task every few milliseconds while the
// pool is created, takes a burst, and idles. Reported: the pool's threads
// (process threads minus those before the pool) over time, the peak, what
// is left at the end, and how long after the burst the idle threads took
// to go (-1: none went within the window).
template <class Pool>
void thread_timeline(benchmark::State& state, PoolConfig cfg, const std::string& pool_id) {
  cfg.placement = Placement::spread;
  const auto tasks = static_cast<std::size_t>(g_options.timeline_burst_tasks);
  for (auto _ : state) {
    std::vector<std::pair<int64_t, int>> samples;  // (ns since start, process threads)
    std::atomic<bool> sampling{true};
    const int64_t origin = now_ns();
    std::thread sampler([&] {
      const int64_t period = int64_t{g_options.timeline_period_ms} * 1'000'000;
      for (int64_t next = now_ns(); sampling.load(std::memory_order_acquire); next += period) {
        samples.emplace_back(now_ns() - origin, count_process_threads());
        sleep_until_ns(next + period);
      }
    });
    sleep_until_ns(origin + 20'000'000);
    const int baseline = count_process_threads();  // this process without the pool
    const int64_t created_at = now_ns() - origin;
    {
      Completion done;
      Pool pool(cfg, arrive_body(done), tasks);
      sleep_until_ns(now_ns() + 50'000'000);
      const int64_t burst_at = now_ns() - origin;
      done.reset(static_cast<int64_t>(tasks));
      submit_range(pool, 0, tasks);
      done.wait();
      const int64_t burst_end = now_ns() - origin;
      sleep_until_ns(origin + burst_end + static_cast<int64_t>(g_options.timeline_after_burst_seconds * 1e9));
      sampling.store(false, std::memory_order_release);
      sampler.join();

      int peak = 0, at_burst_end = 0;
      for (auto& [t, n] : samples) {
        peak = std::max(peak, n - baseline);
        if (t <= burst_end) at_burst_end = n - baseline;
      }
      const int at_end = samples.back().second - baseline;
      // The idle threads are gone at the first sample after the burst from
      // which the count stays at its final value.
      int64_t gone_after_ns = -1;
      if (at_end < at_burst_end) {
        for (std::size_t i = samples.size(); i-- > 0 && samples[i].second - baseline == at_end;)
          gone_after_ns = samples[i].first - burst_end;
      }
      json timeline = json::array();
      for (auto& [t, n] : samples) timeline.push_back({t - created_at, n - baseline});
      state.SetIterationTime(static_cast<double>(now_ns() - origin) / 1e9);
      state.counters["peak_threads"] = peak;
      state.counters["threads_at_burst_end"] = at_burst_end;
      state.counters["threads_when_idle"] = at_end;
      state.counters["idle_threads_gone_ms"] = gone_after_ns < 0 ? -1.0 : static_cast<double>(gone_after_ns) / 1e6;
      write_raw("threads", pool_id,
                json{{"timeline", timeline},
                     {"burst_at_ms", static_cast<double>(burst_at - created_at) / 1e6},
                     {"burst_end_ms", static_cast<double>(burst_end - created_at) / 1e6},
                     {"baseline_threads", baseline}});
    }
  }
}

// --- re-queueing a pending work (lazywq only) -----------------------------
// A delayed work armed an hour ahead is PENDING; queue_work on it must
// return false and change nothing (C1). Google Benchmark times the call.
void requeue_pending(benchmark::State& state, PoolConfig cfg, bool on_caller_cpu) {
  lazywq::EngineConfig ec;
  ec.ncpus = cfg.threads;
  ec.idle_timeout = cfg.idle_timeout;
  lazywq::Engine engine(ec);
  lazywq::Workqueue& queue = engine.create_workqueue("bench", cfg.kind);
  lazywq::DelayedWork work([](lazywq::Work&) {});
  queue.queue_delayed_work_on(0, work, std::chrono::hours(1));
  bool queued = false;
  for (auto _ : state) {
    queued = on_caller_cpu ? queue.queue_work(work) : queue.queue_work_on(0, work);
    benchmark::DoNotOptimize(queued);
  }
  if (queued) state.SkipWithError("queue_work on a pending work returned true");
  lazywq::cancel_delayed_work_sync(work);
}

// The floor under that: the atomic read-modify-write that claims PENDING.
void requeue_floor(benchmark::State& state) {
  std::atomic<uint32_t> flags{1};
  for (auto _ : state) benchmark::DoNotOptimize(flags.fetch_or(1, std::memory_order_acq_rel));
}

template <class Pool>
void register_pool(std::vector<BenchEntry>& entries, const PoolInfo& info, const PoolConfig& cfg) {
  auto add = [&](const std::string& metric, auto fn) {
    entries.push_back({metric, info.id});
    return benchmark::RegisterBenchmark((metric + "/" + info.id).c_str(), fn);
  };
  const std::string id = info.id;
  add("burst_1p", [cfg](benchmark::State& s) { burst<Pool>(s, cfg, 1); })
      ->UseManualTime()->Unit(benchmark::kMillisecond);
  add("burst_2p", [cfg](benchmark::State& s) { burst<Pool>(s, cfg, 2); })
      ->UseManualTime()->Unit(benchmark::kMillisecond);
  if (info.is_lazywq) {
    // The same bursts with queue_work_on round robin over the CPUs, the
    // way the other pools spread work over their threads.
    PoolConfig spread = cfg;
    spread.placement = Placement::spread;
    add("burst_1p_spread", [spread](benchmark::State& s) { burst<Pool>(s, spread, 1); })
        ->UseManualTime()->Unit(benchmark::kMillisecond);
    add("burst_2p_spread", [spread](benchmark::State& s) { burst<Pool>(s, spread, 2); })
        ->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  add("roundtrip", [cfg, id](benchmark::State& s) { roundtrip<Pool>(s, cfg, id); })
      ->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(g_options.roundtrip_samples);
  add("trickle", [cfg, id](benchmark::State& s) { trickle<Pool>(s, cfg, id); })
      ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
  PoolConfig on_core = cfg;
  on_core.fixed_cpu = 0;  // EngineConfig::core_cpu
  add("first_task", [on_core, id](benchmark::State& s) { first_task<Pool>(s, on_core, "first_task", id); })
      ->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1);
  if (info.is_lazywq && cfg.threads > 1) {
    PoolConfig elsewhere = cfg;
    elsewhere.fixed_cpu = cfg.threads - 1;
    add("first_task_other_cpu",
        [elsewhere, id](benchmark::State& s) { first_task<Pool>(s, elsewhere, "first_task_other_cpu", id); })
        ->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1);
  }
  add("idle_cpu", [cfg, id](benchmark::State& s) { idle_cpu<Pool>(s, cfg, id); })
      ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
  add("threads", [cfg, id](benchmark::State& s) { thread_timeline<Pool>(s, cfg, id); })
      ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);
}

}  // namespace

std::vector<BenchEntry> register_benchmarks(const BenchOptions& options) {
  g_options = options;
  std::vector<BenchEntry> entries;
  PoolConfig cfg;
  cfg.threads = options.threads;
  cfg.idle_timeout = options.idle_timeout;
  cfg.placement = options.placement;
  const auto& infos = pool_infos();
  std::size_t index = 0;
  for (lazywq::WqKind kind : kLazywqKinds) {
    PoolConfig kind_cfg = cfg;
    kind_cfg.kind = kind;
    register_pool<LazywqPool>(entries, infos[index++], kind_cfg);
  }
  register_pool<TbbPool>(entries, infos[index++], cfg);
  register_pool<AsioPool>(entries, infos[index++], cfg);
  register_pool<GlibPool>(entries, infos[index++], cfg);
  register_pool<EigenPool>(entries, infos[index++], cfg);
  register_pool<MutexCvPool>(entries, infos[index++], cfg);

  for (std::size_t k = 0; k < kLazywqKinds.size(); ++k) {
    PoolConfig kind_cfg = cfg;
    kind_cfg.kind = kLazywqKinds[k];
    const std::string& id = infos[k].id;
    entries.push_back({"requeue_pending", id});
    benchmark::RegisterBenchmark(("requeue_pending/" + id).c_str(),
                                 [kind_cfg](benchmark::State& s) { requeue_pending(s, kind_cfg, false); });
    entries.push_back({"requeue_pending_caller_cpu", id});
    benchmark::RegisterBenchmark(("requeue_pending_caller_cpu/" + id).c_str(),
                                 [kind_cfg](benchmark::State& s) { requeue_pending(s, kind_cfg, true); });
  }
  entries.push_back({"requeue_pending", "atomic-fetch_or"});
  benchmark::RegisterBenchmark("requeue_pending/atomic-fetch_or", requeue_floor);
  return entries;
}

std::string_view to_string(Placement p) {
  switch (p) {
    case Placement::caller_cpu: return "caller_cpu";
    case Placement::spread: return "spread";
  }
  return "?";
}

}  // namespace lazywq_bench
