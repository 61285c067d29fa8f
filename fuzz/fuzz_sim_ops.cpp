// The operations fuzzer: the input chooses a scenario, its knobs, the seed
// (hence operations and faults) and every schedule decision (sim/fuzz_input.hpp).
// A crash is an oracle violation, named by its rule, with the command that
// replays it.
//
// Feedback: besides code coverage, every run reports which race windows
// (lazywq::RaceWindow) were open in one thread while another thread was
// inside which window, and how often (RunResult::window_hits), through
// libFuzzer's extra counters: an input that makes two windows overlap for
// the first time, or an order of magnitude more often, is new coverage.
//
// Environment:
//   LAZYWQ_PLANTED=NAME       switch a planted bug on (planted build only)
//   LAZYWQ_FUZZ_EXPECT=RULE   only a violation of RULE is a crash, and with
//                             LAZYWQ_PLANTED only if the same input passes
//                             without the planted bug (planted-bug CI: other
//                             findings are ignored)
//   LAZYWQ_FUZZ_DETERMINISM=1 run every input twice and crash if the
//                             trace hashes differ
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "sim/fuzz_input.hpp"
#include "sim/isolate.hpp"
#include "sim/runner.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

// Extra counters: [window a][window b][log2 bucket of the hits].
constexpr size_t kHitBuckets = 16;
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t
    g_window_counters[kRaceWindows * kRaceWindows * kHitBuckets];

PlantedBug g_bug = PlantedBug::none;
std::string g_expect;
bool g_check_determinism = false;

void record_windows(const WindowHits& hits) {
  for (size_t a = 0; a < kRaceWindows; ++a)
    for (size_t b = 0; b < kRaceWindows; ++b) {
      const uint32_t h = hits[a][b];
      if (h == 0) continue;
      const size_t bucket = std::min<size_t>(static_cast<size_t>(std::bit_width(h)) - 1, kHitBuckets - 1);
      g_window_counters[(a * kRaceWindows + b) * kHitBuckets + bucket] = 1;
    }
}

// The rule and "location" of a finding, for deduplication: the scenario and
// the event types of the first violation (or the run status).
std::string dedup_key(const RunOptions& opt, const Outcome& out) {
  std::string where;
  if (!out.violations.empty()) {
    std::set<std::string> types;
    for (uint64_t seq : out.violations.front().events)
      for (const Event& e : out.events)
        if (e.seq == seq) types.insert(std::string(to_string(e.type)));
    for (auto& t : types) where += (where.empty() ? "" : "+") + t;
  }
  if (where.empty()) where = to_string(out.run.status);
  return "rule=" + out.rule + " scenario=" + opt.scenario + " where=" + where;
}

std::string report(const RunOptions& opt, const Outcome& out, const uint8_t* data, size_t size) {
  std::string rules;
  for (auto& v : out.violations)
    if (("," + rules + ",").find("," + v.rule + ",") == std::string::npos) rules += (rules.empty() ? "" : ",") + v.rule;
  if (rules.empty()) rules = out.rule;
  std::string env = opt.bug == PlantedBug::none ? "" : "LAZYWQ_PLANTED=" + std::string(to_string(opt.bug)) + " ";
  const std::string file = "crash-" + fuzz::sha1_hex(data, size);
  std::string r = "\n==lazywq-fuzz== FAIL rule " + out.rule + " (rules: " + rules + ")\n";
  r += "==lazywq-fuzz== DEDUP " + dedup_key(opt, out) + "\n";
  r += "==lazywq-fuzz== input: " + describe_fuzz_input(opt) + "\n";
  r += fuzz_failure_report(opt, out, file);
  r += "      or: " + env + "fuzz_sim_ops " + file + "\n";
  r += "  (libFuzzer writes the input to <artifact_prefix>" + file + ")\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  try {
    if (const char* b = std::getenv("LAZYWQ_PLANTED"); b && *b) g_bug = planted_bug_from_string(b);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_sim_ops: LAZYWQ_PLANTED: %s\n", e.what());
    std::exit(2);
  }
#if !defined(LAZYWQ_ENABLE_PLANTED_BUGS)
  if (g_bug != PlantedBug::none) {
    std::fprintf(stderr, "fuzz_sim_ops: LAZYWQ_PLANTED needs a build with -DLAZYWQ_PLANTED_BUGS=ON\n");
    std::exit(2);
  }
#endif
  if (const char* e = std::getenv("LAZYWQ_FUZZ_EXPECT")) g_expect = e;
  if (const char* d = std::getenv("LAZYWQ_FUZZ_DETERMINISM")) g_check_determinism = std::string(d) == "1";
  if (g_bug != PlantedBug::none || !g_expect.empty())
    std::fprintf(stderr, "fuzz_sim_ops: planted bug %s, reporting %s\n", std::string(to_string(g_bug)).c_str(),
                 g_expect.empty() ? "every violation" : ("only rule " + g_expect).c_str());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const RunOptions opt = decode_fuzz_input(data, size, g_bug);
  // A run that crashes (an engine that corrupts memory, a harness bug)
  // still says what it was and how to replay it; libFuzzer then writes
  // the input as crash-<sha1>.
  const std::string file = "crash-" + fuzz::sha1_hex(data, size);
  std::optional<CrashNote> note;
  note.emplace("\n==lazywq-fuzz== FAIL rule crash (the run died: a crash is never a pass)\n"
               "==lazywq-fuzz== DEDUP rule=crash scenario=" + opt.scenario + " where=crash\n"
               "==lazywq-fuzz== input: " + describe_fuzz_input(opt) + "\n" +
               "  replay: " + fuzz_replay_command(opt, file) + "\n",
               0, std::string{}, std::string{}, CrashNote::Hooks::signals_only);
  test_fault(opt.scenario, opt.seed);  // test hook: nothing unless LAZYWQ_TEST_FAULT arms it
  Outcome out;
  try {
    out = run_scenario(opt);
  } catch (const std::exception& e) {
    note.reset();  // a finding ends the process on purpose: not a crash
    fuzz::die("\n==lazywq-fuzz== FAIL rule decode: the decoder built invalid options (" + describe_fuzz_input(opt) +
              "): " + e.what() + "\n");
  }
  record_windows(out.run.window_hits);
  if (g_check_determinism) {
    const Outcome again = run_scenario(opt);
    if (again.trace_hash != out.trace_hash || again.rule != out.rule) {
      note.reset();
      fuzz::die("\n==lazywq-fuzz== FAIL rule determinism: two runs of one input differ (" +
                describe_fuzz_input(opt) + ")\n");
    }
  }
  if (!out.failed) return 0;
  if (!g_expect.empty()) {
    bool has = out.rule == g_expect;
    for (auto& v : out.violations) has = has || v.rule == g_expect;
    if (!has) return 0;
    if (g_bug != PlantedBug::none) {
      // Attribution: the finding counts only if the same input passes with
      // the planted bug switched off.
      RunOptions clean = opt;
      clean.bug = PlantedBug::none;
      if (run_scenario(clean).failed) return 0;
    }
  }
  note.reset();
  fuzz::die(report(opt, out, data, size));
}
