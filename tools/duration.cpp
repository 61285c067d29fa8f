#include "tools/duration.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>

namespace lazywq::tools {

std::chrono::nanoseconds parse_duration(const std::string& text, const std::string& what) {
  static const std::map<std::string, double> units{{"ns", 1.0},  {"us", 1e3},  {"ms", 1e6},
                                                   {"s", 1e9},   {"m", 60e9},  {"h", 3600e9}};
  static const CLI::AsNumberWithUnit to_ns(
      units, static_cast<CLI::AsNumberWithUnit::Options>(CLI::AsNumberWithUnit::UNIT_REQUIRED | CLI::AsNumberWithUnit::CASE_SENSITIVE),
      "DURATION");
  auto bad = [&] {
    return std::invalid_argument(what + " '" + text + "' must be a duration like 5s, 500ms, 1m, 250us or 1h");
  };
  // A number first: AsNumberWithUnit alone reads "s" as one second.
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) throw bad();
  std::string value = text;
  try {
    // Rewrites `value` into the number of nanoseconds.
    if (!to_ns(value).empty()) throw bad();
  } catch (const CLI::ValidationError&) {
    throw bad();
  }
  double ns = 0;
  try {
    size_t used = 0;
    ns = std::stod(value, &used);
    if (used != value.size()) throw bad();
  } catch (const std::logic_error&) {  // invalid_argument, out_of_range
    throw bad();
  }
  if (!std::isfinite(ns) || ns < 0 || ns > 1e18) throw bad();
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

}  // namespace lazywq::tools
