#include "tools/wqcheck_shrink.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lazywq/version.hpp"
#include "sim/counterexample.hpp"
#include "sim/trace.hpp"
#include "tools/build_info.hpp"

namespace lazywq::tools {

using namespace lazywq::sim;

namespace {

std::string default_file_name(const RunOptions& r, const std::string& rule) {
  return fmt::format("counterexample-{}-{}-{}.json", r.scenario, r.seed_text.empty() ? std::to_string(r.seed) : r.seed_text,
                     rule);
}

nlohmann::json shape(const RunShape& s) {
  return {{"steps", s.steps},         {"choice_points", s.choice_points}, {"decisions", s.decisions},
          {"preemptions", s.preemptions}, {"threads", s.threads},         {"events", s.events}};
}

}  // namespace

int cmd_shrink(const ShrinkCommand& c) {
  FILE* json_out = c.json.empty() ? nullptr : open_json_output(c.json);
  // With --json -, stdout is the JSON alone: the report goes to stderr.
  FILE* human = c.json == "-" ? stderr : stdout;
  fmt::print(human, "shrink: {}\n", c.source.empty() ? replay_command(c.run) : c.source);
  std::fflush(human);
  const bool tty = !c.quiet && isatty(2);
  ShrinkResult r;
  try {
    r = shrink_schedule(c.run, c.shrink, [&](const std::string& phase, uint64_t runs, uint64_t decisions) {
      if (tty) std::fprintf(stderr, "\r  %-28s %8llu runs, %6llu decisions left   ", phase.c_str(),
                            static_cast<unsigned long long>(runs), static_cast<unsigned long long>(decisions));
    });
  } catch (const std::invalid_argument& e) {
    if (tty) std::fprintf(stderr, "\n");
    if (std::string(e.what()).rfind("the run breaks no rule", 0) == 0) {
      fmt::print(human, "{}\n", e.what());
      if (json_out && json_out != stdout) std::fclose(json_out);
      return 1;
    }
    throw;
  }
  if (tty) std::fprintf(stderr, "\r%70s\r", "");
  fmt::print(human, "the run breaks {}\n\n", r.before.headline);
  fmt::print(human, "{}", shrink_table(r));
  fmt::print(human, "\nshrunk in {:.2f} s, {} runs{}; the same rule ({})\n", r.seconds, r.runs,
             r.cut ? " (cut by --budget/--max-runs: smaller may exist)" : ", nothing more to remove", r.rule);

  // The shrunk file must replay bit for bit, twice.
  Counterexample ce = counterexample_of(r, "wqcheck shrink", LAZYWQ_VERSION_STRING, build_commit());
  Outcome again = run_scenario(ce.run);
  Outcome third = run_scenario(ce.run);
  const bool same = again.failed && again.rule == r.rule && again.trace_hash == ce.trace_hash &&
                    third.trace_hash == ce.trace_hash;
  fmt::print(human, "replay of the shrunk schedule: {} (trace hash {:016x})\n",
             same ? "identical, twice" : "DIFFERENT (a nondeterminism in the simulator or a scenario)", again.trace_hash);

  const std::string path = c.out.empty() ? default_file_name(c.run, r.rule) : c.out;
  {
    std::ofstream f(path);
    if (!f) throw std::invalid_argument("cannot write " + path);
    f << counterexample_to_json(ce);
  }
  fmt::print(human, "schedule ({} decision{}): {}\n", ce.run.schedule.size(), ce.run.schedule.size() == 1 ? "" : "s",
             ce.run.schedule.empty() ? "(none: the default pick at every point, no preemption)"
                                     : schedule_to_text(ce.run.schedule));
  fmt::print(human, "counterexample written to {}\n  replay: wqcheck replay --file {}\n      or: {}\n", path, path,
             replay_command(ce.run));
  if (!c.trace_out.empty()) {
    std::ofstream f(c.trace_out);
    if (!f) throw std::invalid_argument("cannot write " + c.trace_out);
    f << chrome_trace_json(r.after.events, "wqcheck shrunk " + c.run.scenario + " seed " + std::to_string(c.run.seed));
    fmt::print(human, "timeline of the shrunk run written to {} (open it in ui.perfetto.dev)\n", c.trace_out);
  }
  fmt::print(human, "\n{}", failure_report(ce.run, r.after));
  if (json_out) {
    nlohmann::json j = {{"schema_version", 2},
                        {"tool", "wqcheck shrink"},
                        {"lazywq_version", lazywq_version()},
                        {"commit", build_commit()}};
    j["rule"] = r.rule;
    j["headline"] = r.after.headline;
    j["shrunk_from"] = replay_command(r.original);
    j["replay"] = replay_command(ce.run);
    j["file"] = path;
    j["schedule"] = schedule_to_text(ce.run.schedule);
    j["before"] = shape(shape_of(r.before));
    j["after"] = shape(shape_of(r.after));
    j["runs"] = r.runs;
    j["seconds"] = r.seconds;
    j["cut"] = r.cut;
    j["replays_bit_for_bit"] = same;
    j["trace_hash"] = fmt::format("{:016x}", ce.trace_hash);
    std::fprintf(json_out, "%s\n", j.dump(2).c_str());
    if (json_out != stdout) std::fclose(json_out);
  }
  return same ? 0 : 3;
}

}  // namespace lazywq::tools
