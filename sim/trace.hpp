// Event traces for people and for timeline viewers.
#pragma once

#include <string>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::sim {

// One line per event (lazywq::format_event), with a header.
std::string format_trace(const std::vector<Event>& events);

// Chrome trace-event JSON (loads in Perfetto UI and chrome://tracing): one
// lane per engine thread, callbacks as slices, everything else as instants.
// Times are the engine clock in microseconds.
std::string chrome_trace_json(const std::vector<Event>& events, const std::string& title);

}  // namespace lazywq::sim
