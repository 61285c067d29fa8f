// The seed syntax every tool shares (wqcheck, lazywq-torture, the corpus
// files): on its own, so that a build without the simulator (the tsan
// preset) still parses seeds the same way.
#pragma once

#include <cstdint>
#include <string>

namespace lazywq::sim {

// Parses a seed: decimal, 0x-hex, or a 40-hex commit hash (folded to 64
// bits), so CI can use its commit as the seed. Throws std::invalid_argument.
uint64_t parse_seed(const std::string& text);

}  // namespace lazywq::sim
