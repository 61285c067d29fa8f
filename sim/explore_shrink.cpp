#include "sim/explore_shrink.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/counterexample.hpp"

namespace lazywq::sim {

std::string counterexample_file_name(const RunOptions& r, const std::string& rule) {
  return fmt::format("{}-seed{}-{}{}.json", r.scenario, r.seed_text.empty() ? std::to_string(r.seed) : r.seed_text, rule,
                     r.bug == PlantedBug::none ? "" : "-" + std::string(to_string(r.bug)));
}

void shrink_failures(ExploreReport& r, const ShrinkFailuresOptions& opt,
                     const std::function<void(size_t, size_t)>& progress) {
  if (!opt.save_dir.empty()) {
    if (::mkdir(opt.save_dir.c_str(), 0777) != 0 && errno != EEXIST)
      throw std::invalid_argument("--save-failures " + opt.save_dir + ": cannot create it (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::stat(opt.save_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw std::invalid_argument("--save-failures " + opt.save_dir + ": not a directory");
  }
  size_t total = 0;
  for (auto& s : r.scenarios) total += s.failed.size();
  if (opt.count) total = std::min(total, opt.count);
  size_t done = 0;
  for (auto& s : r.scenarios) {
    s.shrunk.assign(s.failed.size(), ShrunkFailure{});
    for (size_t i = 0; i < s.failed.size(); ++i) {
      if (opt.count && done >= opt.count) {
        s.shrunk[i].note = "not asked (only the first failures are shrunk)";
        continue;
      }
      const auto& [ro, out] = s.failed[i];
      ShrunkFailure& sh = s.shrunk[i];
      ++done;
      if (is_process_verdict(out)) {
        sh.note = "a " + out.rule + " of the run's process: replay it under a debugger";
      } else {
        try {
          ShrinkOptions so;
          so.budget_seconds = opt.seconds_each;
          ShrinkResult res = shrink_schedule(ro, so);
          sh.done = true;
          sh.run = res.shrunk;
          sh.before = shape_of(res.before);
          sh.after = shape_of(res.after);
          sh.trace_hash = res.after.trace_hash;
          sh.runs = res.runs;
          sh.seconds = res.seconds;
          sh.cut = res.cut;
          if (!opt.save_dir.empty()) {
            sh.file = opt.save_dir + "/" + counterexample_file_name(ro, res.rule);
            std::ofstream f(sh.file);
            if (!f) throw std::invalid_argument("--save-failures: cannot write " + sh.file);
            f << counterexample_to_json(counterexample_of(res, opt.tool, opt.version, opt.commit));
          }
        } catch (const std::invalid_argument& e) {
          if (std::string(e.what()).rfind("--save-failures", 0) == 0) throw;
          sh.note = e.what();  // it did not fail again in process, or did not replay: said, not hidden
        }
      }
      if (progress) progress(done, total);
    }
  }
}

std::string shrunk_failure_lines(const ShrunkFailure& s) {
  if (!s.done) return s.note.empty() ? "" : "  not shrunk: " + s.note + "\n";
  auto pct = [](uint64_t a, uint64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 100.0; };
  std::string out = fmt::format(
      "  shrunk{}: {} preemption(s) (from {}), {} decision(s), {} steps ({:.0f}% of {}), {} threads (from {}); "
      "{} runs, {:.2f} s\n",
      s.cut ? " (cut by its budget)" : "", s.after.preemptions, s.before.preemptions, s.after.decisions, s.after.steps,
      pct(s.after.steps, s.before.steps), s.before.steps, s.after.threads, s.before.threads, s.runs, s.seconds);
  out += "    replay shrunk: " + replay_command(s.run) + "\n";
  if (!s.file.empty()) out += "    file: " + s.file + " (wqcheck replay --file " + s.file + ")\n";
  return out;
}

}  // namespace lazywq::sim
