#include "sim/explorer.hpp"

#include "sim/knobs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <optional>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "sim/counterexample.hpp"
#include "sim/isolate.hpp"

namespace lazywq::sim {

uint64_t ExploreReport::failures() const {
  uint64_t n = 0;
  for (auto& s : scenarios) n += s.failures;
  return n;
}

namespace {

using clock_type = std::chrono::steady_clock;

RunOptions run_options(const ExploreOptions& opt, const std::string& scenario, uint64_t seed) {
  RunOptions ro;
  ro.scenario = scenario;
  ro.seed = seed;
  ro.strategy = opt.strategy;
  ro.params = opt.params;
  ro.bug = opt.bug;
  ro.max_steps = opt.max_steps;
  ro.horizon_ns = opt.horizon_ns;
  if (seed == opt.seed_first && !opt.seed_first_text.empty()) ro.seed_text = opt.seed_first_text;
  return ro;
}

Outcome run_one(const RunOptions& ro) {
  test_fault(ro.scenario, ro.seed);  // test hook: nothing unless LAZYWQ_TEST_FAULT arms it
  return run_scenario(ro);
}

// A failure that ends the exploration under stop_on_first.
bool stops_exploration(const ExploreOptions& opt, const std::string& rule) {
  return opt.stop_on_first &&
         (opt.stop_rules.empty() || std::find(opt.stop_rules.begin(), opt.stop_rules.end(), rule) != opt.stop_rules.end());
}

// Folds one run into the summary; returns true when the scenario must stop
// (stop_after_failures reached, or a failure that stops the exploration).
bool add_run(ScenarioSummary& sum, const ExploreOptions& opt, const RunOptions& ro, Outcome&& out,
             const ActivityPairs& pairs) {
  ++sum.runs;
  sum.total_steps += out.run.steps;
  if (!is_process_verdict(out)) sum.strategy_report = out.run.strategy_report;
  for (size_t a = 0; a < kRaceWindows; ++a)
    for (size_t b = 0; b < kRaceWindows; ++b) sum.window_hits[a][b] += out.run.window_hits[a][b];
  add_pairs(sum.activity_pairs, pairs);
  sum.knobs.insert(out.knobs.begin(), out.knobs.end());
  if (!out.failed) {
    sum.longest_pass_ns = std::max(sum.longest_pass_ns, out.run.virtual_ns);
    sum.longest_pass_steps = std::max(sum.longest_pass_steps, out.run.steps);
    sum.longest_pass_wait_ns = std::max(sum.longest_pass_wait_ns, out.run.longest_workload_wait_ns);
    return false;
  }
  ++sum.failures;
  ++sum.failures_by_rule[out.rule];
  const bool stop_here = stops_exploration(opt, out.rule);
  if (static_cast<int>(sum.failed.size()) < opt.max_failures_per_scenario)
    sum.failed.emplace_back(ro, std::move(out));  // with its events: the report prints its trace
  if (stop_here || (opt.stop_after_failures != 0 && sum.failures >= opt.stop_after_failures)) {
    sum.stopped_early = true;
    return true;
  }
  return false;
}

// ---- the child -> parent stream: frames of [u32 length][payload] ----

struct Writer {
  std::string b;
  void u8(uint8_t v) { b.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void u64(uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    b += s;
  }
};

struct Reader {
  const std::string& b;
  size_t at = 0;
  void need(size_t n) {
    if (b.size() - at < n) throw std::runtime_error("explorer: truncated record from a child process");
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(b[at++]);
  }
  uint32_t u32() {
    uint32_t v;
    need(sizeof v);
    std::memcpy(&v, b.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    need(sizeof v);
    std::memcpy(&v, b.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    uint32_t n = u32();
    need(n);
    std::string s = b.substr(at, n);
    at += n;
    return s;
  }
};

enum Frame : uint8_t { kRun = 'R', kBatchDone = 'D', kBudgetCut = 'B' };

// One run: the digest the summary needs and, for a failure the report keeps,
// the whole outcome (events, violations, threads at the end).
void write_run(Writer& w, const Outcome& out, const ActivityPairs& pairs, bool keep) {
  w.u8(kRun);
  w.u64(out.run.steps);
  w.u64(static_cast<uint64_t>(out.run.virtual_ns));
  w.u64(static_cast<uint64_t>(out.run.longest_workload_wait_ns));
  w.str(out.run.strategy_report);
  uint32_t nz = 0;
  for (auto& row : out.run.window_hits)
    for (auto v : row) nz += v ? 1 : 0;
  w.u32(nz);
  for (size_t a = 0; a < kRaceWindows; ++a)
    for (size_t b = 0; b < kRaceWindows; ++b)
      if (out.run.window_hits[a][b]) {
        w.u32(static_cast<uint32_t>(a * kRaceWindows + b));
        w.u32(out.run.window_hits[a][b]);
      }
  nz = 0;
  for (auto& row : pairs)
    for (auto v : row) nz += v ? 1 : 0;
  w.u32(nz);
  for (size_t a = 0; a < kDurationActivities; ++a)
    for (size_t b = 0; b < kActivities; ++b)
      if (pairs[a][b]) {
        w.u32(static_cast<uint32_t>(a * kActivities + b));
        w.u8(pairs[a][b]);
      }
  w.u32(static_cast<uint32_t>(out.knobs.size()));
  for (auto& k : out.knobs) w.str(k);
  w.u8(out.failed ? 1 : 0);
  if (!out.failed) return;
  w.str(out.rule);
  w.u8(keep ? 1 : 0);
  if (!keep) return;
  w.str(out.headline);
  w.u8(static_cast<uint8_t>(out.run.status));
  w.str(out.run.message);
  w.u32(out.run.threads);
  w.u64(out.run.schedule_hash);
  w.u64(out.trace_hash);
  w.u32(static_cast<uint32_t>(out.violations.size()));
  for (auto& v : out.violations) {
    w.str(v.rule);
    w.str(v.message);
    w.u32(static_cast<uint32_t>(v.events.size()));
    for (auto e : v.events) w.u64(e);
  }
  w.u32(static_cast<uint32_t>(out.events.size()));
  for (auto& e : out.events) {
    w.u64(e.seq);
    w.u64(static_cast<uint64_t>(e.time_ns));
    w.u32(e.thread);
    w.u32(static_cast<uint32_t>(e.cpu));
    w.u32(e.queue);
    w.u64(e.work);
    w.u32(static_cast<uint32_t>(e.type));
    w.u32(static_cast<uint32_t>(e.arg));
    w.u64(e.upto);
  }
  w.u32(static_cast<uint32_t>(out.config_lines.size()));
  for (auto& c : out.config_lines) w.str(c);
}

Outcome read_run(Reader& r, ActivityPairs& pairs) {
  Outcome out;
  out.run.steps = r.u64();
  out.run.virtual_ns = static_cast<int64_t>(r.u64());
  out.run.longest_workload_wait_ns = static_cast<int64_t>(r.u64());
  out.run.strategy_report = r.str();
  for (uint32_t n = r.u32(); n > 0; --n) {
    uint32_t i = r.u32();
    uint32_t v = r.u32();
    if (i < kRaceWindows * kRaceWindows) out.run.window_hits[i / kRaceWindows][i % kRaceWindows] = v;
  }
  pairs = {};
  for (uint32_t n = r.u32(); n > 0; --n) {
    uint32_t i = r.u32();
    uint8_t v = r.u8();
    if (i < kDurationActivities * kActivities) pairs[i / kActivities][i % kActivities] = v;
  }
  for (uint32_t n = r.u32(); n > 0; --n) out.knobs.insert(r.str());
  out.failed = r.u8() != 0;
  if (!out.failed) return out;
  out.rule = r.str();
  if (r.u8() == 0) return out;
  out.headline = r.str();
  out.run.status = static_cast<RunStatus>(r.u8());
  out.run.message = r.str();
  out.run.threads = r.u32();
  out.run.schedule_hash = r.u64();
  out.trace_hash = r.u64();
  for (uint32_t n = r.u32(); n > 0; --n) {
    check::Violation v;
    v.rule = r.str();
    v.message = r.str();
    for (uint32_t k = r.u32(); k > 0; --k) v.events.push_back(r.u64());
    out.violations.push_back(std::move(v));
  }
  const uint32_t nev = r.u32();
  out.events.reserve(nev);
  for (uint32_t n = nev; n > 0; --n) {
    Event e;
    e.seq = r.u64();
    e.time_ns = static_cast<int64_t>(r.u64());
    e.thread = r.u32();
    e.cpu = static_cast<int32_t>(r.u32());
    e.queue = r.u32();
    e.work = r.u64();
    e.type = static_cast<EventType>(r.u32());
    e.arg = static_cast<int32_t>(r.u32());
    e.upto = r.u64();
    out.events.push_back(e);
  }
  for (uint32_t n = r.u32(); n > 0; --n) out.config_lines.push_back(r.str());
  return out;
}

bool write_frame(int fd, const std::string& payload) {
  std::string f(sizeof(uint32_t), '\0');
  const uint32_t len = static_cast<uint32_t>(payload.size());
  std::memcpy(f.data(), &len, sizeof len);
  f += payload;
  const char* p = f.data();
  size_t n = f.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string read_whole_fd(int fd) {
  std::string text;
  if (::lseek(fd, 0, SEEK_SET) < 0) return text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::string fmt_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", s);
  return b;
}

// The last lines of a dead child's stderr, indented, for the report.
std::string stderr_tail(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string l = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!l.empty()) lines.push_back(l);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
    out += "  " + lines[i] + "\n";
  return out;
}

// Shared with the children (MAP_SHARED): how many runs the current child
// has started. A child sends its finished runs in chunks (a write per run
// would cost more than the run); when it dies the parent knows from here
// which run was going, and runs the finished-but-unsent ones again.
struct ChildProgress {
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> steps{0};  // the run's step count, now and then (World::publish_steps_to)
};

ChildProgress* child_progress() {
  static ChildProgress* p = [] {
    void* m = ::mmap(nullptr, sizeof(ChildProgress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("explorer: mmap: " + std::string(std::strerror(errno)));
    return new (m) ChildProgress;
  }();
  return p;
}

// The seeds of one scenario in this shard: seeds[i] = first + i * stride,
// i < size (never materialised: a budgeted run may span 10^8 seeds).
struct SeedSeq {
  uint64_t first = 0, stride = 1;
  size_t n = 0;
  uint64_t operator[](size_t i) const { return first + static_cast<uint64_t>(i) * stride; }
  size_t size() const { return n; }
};

// A crash or timeout seen at seeds[index], recorded once the runs before it
// (finished in the dead child but never sent) have been run again.
struct PendingVerdict {
  size_t index = 0;
  RunOptions ro;
  Outcome out;
};

// The child: runs seeds[first, last) in order, sends chunks of run frames;
// never returns.
[[noreturn]] void child_main(const ExploreOptions& opt, const ScenarioSummary& sum, const SeedSeq& seeds,
                             size_t first, size_t last, clock_type::time_point sc_start, double sc_budget, int fd,
                             FILE* err) {
  if (err) ::dup2(::fileno(err), 2);
  ChildProgress* prog = child_progress();
  World::publish_steps_to(&prog->steps);
  uint64_t failures = sum.failures;  // counts so far: stop-after and kept failures as in-process
  size_t kept = sum.failed.size();
  Writer w;
  auto flush = [&] {
    if (!w.b.empty() && !write_frame(fd, w.b)) ::_exit(3);
    w.b.clear();
  };
  for (size_t i = first; i < last; ++i) {
    if (sc_budget > 0 && std::chrono::duration<double>(clock_type::now() - sc_start).count() > sc_budget) {
      w.u8(kBudgetCut);
      flush();
      ::_exit(0);
    }
    prog->started.store(i - first + 1, std::memory_order_release);
    const RunOptions ro = run_options(opt, sum.scenario, seeds[i]);
    Outcome out = run_one(ro);
    const ActivityPairs pairs = activity_pairs(out.events);
    const bool keep = out.failed && static_cast<int>(kept) < opt.max_failures_per_scenario;
    write_run(w, out, pairs, keep);
    if (out.failed) {
      ++failures;
      kept += keep ? 1 : 0;
      if (stops_exploration(opt, out.rule) || (opt.stop_after_failures != 0 && failures >= opt.stop_after_failures)) {
        flush();
        ::_exit(0);
      }
    }
    if (w.b.size() >= 48 * 1024 || (i - first + 1) % 64 == 0) flush();
  }
  w.u8(kBatchDone);
  flush();
  ::_exit(0);
}

// One scenario, its seeds run in child processes of `opt.batch` runs each.
void explore_isolated(const ExploreOptions& opt, ScenarioSummary& sum, const SeedSeq& seeds,
                      clock_type::time_point sc_start, double sc_budget,
                      const std::function<void(const std::string&, uint64_t, uint64_t, uint64_t)>& progress,
                      uint64_t mine) {
  const uint64_t batch = opt.batch ? opt.batch : 1;
  ChildProgress* prog = child_progress();
  size_t next = 0;  // index into seeds of the first seed not yet run
  uint64_t done = 0;
  bool stop = false;
  std::optional<PendingVerdict> pending;
  auto add_verdict = [&](PendingVerdict&& v) {
    ++done;
    if (add_run(sum, opt, v.ro, std::move(v.out), ActivityPairs{})) stop = true;
    if (progress) progress(sum.scenario, done, mine, sum.failures);
    next = v.index + 1;
  };
  while (!stop && next < seeds.size()) {
    if (pending && next == pending->index) {
      add_verdict(std::move(*pending));
      pending.reset();
      continue;
    }
    if (sc_budget > 0 && std::chrono::duration<double>(clock_type::now() - sc_start).count() > sc_budget) {
      sum.budget_cut = true;
      break;
    }
    const size_t first = next;
    const size_t last = std::min(pending ? pending->index : seeds.size(), next + static_cast<size_t>(batch));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("explorer: pipe: " + std::string(std::strerror(errno)));
    FILE* err = std::tmpfile();  // the child's stderr: forwarded, and its last words read on a crash
    prog->started.store(0);
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("explorer: fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      ::close(fds[0]);
      child_main(opt, sum, seeds, first, last, sc_start, sc_budget, fds[1], err);
    }
    ::close(fds[1]);
    // The parent: reads frames; a run that makes no progress (the started
    // count stays) for run_timeout_seconds is killed.
    std::string buf;
    size_t cursor = first;  // the first seed whose run was not received
    bool ended = false, timed_out = false, eof = false;
    uint64_t seen_started = 0, seen_steps = 0;
    auto last_progress = clock_type::now();
    auto last_step = last_progress;  // when the step count last moved (or a run started)
    while (!eof && !stop) {
      int wait_ms = -1;
      if (opt.run_timeout_seconds > 0) {
        const uint64_t st = prog->started.load(std::memory_order_acquire);
        const uint64_t steps = prog->steps.load(std::memory_order_relaxed);
        if (st != seen_started) {
          seen_started = st;
          last_progress = last_step = clock_type::now();
        }
        if (steps != seen_steps) {
          seen_steps = steps;
          last_step = clock_type::now();
        }
        const double left =
            opt.run_timeout_seconds - std::chrono::duration<double>(clock_type::now() - last_progress).count();
        if (left <= 0) {
          timed_out = true;
          break;
        }
        wait_ms = static_cast<int>(std::min(left * 1000.0 + 1, 250.0));
      }
      pollfd pfd{fds[0], POLLIN, 0};
      int pr = ::poll(&pfd, 1, wait_ms);
      if (pr < 0 && errno == EINTR) continue;
      if (pr == 0) continue;  // the deadline is checked above
      char chunk[65536];
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
        break;
      }
      buf.append(chunk, static_cast<size_t>(n));
      size_t used = 0;
      while (buf.size() - used >= sizeof(uint32_t)) {
        uint32_t len;
        std::memcpy(&len, buf.data() + used, sizeof len);
        if (buf.size() - used - sizeof len < len) break;
        const std::string payload = buf.substr(used + sizeof len, len);
        used += sizeof len + len;
        Reader r{payload};
        while (!stop && r.at < payload.size()) {
          const uint8_t kind = r.u8();
          if (kind == kBudgetCut) {
            sum.budget_cut = true;
            ended = stop = true;
          } else if (kind == kBatchDone) {
            ended = true;
          } else if (kind == kRun && cursor < last) {
            ActivityPairs pairs{};
            Outcome out = read_run(r, pairs);
            const RunOptions ro = run_options(opt, sum.scenario, seeds[cursor]);
            ++cursor;
            ++done;
            if (add_run(sum, opt, ro, std::move(out), pairs)) {
              if (progress) progress(sum.scenario, done, mine, sum.failures);
              stop = true;
            } else if (progress && (done % 64 == 0 || cursor == seeds.size())) {
              progress(sum.scenario, done, mine, sum.failures);
            }
          } else {
            throw std::runtime_error("explorer: garbled record from a child process");
          }
        }
      }
      buf.erase(0, used);
    }
    if (timed_out || (stop && !eof)) ::kill(pid, SIGKILL);
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string err_text;
    if (err) {
      err_text = read_whole_fd(::fileno(err));
      std::fclose(err);
    }
    // Keep what the child wrote (a sanitizer's report, a warning).
    if (!err_text.empty()) std::fwrite(err_text.data(), 1, err_text.size(), stderr);
    next = cursor;
    if (stop || ended) continue;
    const uint64_t started = prog->started.load(std::memory_order_acquire);
    if (started == 0 || first + started - 1 < cursor) {
      // It died between runs (every started run was received): nothing to
      // blame on a seed; the next child goes on.
      if (cursor >= last) continue;
      // Died before starting a run it was given: count it against that run.
    }
    const size_t index = started == 0 ? first : std::max(cursor, first + static_cast<size_t>(started) - 1);
    if (index >= last) continue;
    // The child died or spun during the run of seeds[index].
    PendingVerdict v;
    v.index = index;
    v.ro = run_options(opt, sum.scenario, seeds[index]);
    Outcome& out = v.out;
    out.failed = true;
    out.run.status = RunStatus::crashed;
    out.run.threads = 0;  // marks a process verdict (is_process_verdict)
    const std::string batch_note = "the explorer ran seeds " + std::to_string(seeds[first]) + ".." +
                                   std::to_string(seeds[last - 1]) + " of this scenario in child process " +
                                   std::to_string(pid) + "; " + std::to_string(index - first) +
                                   " ran before this one (reported); the seeds after it run in a new child";
    if (timed_out) {
      ++sum.timeouts;
      out.rule = "timeout";
      // The child stores its step count every 1024 points: still at the
      // same count for a second (half the timeout, if shorter) means not
      // one scheduling point: a run a thousand times slower than usual.
      const double still = std::chrono::duration<double>(clock_type::now() - last_step).count();
      const double still_enough = std::min(1.0, opt.run_timeout_seconds / 2);
      const std::string steps_at = "about step " + std::to_string(seen_steps);
      out.headline = "timeout: the run did not finish within " + fmt_seconds(opt.run_timeout_seconds) +
                     " s of wall-clock time (--run-timeout " + fmt_seconds(opt.run_timeout_seconds) +
                     "), so the explorer killed it. A harness verdict, not the simulator's: " +
                     (still >= still_enough ? "no scheduling point for the last " + fmt_seconds(still) + " s (at " + steps_at +
                                         "), so the engine spins in a loop with no atomic, lock or yield"
                                   : "the run was still taking scheduling points (at " + steps_at +
                                         "), only slowly: the step limit (--max-steps) or the horizon "
                                         "(--horizon) would have ended it; give a larger --run-timeout");
      out.run.message = batch_note + ".\nthe child was killed with SIGKILL after " +
                        fmt_seconds(opt.run_timeout_seconds) + " s without finishing this run";
      if (opt.stop_after_timeouts != 0 && sum.timeouts >= opt.stop_after_timeouts) sum.stopped_on_timeout = true;
    } else {
      const std::string line = crash_summary_line(err_text);
      out.rule = "crash";
      out.headline = "crash: the run's process " + describe_wait_status(status) + (line.empty() ? "" : ": " + line);
      out.run.message = batch_note + ".\n";
      // A sanitizer's report: its head (the error and the top frames) says
      // more than its tail (the shadow-byte legend).
      const size_t report_at = err_text.find("ERROR: ");
      const size_t line_at = report_at == std::string::npos ? std::string::npos : err_text.rfind('\n', report_at);
      const std::string tail =
          report_at == std::string::npos
              ? stderr_tail(err_text, 12)
              : stderr_tail(err_text.substr(line_at == std::string::npos ? 0 : line_at + 1, 1500), 12);
      out.run.message += tail.empty() ? "the child wrote nothing to stderr" : "the child's last words on stderr:\n" + tail;
    }
    if (cursor == index) {
      add_verdict(std::move(v));
    } else {
      pending = std::move(v);  // the runs in [cursor, index) finished but were not sent: run them again first
    }
    if (sum.stopped_on_timeout) stop = true;
  }
  // Stopped (budget, stop-after) before the unsent runs before a crash were
  // run again: the crash is reported all the same.
  if (pending) add_verdict(std::move(*pending));
}

}  // namespace

bool is_process_verdict(const Outcome& out) {
  return out.failed && out.run.status == RunStatus::crashed && out.run.threads == 0 &&
         (out.rule == "crash" || out.rule == "timeout");
}

std::string explore_failure_report(const ExploreOptions& opt, const RunOptions& ro, const Outcome& out) {
  if (!is_process_verdict(out)) return failure_report(ro, out);
  std::string r = "FAIL " + out.headline + "\n";
  r += "  scenario " + ro.scenario + ", seed " + std::to_string(ro.seed) + ", strategy " + ro.strategy;
  if (ro.bug != PlantedBug::none) r += ", planted bug " + std::string(to_string(ro.bug));
  r += "\n";
  size_t start = 0;
  const std::string& m = out.run.message;
  while (start < m.size()) {
    size_t nl = m.find('\n', start);
    std::string line = m.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) r += "  " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  r += "  replay: " + replay_command(ro) + "\n";
  r += "  (the replay runs in one process: it " +
       std::string(out.rule == "timeout" ? "spins the same way; run it under `timeout " +
                                               fmt_seconds(opt.run_timeout_seconds) + "` or gdb to see where"
                                         : "crashes the same way; run it under gdb or an asan build") +
       ")\n";
  const std::string hook = test_fault_setting();
  if (!hook.empty()) r += "  (test hook armed in the explorer: " + hook + "; `wqcheck replay` does not run it)\n";
  return r;
}

ExploreReport explore(const ExploreOptions& opt,
                      const std::function<void(const std::string&, uint64_t, uint64_t, uint64_t)>& progress) {
  // The budget is the explorer's own, outside the simulated world: wall
  // clock is fine here and never reaches a run.
  const auto start = clock_type::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - start).count(); };
  std::vector<std::string> names = opt.scenarios;
  if (names.empty())
    for (auto& s : all_scenarios()) names.push_back(s.name);
  for (auto& n : names) (void)find_scenario(n);  // fail fast on a typo

