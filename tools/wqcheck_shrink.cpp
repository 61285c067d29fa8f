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
    const std::string what = e.what();
    if (what.rfind("the run breaks no rule", 0) == 0 || what.rfind("inconclusive:", 0) == 0) {
      fmt::print(human, "{}\n", what);
      if (json_out && json_out != stdout) std::fclose(json_out);
      return what[0] == 'i' ? 4 : 1;
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
    j["before"] = run_shape_json(shape_of(r.before));
    j["after"] = run_shape_json(shape_of(r.after));
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

namespace {

// A C++ string literal of `s`.
std::string cpp_literal(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A GoogleTest name: letters, digits and single underscores.
std::string identifier(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "Counterexample" : out;
}

}  // namespace

int cmd_export_test(const std::string& file, const std::string& out, const std::string& suite) {
  const Counterexample c = read_counterexample(file);
  const RunOptions& r = c.run;
  std::string base = file;
  if (const size_t slash = base.rfind('/'); slash != std::string::npos) base = base.substr(slash + 1);
  const std::string name = identifier(c.rule + "_" + r.scenario + "_seed" +
                                      (r.seed_text.empty() ? std::to_string(r.seed) : r.seed_text) +
                                      (r.bug == PlantedBug::none ? "" : "_" + std::string(to_string(r.bug))));
  std::string params;
  for (auto& [k, v] : r.params.all()) params += (params.empty() ? "" : ",") + k + "=" + v;
  std::string t;
  t += "// Generated by `wqcheck export-test " + base + "` (lazywq " + std::string(LAZYWQ_VERSION_STRING) + ").\n";
  t += "// " + c.headline + "\n";
  if (!c.shrunk_from.empty()) t += "// Shrunk from: " + c.shrunk_from + "\n";
  t += "// Replays the counterexample's schedule on the simulator (sim/schedule.hpp).\n";
  t += "#include <gtest/gtest.h>\n\n#include \"sim/runner.hpp\"\n#include \"sim/schedule.hpp\"\n\nnamespace {\n\n";
  t += "lazywq::sim::RunOptions " + name + "_run() {\n";
  t += "  lazywq::sim::RunOptions r;\n";
  t += "  r.scenario = " + cpp_literal(r.scenario) + ";\n";
  t += "  r.seed = lazywq::sim::parse_seed(" + cpp_literal(r.seed_text.empty() ? std::to_string(r.seed) : r.seed_text) + ");\n";
  t += "  r.strategy = \"schedule\";\n";
  t += "  r.schedule = lazywq::sim::schedule_from_text(" + cpp_literal(schedule_to_text(r.schedule)) + ");\n";
  if (!params.empty()) t += "  r.params.add(" + cpp_literal(params) + ");\n";
  if (r.max_steps != RunOptions{}.max_steps) t += "  r.max_steps = " + std::to_string(r.max_steps) + ";\n";
  if (r.horizon_ns != RunOptions{}.horizon_ns) t += "  r.horizon_ns = " + std::to_string(r.horizon_ns) + ";\n";
  if (r.prefix_steps) t += "  r.prefix_steps = " + std::to_string(r.prefix_steps) + ";  // cut where the rule is broken\n";
  t += "  return r;\n}\n\n}  // namespace\n\n";
  // The engine as shipped: the schedule breaks nothing (a fixed bug stays fixed).
  t += "TEST(" + suite + ", " + name + (r.bug != PlantedBug::none ? "_WithoutThePlantedBug" : "") + ") {\n";
  t += "  const lazywq::sim::RunOptions r = " + name + "_run();\n";
  t += "  const lazywq::sim::Outcome out = lazywq::sim::run_scenario(r);\n";
  t += "  EXPECT_FALSE(out.failed) << out.headline << \"\\nreplay: \" << lazywq::sim::replay_command(r);\n}\n";
  if (r.bug != PlantedBug::none) {
    const std::string bug(to_string(r.bug));
    t += "\n#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)\n";
    t += "// With its planted bug the schedule still breaks " + c.rule + " (the test has teeth).\n";
    t += "TEST(" + suite + ", " + name + "_WithThePlantedBug) {\n";
    t += "  lazywq::sim::RunOptions r = " + name + "_run();\n";
    t += "  r.bug = lazywq::planted_bug_from_string(" + cpp_literal(bug) + ");\n";
    t += "  const lazywq::sim::Outcome out = lazywq::sim::run_scenario(r);\n";
    t += "  bool broke = out.failed && out.rule == " + cpp_literal(c.rule) + ";\n";
    t += "  for (const auto& v : out.violations) broke = broke || v.rule == " + cpp_literal(c.rule) + ";\n";
    t += "  EXPECT_TRUE(broke) << \"expected " + c.rule + ", got \" << (out.failed ? out.headline : std::string(\"no failure\"))\n";
    t += "                     << \"\\nreplay: \" << lazywq::sim::replay_command(r);\n}\n#endif\n";
  }
  if (out.empty() || out == "-") {
    std::fputs(t.c_str(), stdout);
  } else {
    std::ofstream f(out);
    if (!f) throw std::invalid_argument("cannot write " + out);
    f << t;
    std::fprintf(stderr, "wrote %s: TEST(%s, %s%s)\n", out.c_str(), suite.c_str(), name.c_str(),
                 r.bug != PlantedBug::none ? "_WithoutThePlantedBug) and its planted twin" : ")");
  }
  return 0;
}

}  // namespace lazywq::tools
