// Reads the text event trace that format_trace writes (`wqcheck replay
// --events-out FILE`) back into events, for tools that check or compare
// recorded traces.
//
// Accepted: blank lines; comment lines starting with "# " (the header
// "# N events: ..." is checked against the number of events when present);
// one event per line exactly as lazywq::format_event prints it:
//
//   #SEQ t=TIMEns thr=wID|extTAG cpu=CPU TYPE [wq=QUEUE] [work=WORK] arg=ARG [upto=UPTO]
//
// Numbers are canonical decimal (no sign but '-' where negatives are
// allowed, no leading zeros), within the field's type; wq, work and upto
// are written only when non-zero. So format_trace(read_trace(t)) == t for every
// trace it accepts that format_trace wrote.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::sim {

// A malformed trace. what() reads "SOURCE:LINE:COLUMN: what was wrong"
// (SOURCE is the file name, or "trace").
class TraceError : public std::invalid_argument {
 public:
  TraceError(size_t line, size_t column, const std::string& message, const std::string& source = "trace");
  size_t line() const noexcept { return line_; }
  size_t column() const noexcept { return column_; }
  const std::string& message() const noexcept { return message_; }

 private:
  size_t line_;
  size_t column_;
  std::string message_;
};

// Parses one event line (without the newline); throws TraceError with line 1.
Event parse_event_line(const std::string& line);

// Parses a whole trace; throws TraceError.
std::vector<Event> read_trace(const std::string& text);

// Reads and parses a trace file; throws TraceError, or std::invalid_argument
// if the file cannot be read.
std::vector<Event> read_trace_file(const std::string& path);

}  // namespace lazywq::sim
