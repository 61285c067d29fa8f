#include "tools/junit_report.hpp"

#include "sim/explore_shrink.hpp"

#include <pugixml.hpp>

#include <cstdio>
#include <string>

#include "sim/runner.hpp"

namespace lazywq::tools {
namespace {
std::string secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s);
  return b;
}
}  // namespace

bool write_junit(const std::string& path, const sim::ExploreOptions& opt, const sim::ExploreReport& r,
                 const JunitOptions& jo) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto suite = doc.append_child("testsuite");
  suite.append_attribute("name") = jo.suite.c_str();
  uint64_t tests = 0, failures = 0;
  double seconds = 0;
  for (const auto& s : r.scenarios) {
    // The scenario: passes when none of its runs failed.
    auto tc = suite.append_child("testcase");
    tc.append_attribute("classname") = jo.suite.c_str();
    tc.append_attribute("name") = (s.scenario + ": " + std::to_string(s.runs) + " runs, strategy " + opt.strategy).c_str();
    tc.append_attribute("time") = secs(s.seconds).c_str();
    seconds += s.seconds;
    ++tests;
    if (s.failures > 0) {
      ++failures;
      std::string rules;
      for (const auto& [rule, n] : s.failures_by_rule) rules += (rules.empty() ? "" : ", ") + rule + " x" + std::to_string(n);
      auto f = tc.append_child("failure");
      f.append_attribute("message") = (std::to_string(s.failures) + " failing runs: " + rules).c_str();
      f.append_attribute("type") = "explorer";
    }
    // Each failure kept: its own testcase.
    bool first = true;
    for (size_t i = 0; i < s.failed.size(); ++i) {
      const auto& [ro, out] = s.failed[i];
      auto fc = suite.append_child("testcase");
      fc.append_attribute("classname") = (jo.suite + "." + s.scenario).c_str();
      fc.append_attribute("name") = (s.scenario + " seed " + std::to_string(ro.seed) + ": " + out.rule).c_str();
      fc.append_attribute("time") = "0";
      ++tests;
      ++failures;
      auto f = fc.append_child("failure");
      f.append_attribute("message") = out.headline.c_str();
      f.append_attribute("type") = out.rule.c_str();
      std::string text = "rule: " + out.rule + "\n" + out.headline + "\nreplay: " + sim::replay_command(ro) + "\n";
      if (i < s.shrunk.size()) text += sim::shrunk_failure_lines(s.shrunk[i]);
      if (first && !jo.trace_prefix.empty())
        text += "trace: " + jo.trace_prefix + s.scenario + ".trace.json (open in ui.perfetto.dev)\n";
      f.append_child(pugi::node_pcdata).set_value(text.c_str());
      first = false;
    }
  }
  suite.append_attribute("tests") = tests;
  suite.append_attribute("failures") = failures;
  suite.append_attribute("time") = secs(seconds).c_str();
  return doc.save_file(path.c_str(), "  ");
}

}  // namespace lazywq::tools
