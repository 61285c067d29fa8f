#include "sim/trace.hpp"

#include <map>
#include <nlohmann/json.hpp>

namespace lazywq::sim {

std::string format_trace(const std::vector<Event>& events) {
  std::string out = "# " + std::to_string(events.size()) + " events: #seq time thread cpu type queue work arg\n";
  for (const Event& e : events) out += format_event(e) + "\n";
  return out;
}

std::string chrome_trace_json(const std::vector<Event>& events, const std::string& title) {
  using nlohmann::json;
  json trace = json::array();
  std::map<uint32_t, std::string> lane_names;
  auto lane_name = [&](const Event& e) {
    if (e.thread & kExternalThread) return "caller " + std::to_string(e.thread & ~kExternalThread);
    return "engine thread " + std::to_string(e.thread);
  };
  for (const Event& e : events) {
    if (!lane_names.count(e.thread)) lane_names[e.thread] = lane_name(e);
    if (e.type == EventType::spawn && !(e.thread & kExternalThread))
      lane_names[e.thread] = "wq" + std::to_string(e.queue) + " cpu" + std::to_string(e.cpu) + " (thread " +
                             std::to_string(e.thread) + ")";
  }
  trace.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", title}}}});
  for (auto& [tid, name] : lane_names)
    trace.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", tid}, {"args", {{"name", name}}}});
  for (const Event& e : events) {
    const double ts = static_cast<double>(e.time_ns) / 1000.0;
    json args = {{"seq", e.seq}, {"cpu", e.cpu}, {"queue", e.queue}, {"work", e.work}, {"arg", e.arg}};
    if (e.upto) args["upto"] = e.upto;
    json ev = {{"pid", 1}, {"tid", e.thread}, {"ts", ts}, {"args", args}, {"cat", "lazywq"}};
    if (e.type == EventType::exec_begin) {
      ev["ph"] = "B";
      ev["name"] = "work " + std::to_string(e.work) + " (wq" + std::to_string(e.queue) + ", for cpu " +
                   std::to_string(e.arg) + ")";
    } else if (e.type == EventType::exec_end) {
      ev["ph"] = "E";
    } else {
      ev["ph"] = "i";
      ev["s"] = "t";
      ev["name"] = std::string(to_string(e.type)) + (e.work ? " work " + std::to_string(e.work) : std::string());
    }
    trace.push_back(std::move(ev));
  }
  json doc = {{"traceEvents", trace}, {"displayTimeUnit", "ns"}};
  return doc.dump(1);
}

}  // namespace lazywq::sim
