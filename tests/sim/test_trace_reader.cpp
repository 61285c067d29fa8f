// The text trace reader (sim/trace_reader.hpp) reads back what
// format_event writes, the optional fields too, and names what it rejects.
#include <gtest/gtest.h>

#include "lazywq/lazywq.hpp"
#include "sim/trace_reader.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

Event refusal(uint64_t upto) {
  Event e;
  e.seq = 23;
  e.time_ns = 4100;
  e.thread = 2;
  e.cpu = 1;
  e.queue = 2;
  e.work = 1;
  e.type = EventType::wait_refused;
  e.arg = static_cast<int32_t>(RefusalReason::behind_caller);
  e.upto = upto;
  return e;
}

void expect_same(const Event& a, const Event& b) {
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.thread, b.thread);
  EXPECT_EQ(a.cpu, b.cpu);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.work, b.work);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.arg, b.arg);
  EXPECT_EQ(a.upto, b.upto);
}

TEST(TraceReader, ARefusalsCountRoundTrips) {
  for (uint64_t upto : {uint64_t{0}, uint64_t{1}, uint64_t{18446744073709551615u}}) {
    const std::string line = format_event(refusal(upto));
    EXPECT_EQ(line.find("upto=") != std::string::npos, upto != 0) << line;
    expect_same(parse_event_line(line), refusal(upto));
    EXPECT_EQ(format_event(parse_event_line(line)), line);
  }
}

TEST(TraceReader, UptoIsCanonicalAndLast) {
  const std::string line = format_event(refusal(0));
  EXPECT_THROW(parse_event_line(line + " upto=0"), TraceError) << "0 is written by omitting upto=";
  EXPECT_THROW(parse_event_line(line + " upto=-1"), TraceError);
  EXPECT_THROW(parse_event_line(line + " upto=3 arg=1"), TraceError);
  EXPECT_THROW(parse_event_line(line + " wq=3"), TraceError);
}

}  // namespace
