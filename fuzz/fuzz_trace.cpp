// Trace files (sim/trace_reader.hpp): read_trace either returns events or
// throws TraceError naming line and column. What it accepts writes back
// (format_trace) to a trace that reads to the same events, and the oracle
// can judge it without crashing.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_common.hpp"
#include "sim/oracle.hpp"
#include "sim/trace.hpp"
#include "sim/trace_reader.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {
bool same(const Event& a, const Event& b) {
  return a.seq == b.seq && a.time_ns == b.time_ns && a.thread == b.thread && a.cpu == b.cpu && a.queue == b.queue &&
         a.work == b.work && a.type == b.type && a.arg == b.arg && a.upto == b.upto;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Event> events;
  try {
    events = read_trace(text);
  } catch (const TraceError& e) {
    if (e.line() < 1 || e.message().empty()) fuzz::die(std::string("bad TraceError: ") + e.what() + "\n");
    return 0;
  }
  const std::string again = format_trace(events);
  std::vector<Event> back;
  try {
    back = read_trace(again);
  } catch (const TraceError& e) {
    fuzz::die(std::string("format_trace wrote a trace read_trace rejects: ") + e.what() + "\n");
  }
  if (back.size() != events.size()) fuzz::die("round trip changed the number of events\n");
  for (size_t i = 0; i < events.size(); ++i)
    if (!same(events[i], back[i])) fuzz::die("round trip changed event " + format_event(events[i]) + "\n");
  if (format_trace(back) != again) fuzz::die("format_trace is not stable\n");
  // The oracle must judge any stream it is given (a trace file from a tool).
  check::OracleOptions oo;
  oo.ncpus = 4;
  oo.idle_timeout_ns = 1000;  // every check on, C8's idle bound included
  (void)check::check_events(events, oo);
  return 0;
}