  ExploreReport report;
  const uint64_t span = opt.seed_last - opt.seed_first + 1;
  const uint64_t mine = span / static_cast<uint64_t>(opt.shard_count) +
                        (span % static_cast<uint64_t>(opt.shard_count) > static_cast<uint64_t>(opt.shard_index) ? 1 : 0);
  for (size_t si = 0; si < names.size(); ++si) {
    if (opt.stop_on_first && std::any_of(report.scenarios.begin(), report.scenarios.end(), [&](const ScenarioSummary& s) {
          return std::any_of(s.failures_by_rule.begin(), s.failures_by_rule.end(),
                             [&](const auto& kv) { return stops_exploration(opt, kv.first); });
        }))
      break;
    ScenarioSummary sum;
    sum.scenario = names[si];
    const auto sc_start = clock_type::now();
    // An even share of what is left of the budget for each scenario left.
    // Spent (a scenario overran it, e.g. by a run timeout): a tiny positive
    // share, never 0, which would mean no budget at all.
    const double sc_budget =
        opt.budget_seconds > 0
            ? std::max((opt.budget_seconds - elapsed()) / static_cast<double>(names.size() - si), 1e-9)
            : 0;
    if (opt.isolate) {
      // The parent runs no engine code: it keeps the report whatever a child does.
      SeedSeq seeds;
      seeds.first = opt.seed_first + static_cast<uint64_t>(opt.shard_index);
      seeds.stride = static_cast<uint64_t>(opt.shard_count);
      seeds.n = opt.seed_first + static_cast<uint64_t>(opt.shard_index) > opt.seed_last ? 0 : static_cast<size_t>(mine);
      explore_isolated(opt, sum, seeds, sc_start, sc_budget, progress, mine);
      sum.seconds = std::chrono::duration<double>(clock_type::now() - sc_start).count();
      report.scenarios.push_back(std::move(sum));
      continue;
    }
    uint64_t done = 0;
    for (uint64_t seed = opt.seed_first + static_cast<uint64_t>(opt.shard_index); seed <= opt.seed_last;
         seed += static_cast<uint64_t>(opt.shard_count)) {
      if (sc_budget > 0 && std::chrono::duration<double>(clock_type::now() - sc_start).count() > sc_budget) {
        sum.budget_cut = true;
        break;
      }
      const RunOptions ro = run_options(opt, sum.scenario, seed);
      Outcome out = run_one(ro);
      const ActivityPairs pairs = activity_pairs(out.events);
      if (add_run(sum, opt, ro, std::move(out), pairs)) {
        if (progress) progress(sum.scenario, done + 1, mine, sum.failures);
        break;
      }
      if (progress && (++done % 64 == 0 || seed + static_cast<uint64_t>(opt.shard_count) > opt.seed_last))
        progress(sum.scenario, done, mine, sum.failures);
      if (seed > UINT64_MAX - static_cast<uint64_t>(opt.shard_count)) break;
    }
    sum.seconds = std::chrono::duration<double>(clock_type::now() - sc_start).count();
    report.scenarios.push_back(std::move(sum));
  }
  return report;
}

std::string summary_table(const ExploreReport& r) {
  std::string out = fmt::format("{:<20} {:>8} {:>8} {:>10} {:>10}  {}\n", "scenario", "runs", "failed", "exec/s",
                                "steps/run", "rules broken");
  for (auto& s : r.scenarios) {
    std::string rules;
    for (auto& [rule, n] : s.failures_by_rule) rules += (rules.empty() ? "" : ", ") + rule + " x" + std::to_string(n);
    if (rules.empty()) rules = "-";
    if (s.budget_cut) rules += "  (budget reached)";
    if (s.stopped_early) rules += "  (stopped after " + std::to_string(s.failures) + " failures)";
    if (s.stopped_on_timeout) rules += "  (stopped after " + std::to_string(s.timeouts) + " wall-clock timeouts)";
    out += fmt::format("{:<20} {:>8} {:>8} {:>10.0f} {:>10.0f}  {}\n", s.scenario, s.runs, s.failures,
                       s.seconds > 0 ? static_cast<double>(s.runs) / s.seconds : 0.0,
                       s.runs ? static_cast<double>(s.total_steps) / static_cast<double>(s.runs) : 0.0, rules);
  }
  return out;
}

std::string window_table(const ExploreReport& r) {
  std::array<std::array<uint64_t, kRaceWindows>, kRaceWindows> tot{};
  for (auto& s : r.scenarios)
    for (size_t a = 0; a < kRaceWindows; ++a)
      for (size_t b = 0; b < kRaceWindows; ++b) tot[a][b] += s.window_hits[a][b];
  std::string out = "race window          hits with another thread inside   (top partner windows)\n";
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
    out += fmt::format("{:<20} {:>12} {} {}\n", to_string(static_cast<RaceWindow>(a)), sum, sum ? "  " : "  NEVER HIT",
                       top);
  }
  return out;
}

namespace {
std::string hex16(uint64_t v) { return fmt::format("{:016x}", v); }
}  // namespace

std::string report_json(const ExploreOptions& opt, const ExploreReport& r, const ReportOrigin& origin) {
  using nlohmann::json;
  json j;
  j["schema_version"] = 2;
  j["tool"] = origin.tool;
  j["lazywq_version"] = origin.version;
  j["commit"] = origin.commit;
  j["strategy"] = opt.strategy;
  j["seeds"] = {{"first", std::to_string(opt.seed_first)}, {"last", std::to_string(opt.seed_last)}};
  j["shard"] = {{"index", opt.shard_index}, {"count", opt.shard_count}};
  j["planted_bug"] = std::string(to_string(opt.bug));
  j["isolation"] = {{"mode", opt.isolate ? "fork" : "in-process"},
                    {"batch", opt.batch},
                    {"run_timeout_seconds", opt.isolate ? opt.run_timeout_seconds : 0.0}};
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
               {"timeouts", s.timeouts},
               {"stopped_on_timeout", s.stopped_on_timeout},
               {"longest_pass",
                {{"virtual_ns", s.longest_pass_ns},
                 {"steps", s.longest_pass_steps},
                 {"workload_wait_ns", s.longest_pass_wait_ns}}},
               {"failures_by_rule", s.failures_by_rule}};
    json fs = json::array();
    for (size_t i = 0; i < s.failed.size(); ++i) {
      const auto& [ro, out] = s.failed[i];
      json f = {{"seed", std::to_string(ro.seed)}, {"rule", out.rule}, {"headline", out.headline},
                {"replay", replay_command(ro)}, {"trace_hash", hex16(out.trace_hash)},
                {"process_verdict", is_process_verdict(out)}};
      if (i < s.shrunk.size() && s.shrunk[i].done) {
        const ShrunkFailure& sh = s.shrunk[i];
        f["shrunk"] = {{"replay", replay_command(sh.run)}, {"schedule", schedule_to_text(sh.run.schedule)},
                       {"file", sh.file},  {"trace_hash", hex16(sh.trace_hash)},
                       {"before", run_shape_json(sh.before)}, {"after", run_shape_json(sh.after)},
                       {"runs", sh.runs},   {"seconds", sh.seconds}, {"cut", sh.cut}};
      } else if (i < s.shrunk.size()) {
        f["shrunk"] = {{"not_shrunk", s.shrunk[i].note}};
      }
      fs.push_back(f);
    }
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
