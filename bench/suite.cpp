// The suite driver and the report.
//
// Each benchmark runs in a fresh child process (this executable again,
// with --benchmark_filter naming exactly one benchmark): oneTBB's market
// and GLib's shared threads are process-wide, a first task is only "first"
// once per process, and thread counts must not include another pool's
// leftovers. Children write Google Benchmark JSON plus raw samples; the
// driver then writes table.md, results.json and the plots.
#include "suite.hpp"

#include "tools/build_info.hpp"

#include <fcntl.h>
#include <glib.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/version.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <oneapi/tbb/version.h>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unsupported/Eigen/CXX11/ThreadPool>

extern char** environ;

namespace lazywq_bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// --- running children -------------------------------------------------------

// Runs argv[0] with argv, stdout and stderr to `log`; returns the exit
// status (128 + signal when killed), or -1 if it could not start.
int run_process(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
  return p.string();
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return json::parse(in);
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << text;
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

// --- the metrics of the report ----------------------------------------------

enum class Better { higher, lower };

// One row of the report: where its number comes from and how to read it.
struct MetricDef {
  std::string id;         // key in results.json
  std::string title;      // row title
  std::string unit;
  Better better;
  std::string bench;      // benchmark (first part of its name)
  std::string counter;    // Google Benchmark counter; "real_time" = time per iteration
  double scale = 1.0;     // raw value times this = value in `unit`
  bool over_runs = false; // one sample per process: median over the runs (else the single run)
  bool percentile_max = false;  // with over_runs: the worst run instead of the median
  bool lazywq_only = false;     // peers have no such thing (no ratio)
};

const std::vector<MetricDef>& metric_defs() {
  static const std::vector<MetricDef> defs = {
      {"burst_1p", "Burst throughput, 1 producer", "M tasks/s", Better::higher, "burst_1p", "tasks_per_s", 1e-6},
      {"burst_1p_cpu", "Burst, 1 producer: CPU time per task (all threads)", "ns", Better::lower, "burst_1p",
       "cpu_ns_per_task", 1.0},
      {"burst_1p_switches", "Burst, 1 producer: context switches per 1000 tasks", "per 1000", Better::lower,
       "burst_1p", "switches_per_ktask", 1.0},
      {"burst_2p", "Burst throughput, 2 producers", "M tasks/s", Better::higher, "burst_2p", "tasks_per_s", 1e-6},
      {"burst_1p_spread", "Burst throughput, 1 producer, queue_work_on round robin", "M tasks/s", Better::higher,
       "burst_1p_spread", "tasks_per_s", 1e-6, false, false, true},
      {"burst_2p_spread", "Burst throughput, 2 producers, queue_work_on round robin", "M tasks/s", Better::higher,
       "burst_2p_spread", "tasks_per_s", 1e-6, false, false, true},
      {"roundtrip_p50", "Hot round trip p50", "us", Better::lower, "roundtrip", "p50_ns", 1e-3},
      {"roundtrip_p99", "Hot round trip p99", "us", Better::lower, "roundtrip", "p99_ns", 1e-3},
      {"trickle_wake_p50", "Trickle wake-up p50 (1 task/ms)", "us", Better::lower, "trickle", "wake_p50_ns", 1e-3},
      {"trickle_wake_p99", "Trickle wake-up p99 (1 task/ms)", "us", Better::lower, "trickle", "wake_p99_ns", 1e-3},
      {"trickle_cpu", "Trickle CPU time (process)", "ms per s", Better::lower, "trickle", "cpu_ms_per_s", 1.0},
      {"trickle_switches", "Trickle context switches", "per s", Better::lower, "trickle", "switches_per_s", 1.0},
      {"first_task_p50", "First task after creation (lazywq: for the core's CPU), median of runs", "us", Better::lower, "first_task",
       "first_task_ns", 1e-3, true},
      {"first_task_max", "First task after creation, worst run", "us", Better::lower, "first_task", "first_task_ns",
       1e-3, true, true},
      {"first_task_other_cpu_p50", "First task for a non-core CPU (lazy: creates its worker), median", "us",
       Better::lower, "first_task_other_cpu", "first_task_ns", 1e-3, true, false, true},
      {"first_task_other_cpu_max", "First task for a non-core CPU, worst run", "us", Better::lower,
       "first_task_other_cpu", "first_task_ns", 1e-3, true, true, true},
      {"create_p50", "Pool creation, median of runs", "us", Better::lower, "first_task", "create_ns", 1e-3, true},
      {"requeue_pending", "queue_work_on a pending work", "ns", Better::lower, "requeue_pending", "real_time", 1.0,
       false, false, true},
      {"requeue_pending_caller_cpu", "queue_work (caller's CPU) on a pending work", "ns", Better::lower,
       "requeue_pending_caller_cpu", "real_time", 1.0, false, false, true},
      {"winddown_cpu", "CPU of the pool's threads, first second after the last task", "us per s", Better::lower,
       "idle_cpu", "winddown_cpu_us_per_s", 1.0},
      {"winddown_switches", "Context switches of the pool's threads, first second", "per s", Better::lower,
       "idle_cpu", "winddown_switches_per_s", 1.0},
      {"idle_cpu", "Idle CPU of the pool's threads (the next second)", "us per s", Better::lower, "idle_cpu",
       "idle_cpu_us_per_s", 1.0},
      {"idle_switches", "Idle context switches of the pool's threads", "per s", Better::lower, "idle_cpu",
       "idle_switches_per_s", 1.0},
      {"peak_threads", "Threads, peak (burst)", "threads", Better::lower, "threads", "peak_threads", 1.0},
      {"idle_threads", "Threads left when idle", "threads", Better::lower, "threads", "threads_when_idle", 1.0},
      {"idle_threads_gone", "Idle threads gone after", "ms", Better::lower, "threads", "idle_threads_gone_ms", 1.0},
  };
  return defs;
}

// Google Benchmark's time of one iteration, in nanoseconds.
double real_time_ns(const json& run) {
  const double t = run.at("real_time").get<double>();
  const std::string unit = run.value("time_unit", "ns");
  if (unit == "us") return t * 1e3;
  if (unit == "ms") return t * 1e6;
  if (unit == "s") return t * 1e9;
  return t;
}

// One figure of one pool: the median and the spread of its samples (the
// rounds; a first task: the processes), and each round's value.
struct Figure {
  double median = 0, min = 0, max = 0;
  std::size_t samples = 0;
  std::map<int, double> rounds;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "n/a";
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1000) return fmt::format("{:.0f}", v);
  if (a >= 100) return fmt::format("{:.1f}", v);
  if (a >= 10) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

// --- plots -------------------------------------------------------------------

struct Plot {
  std::string name;  // file stem
  std::string script;
};

// Gnuplot draws each plot twice: SVG for the README, PNG for viewers. The
// body is repeated rather than `replot`, which does not redo a multiplot.
std::string gnuplot_terminals(const std::string& stem, const std::string& body, int height = 540) {
  return fmt::format(
      "set terminal svg size 960,{2} dynamic noenhanced background rgb 'white' font 'sans,12'\n"
      "set output '{0}.svg'\n{1}\n"
      "set terminal pngcairo size 960,{2} noenhanced background rgb 'white' font 'sans,10'\n"
      "set output '{0}.png'\n{1}\n",
      stem, body, height);
}

// Cumulative distribution of latency samples, thinned to at most ~1500
// points (every rank kept near the tail).
void write_cdf(const fs::path& path, std::vector<int64_t> samples) {
  std::sort(samples.begin(), samples.end());
  std::ofstream out(path);
  const std::size_t n = samples.size();
  const std::size_t step = std::max<std::size_t>(1, n / 1000);
  for (std::size_t i = 0; i < n; ++i) {
    const bool tail = i + 200 >= n;
    if (i % step == 0 || tail) out << fmt::format("{:.3f} {:.6f}\n", static_cast<double>(samples[i]) / 1e3, (static_cast<double>(i) + 1) / static_cast<double>(n));
  }
}

}  // namespace

