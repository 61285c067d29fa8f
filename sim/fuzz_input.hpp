// The libFuzzer input of the operations fuzzer (fuzz/fuzz_sim_ops.cpp),
// decoded into the RunOptions of one simulated execution. The fuzzer and
// `wqcheck replay --fuzz-input FILE` share this decoder, so a crash file
// replays identically through both.
//
// Layout (every byte string is a valid input; missing bytes read as 0):
//
//   byte  0       scenario: all_scenarios()[b % count]
//   bytes 1..8    seed, little endian
//   bytes 9..16   knobs: byte 9+i sets the scenario's knob i
//                 (fuzz_knobs(scenario)[i]); 0 leaves it to the seed
//                 (swarm draw), b > 0 picks values[(b - 1) % values.size()]
//   bytes 17..    the schedule: strategy `bytes`, one byte per choice
//                 between two or more runnable threads; past the end the
//                 running thread continues
//
// Operations and faults (which work, which CPU, creation failures) are
// drawn from the seed and knobs; the schedule bytes decide the
// interleaving, hence which of them race.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lazywq/types.hpp"
#include "sim/runner.hpp"

namespace lazywq::sim {

inline constexpr size_t kFuzzSeedOffset = 1;
inline constexpr size_t kFuzzKnobOffset = 9;
inline constexpr size_t kFuzzKnobCount = 8;
inline constexpr size_t kFuzzHeaderSize = kFuzzKnobOffset + kFuzzKnobCount;  // 17
// A run takes ~1,000-1,500 scheduling points; 30x that is a livelock (C15).
inline constexpr uint64_t kFuzzMaxSteps = 50'000;

struct FuzzKnob {
  std::string key;
  std::vector<std::string> values;  // valid values of --param key=value
};

// The knobs the fuzzer may fix for a scenario (at most kFuzzKnobCount),
// each within the range the scenario accepts.
const std::vector<FuzzKnob>& fuzz_knobs(const std::string& scenario);

// Decodes an input. Never throws for any byte string; `bug` is the planted
// bug to switch on (not part of the input).
RunOptions decode_fuzz_input(const uint8_t* data, size_t size, PlantedBug bug = PlantedBug::none);
RunOptions decode_fuzz_input(const std::vector<uint8_t>& bytes, PlantedBug bug = PlantedBug::none);

// The inverse, for seed corpora and tests: knob_bytes[i] as in the layout.
std::vector<uint8_t> encode_fuzz_input(size_t scenario_index, uint64_t seed, const std::vector<uint8_t>& knob_bytes,
                                       const std::vector<uint8_t>& schedule);

// Reads a whole file (a libFuzzer crash or corpus file); throws
// std::invalid_argument if it cannot be read.
// A whole file, or std::invalid_argument naming it and why (a directory,
// missing, unreadable): bad input is a clear error, never an abort.
std::string read_text_file(const std::string& path, const std::string& what);
std::vector<uint8_t> read_fuzz_input_file(const std::string& path);

// One line describing a decoded input: scenario, seed, knobs, schedule size.
std::string describe_fuzz_input(const RunOptions& opt);

// The command that replays the input stored in `file`.
std::string fuzz_replay_command(const RunOptions& opt, const std::string& file);

// failure_report() with its seed-only replay line replaced by
// fuzz_replay_command (the schedule lives in the file, not in the seed).
std::string fuzz_failure_report(const RunOptions& opt, const Outcome& out, const std::string& file);

}  // namespace lazywq::sim
