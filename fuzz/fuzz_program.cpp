// Operation program files (sim/program.hpp): parse_program either returns a
// program or throws std::invalid_argument naming the line; what it accepts
// writes back (write_program) to text that parses back, and the written form
// is a fixed point of parse + write.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz/fuzz_common.hpp"
#include "sim/program.hpp"

using namespace lazywq::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Program p;
  try {
    p = parse_program(text);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).empty()) lazywq::fuzz::die("parse_program threw an empty message\n");
    return 0;
  }
  const std::string written = write_program(p);
  Program q;
  try {
    q = parse_program(written);
  } catch (const std::invalid_argument& e) {
    lazywq::fuzz::die(std::string("write_program wrote a program parse_program rejects: ") + e.what() + "\n---\n" +
                      written);
  }
  // write_program normalises unused fields: after one round trip the
  // program is a fixed point.
  if (!(parse_program(write_program(q)) == q)) lazywq::fuzz::die("program round trip is not stable:\n---\n" + written);
  if (write_program(q) != written) lazywq::fuzz::die("write_program is not stable:\n---\n" + written);
  try {
    validate_program(p);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).empty()) lazywq::fuzz::die("validate_program threw an empty message\n");
  }
  return 0;
}