int run_suite(const SuiteOptions& suite, const BenchOptions& options, const std::vector<BenchEntry>& entries) {
  const fs::path out_dir = fs::absolute(suite.out_dir);
  const fs::path raw_dir = out_dir / "raw";
  const fs::path log_dir = out_dir / "logs";
  fs::remove_all(raw_dir);
  fs::remove_all(log_dir);
  fs::create_directories(raw_dir);
  fs::create_directories(log_dir);
  const std::string self = self_executable();
  const std::string load_before = read_first_line("/proc/loadavg");
  // Two benchmarks cannot share two CPUs with anything else and stay
  // honest: say so up front and in the report.
  const double load1_before = std::strtod(load_before.c_str(), nullptr);
  const bool busy = load1_before > 0.5 * options.threads;
  if (busy)
    fmt::print("suite: load average {:.2f} on {} CPUs before the run: something else is busy, the numbers will be noisy\n",
               load1_before, options.threads);

  // --- run every benchmark in its own process ---
  struct Job {
    BenchEntry entry;
    std::string tag;
    int round = 0;
  };
  std::vector<Job> jobs;
  // Rounds: the whole list again, so a burst of outside load lands on
  // every pool alike; each number is then the median over the rounds.
  // First-task processes are spread over the rounds.
  const int rounds = suite.quick ? 1 : suite.rounds;
  const int first_task_runs = suite.quick ? 2 : suite.first_task_runs;
  for (int round = 0; round < rounds; ++round)
    for (const auto& e : entries) {
      if (e.metric.starts_with("first_task")) {
        for (int run = round; run < first_task_runs; run += rounds)
          jobs.push_back({e, fmt::format(".r{}.{}", round, run), round});
      } else {
        jobs.push_back({e, fmt::format(".r{}", round), round});
      }
    }
  std::vector<std::string> failures;
  const auto suite_start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    const std::string stem = fmt::format("{}__{}{}", job.entry.metric, job.entry.pool, job.tag);
    std::vector<std::string> args = {self,
                                     fmt::format("--benchmark_filter=^{}/{}(/|$)", job.entry.metric, job.entry.pool),
                                     fmt::format("--benchmark_out={}", (raw_dir / (stem + ".gb.json")).string()),
                                     "--benchmark_out_format=json",
                                     "--raw-dir", raw_dir.string(),
                                     "--raw-tag", job.tag,
                                     "--timeout", suite.quick ? "60" : "600"};
    args.insert(args.end(), suite.passthrough_args.begin(), suite.passthrough_args.end());
    args.insert(args.end(), suite.benchmark_flags.begin(), suite.benchmark_flags.end());
    const bool has_min_time = std::any_of(suite.benchmark_flags.begin(), suite.benchmark_flags.end(),
                                          [](const std::string& f) { return f.starts_with("--benchmark_min_time"); });
    if (suite.quick && !has_min_time) args.emplace_back("--benchmark_min_time=0.01");
    // Warm-up for the steady-state figures (caches, the pool's threads
    // created and parked): never for a first task, an idle pool or a
    // thread timeline, which measure the pool's start and its wind-down.
    const bool steady = job.entry.metric.starts_with("burst") || job.entry.metric == "roundtrip" ||
                        job.entry.metric.starts_with("requeue");
    const bool has_warmup = std::any_of(suite.benchmark_flags.begin(), suite.benchmark_flags.end(),
                                        [](const std::string& f) { return f.starts_with("--benchmark_min_warmup_time"); });
    if (steady && !suite.quick && !has_warmup) args.emplace_back("--benchmark_min_warmup_time=0.2");
    fmt::print("[{:3}/{}] {}/{}{} ", i + 1, jobs.size(), job.entry.metric, job.entry.pool, job.tag);
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    const int status = run_process(args, log_dir / (stem + ".log"));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool ok = status == 0;
    if (ok) {
      try {
        const json out = read_json(raw_dir / (stem + ".gb.json"));
        for (const auto& run : out.at("benchmarks"))
          if (run.value("error_occurred", false)) ok = false;
        if (out.at("benchmarks").empty()) ok = false;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    fmt::print("{} ({:.1f} s)\n", ok ? "ok" : fmt::format("FAILED (exit {}, log {})", status, (log_dir / (stem + ".log")).string()), seconds);
    if (!ok) failures.push_back(stem);
  }
  const double suite_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - suite_start).count();
  const std::string load_after = read_first_line("/proc/loadavg");

  // --- collect ---
  // values[metric id][pool id]: the median in the metric's unit, its
  // spread over the rounds (a first task: over the processes) and each
  // round's value, for ratios taken round by round.
  std::map<std::string, std::map<std::string, Figure>> values;
  json context;
  for (const MetricDef& m : metric_defs()) {
    std::map<std::string, std::vector<double>> per_pool;
    std::map<std::string, std::map<int, std::vector<double>>> per_round;
    for (const Job& job : jobs) {
      if (job.entry.metric != m.bench) continue;
      const fs::path path = raw_dir / fmt::format("{}__{}{}.gb.json", job.entry.metric, job.entry.pool, job.tag);
      if (!fs::exists(path)) continue;
      const json out = read_json(path);
      if (context.is_null()) context = out.value("context", json::object());
      for (const auto& run : out.at("benchmarks")) {
        if (run.value("run_type", "") != "iteration" || run.value("error_occurred", false)) continue;
        double raw;
        if (m.counter == "real_time")
          raw = real_time_ns(run);
        else if (run.contains(m.counter))
          raw = run.at(m.counter).get<double>();
        else
          continue;
        per_pool[job.entry.pool].push_back(raw);
        per_round[job.entry.pool][job.round].push_back(raw);
      }
    }
    for (auto& [pool, samples] : per_pool) {
      Figure f;
      double v;
      if (m.over_runs)
        v = m.percentile_max ? *std::max_element(samples.begin(), samples.end()) : median(samples);
      else
        v = median(samples);  // over the rounds
      // "gone after -1 ms" means the threads never went: keep it as NaN.
      if (m.id == "idle_threads_gone" && v < 0) v = std::nan("");
      f.median = v * m.scale;
      f.min = *std::min_element(samples.begin(), samples.end()) * m.scale;
      f.max = *std::max_element(samples.begin(), samples.end()) * m.scale;
      if (m.over_runs && m.percentile_max) f.min = f.max = f.median;  // the worst run: one number
      f.samples = samples.size();
      for (auto& [round, xs] : per_round[pool]) {
        double r = m.over_runs && m.percentile_max ? *std::max_element(xs.begin(), xs.end()) : median(xs);
        if (m.id == "idle_threads_gone" && r < 0) r = std::nan("");  // never, as above
        f.rounds[round] = r * m.scale;
      }
      values[m.id][pool] = f;
    }
  }

  const auto& pools = pool_infos();
  std::vector<const PoolInfo*> kinds, peers;
  for (const auto& p : pools) (p.is_lazywq ? kinds : peers).push_back(&p);
  auto figure_of = [&](const std::string& metric, const std::string& pool) -> const Figure* {
    auto m = values.find(metric);
    if (m == values.end()) return nullptr;
    auto v = m->second.find(pool);
    if (v == m->second.end()) return nullptr;
    return &v->second;
  };
  auto value_of = [&](const std::string& metric, const std::string& pool) -> std::optional<double> {
    const Figure* f = figure_of(metric, pool);
    if (!f) return std::nullopt;
    return f->median;
  };
  // a / b round by round (rounds where both ran), summarised as a figure.
  auto ratio_of = [&](const std::string& metric, const std::string& a, const std::string& b) -> std::optional<Figure> {
    const Figure *fa = figure_of(metric, a), *fb = figure_of(metric, b);
    if (!fa || !fb) return std::nullopt;
    std::vector<double> rs;
    Figure r;
    for (const auto& [round, va] : fa->rounds) {
      auto vb = fb->rounds.find(round);
      if (vb == fb->rounds.end() || vb->second == 0 || std::isnan(va) || std::isnan(vb->second)) continue;
      rs.push_back(va / vb->second);
      r.rounds[round] = rs.back();
    }
    if (rs.empty()) return std::nullopt;
    r.median = median(rs);
    r.min = *std::min_element(rs.begin(), rs.end());
    r.max = *std::max_element(rs.begin(), rs.end());
    r.samples = rs.size();
    return r;
  };

  // --- targets (issue #17), per lazywq kind ---
  // A target against a peer counts as met only when it holds on the
  // median and the spreads do not overlap: the kind's worst sample
  // against the peer's best, the factor applied. An absolute bound holds
  // on the median (the spread is shown).
  struct Target {
    std::string name;
    std::string kind;
    double measured;   // what is compared: a ratio, or a value in its unit
    double bound;      // against this
    bool higher_ok;    // measured >= bound passes (else <=)
    bool spread_ok;    // the spreads do not overlap (true for an absolute bound)
    std::string shown; // how the measurement reads
  };
  std::vector<Target> targets;
  auto spread_text = [](const Figure& f) {
    return f.samples > 1 && f.min != f.max ? fmt::format(" [{}, {}]", format_value(f.min), format_value(f.max)) : std::string();
  };
  // The peer with the best median of `metric` (the yardstick of "the best peer").
  auto best_peer = [&](const std::string& metric, Better better) -> const PoolInfo* {
    const PoolInfo* best = nullptr;
    for (const PoolInfo* p : peers) {
      const Figure* f = figure_of(metric, p->id);
      if (!f || std::isnan(f->median)) continue;
      const Figure* b = best ? figure_of(metric, best->id) : nullptr;
      if (!b || (better == Better::higher ? f->median > b->median : f->median < b->median)) best = p;
    }
    return best;
  };
  // kind's metric against factor x peer's (a peer id, or the best peer).
  auto against = [&](const PoolInfo* k, const std::string& metric, Better better, double factor, const PoolInfo* peer,
                     const std::string& name) {
    const Figure* a = figure_of(metric, k->id);
    if (!a || !peer) return;
    const Figure* b = figure_of(metric, peer->id);
    if (!b || b->median == 0) return;
    const auto r = ratio_of(metric, k->id, peer->id);
    const double ratio = r ? r->median : a->median / b->median;
    const bool higher = better == Better::higher;
    const bool apart = higher ? a->min >= factor * b->max : a->max <= factor * b->min;
    targets.push_back({name, k->display, ratio, factor, higher, apart,
                       fmt::format("{:.2f} x {}{} ({}{} vs {}{})", ratio, peer->display,
                                   r && r->samples > 1 ? fmt::format(" [{:.2f}, {:.2f}]", r->min, r->max) : std::string(),
                                   format_value(a->median), spread_text(*a), format_value(b->median), spread_text(*b))});
  };
  auto absolute = [&](const PoolInfo* k, const std::string& metric, double bound, const std::string& unit,
                      const std::string& name) {
    const Figure* a = figure_of(metric, k->id);
    if (!a) return;
    targets.push_back({name, k->display, a->median, bound, false, true,
                       fmt::format("{} {}{}", format_value(a->median), unit, spread_text(*a))});
  };
  const PoolInfo* tbb = nullptr;
  const PoolInfo* asio = nullptr;
  for (const PoolInfo* p : peers) {
    if (p->id == "tbb") tbb = p;
    if (p->id == "asio") asio = p;
  }
  for (const PoolInfo* k : kinds) {
    against(k, "burst_1p", Better::higher, 1.5, best_peer("burst_1p", Better::higher), "burst, 1 producer >= 1.5 x the best peer");
    against(k, "burst_2p", Better::higher, 1.5, best_peer("burst_2p", Better::higher), "burst, 2 producers >= 1.5 x the best peer");
    absolute(k, "first_task_p50", 50, "us", "first task after creation, core's CPU: median <= 50 us");
    absolute(k, "first_task_other_cpu_p50", 100, "us", "first task for another CPU: median <= 100 us");
    against(k, "trickle_wake_p50", Better::lower, 1.0, best_peer("trickle_wake_p50", Better::lower),
            "trickle wake-up p50 <= the best peer's");
    against(k, "trickle_wake_p99", Better::lower, 2.0, best_peer("trickle_wake_p99", Better::lower),
            "trickle wake-up p99 <= 2 x the best peer's");
    against(k, "roundtrip_p50", Better::lower, 2.0, tbb, "hot round trip p50 <= 2 x TBB's");
    absolute(k, "roundtrip_p99", 30, "us", "hot round trip p99 <= 30 us");
    against(k, "trickle_cpu", Better::lower, 1.5, asio, "trickle CPU <= 1.5 x asio's");
    if (auto rq = value_of("requeue_pending", k->id))
      targets.push_back({"re-queue of a pending work < 20 ns", k->display, *rq, 20, false, true, fmt::format("{} ns", format_value(*rq))});
    // "Indistinguishable from zero": the pool's threads used under 10 us of
    // CPU per second (0.001% of a CPU) once idle.
    if (auto idle = value_of("idle_cpu", k->id))
      targets.push_back({"idle CPU ~ 0 (< 10 us per s)", k->display, *idle, 10, false, true,
                         fmt::format("{} us/s, {} wake-ups/s", format_value(*idle),
                                     format_value(value_of("idle_switches", k->id).value_or(std::nan(""))))});
  }
  auto met = [](const Target& t) { return (t.higher_ok ? t.measured >= t.bound : t.measured <= t.bound) && t.spread_ok; };

  // --- machine ---
  utsname uts{};
  uname(&uts);
  const std::string date = fmt::format("{:%Y-%m-%d %H:%M} UTC", fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
  json machine = {
      {"cpu", cpu_model()},
      {"cpus_used", options.threads},
      {"kernel", fmt::format("{} {}", uts.sysname, uts.release)},
      {"compiler", "clang " __clang_version__},
      {"date", date},
      {"load_avg_before", load_before},
      {"load_avg_after", load_after},
      {"suite_seconds", suite_seconds},
      {"quick", suite.quick},
      {"libraries",
       {{"oneTBB", TBB_VERSION_STRING},
        {"asio", fmt::format("{}.{}.{}", ASIO_VERSION / 100000, ASIO_VERSION / 100 % 1000, ASIO_VERSION % 100)},
        {"GLib", fmt::format("{}.{}.{}", glib_major_version, glib_minor_version, glib_micro_version)},
        {"Eigen", fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)}}},
      {"google_benchmark_context", context},
  };
  json settings = {
      {"pool_threads", options.threads},
      {"burst_tasks", options.burst_tasks},
      {"roundtrip_samples", options.roundtrip_samples},
      {"trickle_seconds", options.trickle_seconds},
      {"trickle_period_us", options.trickle_period_us},
      {"idle_seconds", options.idle_seconds},
      {"idle_timeout_ms", options.idle_timeout.count()},
      {"first_task_runs", first_task_runs},
      {"rounds", rounds},
      {"lazywq_placement", to_string(options.placement)},
  };

  // --- results.json ---
  json results = {{"schema_version", 2},
                  {"tool", "lazywq-bench"},
                  {"lazywq_version", lazywq::tools::lazywq_version()},
                  {"commit", lazywq::tools::build_commit()},
                  {"machine", machine},
                  {"settings", settings},
                  {"failures", failures}};
  for (const auto& p : pools)
    results["pools"].push_back({{"id", p.id}, {"name", p.display}, {"lazywq", p.is_lazywq}, {"process_wide", p.process_wide}});
  for (const MetricDef& m : metric_defs()) {
    json jm = {{"title", m.title}, {"unit", m.unit}, {"better", m.better == Better::higher ? "higher" : "lower"}};
    jm["values"] = json::object();
    auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
    for (const auto& p : pools)
      if (const Figure* f = figure_of(m.id, p.id)) {
        jm["values"][p.id] = num(f->median);
        jm["spread"][p.id] = {{"min", num(f->min)}, {"max", num(f->max)}, {"samples", f->samples}};
        for (const auto& [round, v] : f->rounds) jm["rounds"][p.id].push_back(num(v));
      }
    if (!m.lazywq_only)
      for (const PoolInfo* k : kinds)
        for (const PoolInfo* p : peers)
          if (auto r = ratio_of(m.id, k->id, p->id)) {
            jm["ratios"][k->id][p->id] = r->median;  // the median of the per-round ratios
            jm["ratio_spread"][k->id][p->id] = {{"min", r->min}, {"max", r->max}, {"rounds", r->samples}};
          }
    results["metrics"][m.id] = jm;
  }
  for (const Target& t : targets)
    results["targets"].push_back({{"target", t.name}, {"kind", t.kind}, {"measured", t.measured}, {"bound", t.bound},
                                  {"spreads_apart", t.spread_ok}, {"met", met(t)}, {"reads", t.shown}});
  write_text(out_dir / "results.json", results.dump(2) + "\n");
  if (suite.json_out) {
    std::fprintf(suite.json_out, "%s\n", results.dump(2).c_str());
    std::fflush(suite.json_out);
  }

  // --- table.md ---
  std::ostringstream md;
  md << "# lazywq benchmarks\n\n";
  md << fmt::format("Machine: {}, {} CPUs used, {}; {}; {}. Load average before / after: {} / {}.{}\n\n",
                    machine["cpu"].get<std::string>(), options.threads, machine["kernel"].get<std::string>(),
                    machine["compiler"].get<std::string>(), date, load_before, load_after,
                    suite.quick ? " **Quick (smoke) sizes: not a measurement.**" : "");
  md << fmt::format("Peers: oneTBB {}, asio {}, GLib {}, Eigen {}. Every pool runs tasks on {} threads; "
                    "lazywq: one engine with ncpus = {}, works queued with `{}`; "
                    "idle timeout {} ms (lazywq lazy and GLib). Each benchmark ran in a fresh process, {} round(s), every pool once "
                    "per round in turn; each value is the median [min, max] over the rounds (first task: over {} processes), "
                    "after a 0.2 s warm-up for the steady-state figures (burst, round trip, re-queue). lazywq's per-CPU "
                    "threads are pinned to their CPU (its shared pools' unbound ones and every peer's threads are not); "
                    "plots from round 0.\n\n",
                    TBB_VERSION_STRING, machine["libraries"]["asio"].get<std::string>(),
                    machine["libraries"]["GLib"].get<std::string>(), machine["libraries"]["Eigen"].get<std::string>(),
                    options.threads, options.threads,
                    options.placement == Placement::caller_cpu ? "queue_work (the caller's CPU)" : "queue_work_on round robin",
                    options.idle_timeout.count(), rounds, first_task_runs);
  if (busy)
    md << fmt::format("**The machine was busy (load average {:.2f} on {} CPUs before the run): these numbers are noisy.**\n\n",
                      load1_before, options.threads);
  if (!failures.empty()) md << fmt::format("**Failed runs:** {}\n\n", fmt::join(failures, ", "));

  md << "## Targets\n\nA target against a peer is met when it holds on the median and the spreads do not overlap "
        "(the kind's worst round against the peer's best, the factor applied).\n\n"
        "| target | kind | measured: median [min, max] | met |\n|---|---|---|---|\n";
  for (const Target& t : targets)
    md << fmt::format("| {} | {} | {} | {} |\n", t.name, t.kind, t.shown,
                      met(t) ? "yes" : (t.higher_ok ? t.measured >= t.bound : t.measured <= t.bound) ? "**no** (spreads overlap)" : "**no**");

  md << "\n## Values\n\n| metric | unit | better |";
  for (const auto& p : pools) md << ' ' << p.display << " |";
  md << "\n|---|---|---|";
  for (std::size_t i = 0; i < pools.size(); ++i) md << "---:|";
  md << '\n';
  for (const MetricDef& m : metric_defs()) {
    if (values.find(m.id) == values.end()) continue;
    md << fmt::format("| {} | {} | {} |", m.title, m.unit, m.better == Better::higher ? "higher" : "lower");
    for (const auto& p : pools) {
      const Figure* f = figure_of(m.id, p.id);
      md << ' ' << (f ? (std::isnan(f->median) ? std::string("never") : format_value(f->median) + spread_text(*f)) : std::string("-"))
         << " |";
    }
    md << '\n';
  }

  md << "\n## Ratios lazywq / peer\n\nAbove 1 is better for throughput, below 1 for times, CPU and threads. Each ratio is "
        "taken round by round (both pools measured in the same round), then summarised: the median [min, max] over the "
        "rounds.\n\n| metric | kind |";
  for (const PoolInfo* p : peers) md << ' ' << p->display << " |";
  md << "\n|---|---|";
  for (std::size_t i = 0; i < peers.size(); ++i) md << "---:|";
  md << '\n';
  for (const MetricDef& m : metric_defs()) {
    if (m.lazywq_only || values.find(m.id) == values.end()) continue;
    for (const PoolInfo* k : kinds) {
      md << fmt::format("| {} | {} |", m.title, k->display);
      for (const PoolInfo* p : peers) {
        if (auto r = ratio_of(m.id, k->id, p->id))
          md << fmt::format(" {:.2f}{} |", r->median, r->samples > 1 ? fmt::format(" [{:.2f}, {:.2f}]", r->min, r->max) : "");
        else
          md << " - |";
      }
      md << '\n';
    }
  }

  // --- plots ---
  const fs::path plot_dir = out_dir / "plots";
  fs::create_directories(plot_dir);
  std::vector<Plot> plots;
  {
    // Small multiples, one panel per pool on a common time axis: the
    // counts are small integers and overlapping step lines hide each other.
    std::vector<std::string> panels;
    double end_ms = 0;  // common time axis: the longest timeline
    for (const auto& p : pools) {
      const fs::path raw = raw_dir / raw_file_name("threads", p.id, ".r0");
      if (!fs::exists(raw)) continue;
      const json data = read_json(raw);
      std::ofstream dat(plot_dir / ("threads_" + p.id + ".dat"));
      int most = 1;
      for (const auto& point : data.at("timeline")) {
        dat << fmt::format("{:.1f} {}\n", point[0].get<double>() / 1e6, point[1].get<int>());
        most = std::max(most, point[1].get<int>());
        end_ms = std::max(end_ms, point[0].get<double>() / 1e6);
      }
      panels.push_back(fmt::format(
          "set ylabel '{0}'\nset yrange [-0.3:{1}.5]\n"
          "set object 1 rect from {2:.1f}, graph 0 to {3:.1f}, graph 1 fc rgb '#dde8f8' fs solid noborder behind\n"
          "plot 'threads_{4}.dat' using 1:2 with steps lw 2 lc rgb '#1f5fbf' notitle\n",
          p.display, most, data.at("burst_at_ms").get<double>(), data.at("burst_end_ms").get<double>(), p.id));
    }
    if (!panels.empty())
      plots.push_back({"threads", gnuplot_terminals("threads", fmt::format(
          "set multiplot layout {0},1 title 'Threads of each pool over time: created at 0 ms, a burst of {1} tasks "
          "(shaded), then idle (idle timeout {2} ms where there is one)'\n"
          "set lmargin 16\nset tmargin 0.5\nset bmargin 1\nset grid\nset ytics 1\nset format x ''\nunset xlabel\n"
          "set xrange [-10:{4:.0f}]\n{3}unset multiplot\n",
          panels.size(), options.timeline_burst_tasks, options.idle_timeout.count(),
          fmt::format("{}set format x '%g'\nset xlabel 'ms since the pool was created'\nset bmargin 3\n{}",
                      fmt::join(panels.begin(), panels.end() - 1, ""), panels.back()),
          end_ms),
          static_cast<int>(120 * panels.size() + 80))});
  }
  for (const auto& [bench, title] : {std::pair<std::string, std::string>{"roundtrip", "Hot round trip (submit, run, wake the submitter)"},
                                      {"trickle", "Trickle wake-up (one task per ms, submit to start)"}}) {
    std::vector<std::string> series;
    for (const auto& p : pools) {
      const fs::path raw = raw_dir / raw_file_name(bench, p.id, ".r0");
      if (!fs::exists(raw)) continue;
      write_cdf(plot_dir / fmt::format("{}_{}.dat", bench, p.id), read_json(raw).at("samples_ns").get<std::vector<int64_t>>());
      series.push_back(fmt::format("'{}_{}.dat' using 1:2 with lines lw 2 title '{}'", bench, p.id, p.display));
    }
    if (!series.empty())
      plots.push_back({bench, gnuplot_terminals(bench, fmt::format(
          "set title '{}: cumulative distribution'\nset xlabel 'microseconds (log scale)'\n"
          "set ylabel 'fraction of samples'\nset logscale x\nset key outside right\nset grid\n"
          "set yrange [0:1]\nplot {}",
          title, fmt::join(series, ", \\\n     ")))});
  }
  std::vector<std::string> drawn;
  std::string plot_note;
  // Without gnuplot the numbers are still worth having: say so, do not fail.
  const bool have_gnuplot =
      !suite.gnuplot.empty() &&
      run_process({"sh", "-c", fmt::format("command -v '{}'", suite.gnuplot)}, log_dir / "gnuplot_found.log") == 0;
  if (!have_gnuplot) {
    plot_note = "plots not drawn: gnuplot not found (apt-get install gnuplot-nox); the data is in plots/*.dat";
  } else {
    for (const Plot& p : plots) {
      write_text(plot_dir / (p.name + ".gp"), p.script);
      // gnuplot runs in the plot directory: its scripts name files relative to it.
      const std::string cmd = fmt::format("cd '{}' && '{}' '{}.gp'", plot_dir.string(), suite.gnuplot, p.name);
      if (run_process({"sh", "-c", cmd}, log_dir / ("gnuplot_" + p.name + ".log")) == 0 &&
          fs::exists(plot_dir / (p.name + ".svg")))
        drawn.push_back(p.name);
    }
    if (drawn.size() != plots.size())
      plot_note = fmt::format("some plots not drawn: is gnuplot installed (apt-get install gnuplot-nox)? See {}",
                              log_dir.string());
  }
  md << "\n## Plots\n\n";
  for (const auto& name : drawn) md << fmt::format("![{0}](plots/{0}.svg)\n\n", name);
  if (!plot_note.empty()) md << plot_note << "\n";
  write_text(out_dir / "table.md", md.str());

  fmt::print("\nsuite: {} runs in {:.0f} s, {} failed; report: {}/table.md, results.json, plots/ ({} drawn)\n",
             jobs.size(), suite_seconds, failures.size(), out_dir.string(), drawn.size());
  if (!plot_note.empty()) fmt::print("suite: {}\n", plot_note);
  // Every metric of every pool must be there (a smoke that produced
  // nothing must fail even when every process exited 0).
  std::vector<std::string> missing;
  for (const MetricDef& m : metric_defs())
    for (const auto& p : pools) {
      const bool expected = std::any_of(entries.begin(), entries.end(), [&](const BenchEntry& e) {
        return e.metric == m.bench && e.pool == p.id;
      });
      if (expected && !value_of(m.id, p.id)) missing.push_back(m.id + "/" + p.id);
    }
  if (!missing.empty()) fmt::print("suite: missing results: {}\n", fmt::join(missing, ", "));
  const bool plots_ok = !plots.empty() && (!have_gnuplot || drawn.size() == plots.size());
  return failures.empty() && missing.empty() && plots_ok ? 0 : 1;
}

}  // namespace lazywq_bench
