// One duration syntax for every tool (issue #15): a number and a unit, ns,
// us, ms, s, m or h ("5s", "500ms", "1.5m"), read by CLI11's
// AsNumberWithUnit, the same parser the options' validators use.
#pragma once

#include <chrono>
#include <string>

namespace lazywq::tools {

// The duration `text` names. Throws std::invalid_argument, naming `what`
// (the option) and the syntax, for anything else: no unit, a negative or
// non-finite number, more than 10^18 ns.
std::chrono::nanoseconds parse_duration(const std::string& text, const std::string& what);

}  // namespace lazywq::tools
