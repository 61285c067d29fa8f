// Scenario options as wqcheck reads them: line 1 the scenario name
// (find_scenario), line 2 the strategy spec (make_strategy), line 3 a
// planted-bug name (planted_bug_from_string, may be empty), every further
// line a `--param` value (Params::add). A bad option must be an exception
// with a message, never a crash. When everything parses and the values are
// small, the scenario runs (bounded to a few thousand scheduling points) so
// that the scenario's own checks of its parameters are fuzzed too; whatever
// the run finds is not a crash here (fuzz_sim_ops judges runs).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz/fuzz_common.hpp"
#include "sim/runner.hpp"
#include "sim/strategy.hpp"

using namespace lazywq;
using namespace lazywq::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  size_t start = 0;
  for (;;) {
    size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  while (lines.size() < 3) lines.emplace_back();
  auto expect_message = [](const std::exception& e, const char* what) {
    if (std::string(e.what()).empty()) fuzz::die(std::string(what) + " threw an empty message\n");
  };
  RunOptions ro;
  ro.max_steps = 5000;
  bool small = true;
  try {
    ro.scenario = find_scenario(lines[0]).name;
    ro.strategy = lines[1];
    (void)make_strategy(ro.strategy, 1, {1, 2, 3});
    if (!lines[2].empty()) (void)planted_bug_from_string(lines[2]);  // parsed only: never switched on here
    for (size_t i = 3; i < lines.size(); ++i) {
      ro.params.add(lines[i]);
      for (auto& [k, v] : ro.params.all()) small = small && v.size() <= 3;
    }
  } catch (const std::invalid_argument& e) {
    expect_message(e, "option parsing");
    return 0;
  } catch (const lazywq::Error& e) {
    expect_message(e, "planted_bug_from_string");
    return 0;
  }
  if (!small || lines.size() > 12) return 0;
  try {
    (void)run_scenario(ro);
  } catch (const std::invalid_argument& e) {
    expect_message(e, "run_scenario");
  } catch (const lazywq::Error& e) {
    expect_message(e, "run_scenario (engine)");
  }
  return 0;
}
