#include "sim/fuzz_input.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

#include "sim/scenario.hpp"

namespace lazywq::sim {
namespace {

FuzzKnob range(const std::string& key, int lo, int hi) {
  FuzzKnob k{key, {}};
  for (int v = lo; v <= hi; ++v) k.values.push_back(std::to_string(v));
  return k;
}
FuzzKnob list(const std::string& key, std::vector<std::string> values) { return FuzzKnob{key, std::move(values)}; }

// Engine knobs every scenario reads (ScenarioContext::engine_config),
// around the scenarios' defaults.
std::vector<FuzzKnob> engine_knobs(int max_cpus) {
  return {range("ncpus", 2, max_cpus), list("idle_us", {"5", "10", "20", "50", "100", "200", "500"}),
          list("cooldown_us", {"5", "10", "30", "100"})};
}

std::vector<FuzzKnob> with(std::vector<FuzzKnob> base, std::initializer_list<FuzzKnob> more) {
  base.insert(base.end(), more);
  return base;
}

const std::map<std::string, std::vector<FuzzKnob>>& knob_table() {
  // The ranges of the scenarios' own swarm draws (scenarios.cpp), so a
  // fixed knob never makes a run the explorer could not make.
  static const std::map<std::string, std::vector<FuzzKnob>> table = {
      {"creation_failure", with(engine_knobs(6), {list("fail_p", {"0.3", "0.6", "0.9", "1"}), range("clients", 1, 3),
                                                  range("ops", 6, 20), range("works", 2, 6)})},
      {"idle_exit", with(engine_knobs(4), {range("rounds", 4, 12), range("clients", 1, 2)})},
      {"migration", with(engine_knobs(6), {range("burst", 2, 6), range("rounds", 2, 5), range("works", 4, 10)})},
      {"hotplug", with(engine_knobs(6), {list("kind", {"0", "1", "4"}), range("ops", 8, 20)})},
      {"flush_cancel_storm", with(engine_knobs(4), {range("kind", 0, 4), range("ops", 8, 24), range("works", 2, 5),
                                                    range("clients", 2, 3)})},
      {"delayed", with(engine_knobs(4), {range("ops", 8, 20), range("delayed", 1, 4), range("max_delay_us", 5, 100)})},
      {"mixed", with(engine_knobs(6), {range("kind", 0, 4), list("fail_p", {"0", "0.2", "0.5"}), range("ops", 8, 24),
                                       range("works", 2, 6)})},
      {"shared_deps", with(engine_knobs(4), {range("queues", 1, 3), range("works", 3, 8), list("fail_p", {"0", "0.3", "1"}), list("cap", {"64", "1"}), list("signal_p", {"0", "0.3"}),
                                             list("requeue_p", {"0", "0.3"}), range("clients", 1, 2), list("check", {"0", "1", "2"})})},
      {"callback_waits", with(engine_knobs(4), {list("check", {"0", "1", "2"}), range("kind", 0, 4), range("waiters", 1, 2),
                                                range("leaves", 1, 3), range("ops", 8, 24), range("clients", 1, 3)})},
      {"rpc_client", with(engine_knobs(6), {list("check", {"0", "1", "2"}), list("fail_p", {"0", "0.3", "1"}),
                                            range("requests", 2, 6), range("ops", 6, 20), range("submitters", 1, 3)})},
      {"teardown", with(engine_knobs(4), {list("check", {"0", "1", "2"}), range("queues", 2, 3), list("fail_p", {"0", "0.3"}),
                                          range("ops", 6, 16), range("clients", 1, 2)})},
      {"liveness", with(engine_knobs(4), {range("op", 0, 4), range("producers", 1, 2)})},
      {"lifetime", with(engine_knobs(6), {list("check", {"0", "1", "2"}), list("fail_p", {"0", "0.3"}), range("clients", 1, 3),
                                          range("slots", 1, 2), range("ops", 8, 24)})},
  };
  return table;
}

}  // namespace

const std::vector<FuzzKnob>& fuzz_knobs(const std::string& scenario) {
  static const std::vector<FuzzKnob> none;
  auto it = knob_table().find(scenario);
  return it == knob_table().end() ? none : it->second;
}

RunOptions decode_fuzz_input(const uint8_t* data, size_t size, PlantedBug bug) {
  auto at = [&](size_t i) -> uint8_t { return i < size ? data[i] : 0; };
  const auto& scenarios = all_scenarios();
  RunOptions opt;
  opt.scenario = scenarios[at(0) % scenarios.size()].name;
  uint64_t seed = 0;
  for (size_t i = 0; i < 8; ++i) seed |= static_cast<uint64_t>(at(kFuzzSeedOffset + i)) << (8 * i);
  opt.seed = seed;
  const auto& knobs = fuzz_knobs(opt.scenario);
  for (size_t i = 0; i < knobs.size() && i < kFuzzKnobCount; ++i) {
    const uint8_t b = at(kFuzzKnobOffset + i);
    if (b == 0) continue;
    opt.params.add(knobs[i].key + "=" + knobs[i].values[static_cast<size_t>(b - 1) % knobs[i].values.size()]);
  }
  opt.strategy = "bytes";
  if (size > kFuzzHeaderSize) opt.bytes.assign(data + kFuzzHeaderSize, data + size);
  opt.bug = bug;
  opt.max_steps = kFuzzMaxSteps;
  return opt;
}

RunOptions decode_fuzz_input(const std::vector<uint8_t>& bytes, PlantedBug bug) {
  return decode_fuzz_input(bytes.data(), bytes.size(), bug);
}

std::vector<uint8_t> encode_fuzz_input(size_t scenario_index, uint64_t seed, const std::vector<uint8_t>& knob_bytes,
                                       const std::vector<uint8_t>& schedule) {
  std::vector<uint8_t> out(kFuzzHeaderSize, 0);
  out[0] = static_cast<uint8_t>(scenario_index);
  for (size_t i = 0; i < 8; ++i) out[kFuzzSeedOffset + i] = static_cast<uint8_t>(seed >> (8 * i));
  for (size_t i = 0; i < knob_bytes.size() && i < kFuzzKnobCount; ++i) out[kFuzzKnobOffset + i] = knob_bytes[i];
  out.insert(out.end(), schedule.begin(), schedule.end());
  return out;
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::invalid_argument(what + " '" + path + "' is a directory: give a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw std::invalid_argument("cannot read " + what + " '" + path + "': read error");
  return data;
}

std::vector<uint8_t> read_fuzz_input_file(const std::string& path) {
  const std::string data = read_text_file(path, "fuzz input");
  return std::vector<uint8_t>(data.begin(), data.end());
}

std::string describe_fuzz_input(const RunOptions& opt) {
  std::string s = "scenario " + opt.scenario + ", seed " + std::to_string(opt.seed);
  std::string p;
  for (auto& [k, v] : opt.params.all()) p += (p.empty() ? "" : ",") + k + "=" + v;
  s += ", knobs " + (p.empty() ? std::string("(all from the seed)") : p);
  s += ", schedule " + std::to_string(opt.bytes.size()) + " bytes, max steps " + std::to_string(opt.max_steps);
  return s;
}

std::string fuzz_replay_command(const RunOptions& opt, const std::string& file) {
  std::string cmd = "wqcheck replay --fuzz-input " + file;
  if (opt.bug != PlantedBug::none) cmd += " --planted " + std::string(to_string(opt.bug));
  return cmd;
}

std::string fuzz_failure_report(const RunOptions& opt, const Outcome& out, const std::string& file) {
  std::string rep = failure_report(opt, out);
  const size_t cut = rep.rfind("  replay: ");
  if (cut != std::string::npos) rep.resize(cut);
  return rep + "  replay: " + fuzz_replay_command(opt, file) + "\n";
}

}  // namespace lazywq::sim
