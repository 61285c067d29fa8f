// Seed strings (`--seed`, `--seeds A..B`, commit hashes): parse_seed must
// either return a value or throw std::invalid_argument with a message;
// every value it returns prints back to a string that parses to itself.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "sim/runner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  uint64_t v = 0;
  try {
    v = lazywq::sim::parse_seed(text);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).empty()) lazywq::fuzz::die("parse_seed threw an empty message\n");
    return 0;
  }
  char dec[32], hex[32];
  std::snprintf(dec, sizeof dec, "%" PRIu64, v);
  std::snprintf(hex, sizeof hex, "0x%" PRIx64, v);
  if (lazywq::sim::parse_seed(dec) != v || lazywq::sim::parse_seed(hex) != v)
    lazywq::fuzz::die("parse_seed round trip failed for '" + text + "' -> " + dec + "\n");
  return 0;
}
