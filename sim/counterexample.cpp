#include "sim/counterexample.hpp"

#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "sim/fuzz_input.hpp"

namespace lazywq::sim {
namespace {

RunShape shape_from(const nlohmann::json& j) {
  RunShape s;
  if (!j.is_object()) return s;
  s.steps = j.value("steps", uint64_t{0});
  s.choice_points = j.value("choice_points", uint64_t{0});
  s.decisions = j.value("decisions", uint64_t{0});
  s.preemptions = j.value("preemptions", uint64_t{0});
  s.threads = j.value("threads", uint32_t{0});
  s.events = j.value("events", uint64_t{0});
  return s;
}

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Counterexample counterexample_of(const ShrinkResult& r, const std::string& tool, const std::string& version,
                                 const std::string& commit) {
  Counterexample c;
  c.run = r.shrunk;
  c.rule = r.rule;
  c.headline = r.after.headline;
  c.trace_hash = r.after.trace_hash;
  c.shrunk_from = replay_command(r.original);
  c.before = shape_of(r.before);
  c.after = shape_of(r.after);
  c.tool = tool;
  c.version = version;
  c.commit = commit;
  return c;
}

nlohmann::json run_shape_json(const RunShape& s) {
  return {{"steps", s.steps},         {"choice_points", s.choice_points}, {"decisions", s.decisions},
          {"preemptions", s.preemptions}, {"threads", s.threads},         {"events", s.events}};
}

std::string counterexample_to_json(const Counterexample& c) {
  nlohmann::ordered_json j;
  j["kind"] = "lazywq counterexample";
  j["schema_version"] = 1;
  j["rule"] = c.rule;
  j["headline"] = c.headline;
  j["scenario"] = c.run.scenario;
  j["seed"] = c.run.seed_text.empty() ? std::to_string(c.run.seed) : c.run.seed_text;
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  for (auto& [k, v] : c.run.params.all()) params[k] = v;
  j["params"] = params;
  j["planted"] = c.run.bug == PlantedBug::none ? "" : std::string(to_string(c.run.bug));
  j["max_steps"] = std::to_string(c.run.max_steps);
  if (c.run.horizon_ns != RunOptions{}.horizon_ns) j["horizon_ns"] = std::to_string(c.run.horizon_ns);
  j["prefix_steps"] = std::to_string(c.run.prefix_steps);
  j["schedule"] = schedule_to_text(c.run.schedule);
  j["trace_hash"] = hex64(c.trace_hash);
  j["shrunk_from"] = c.shrunk_from;
  j["before"] = run_shape_json(c.before);
  j["after"] = run_shape_json(c.after);
  j["tool"] = c.tool;
  j["lazywq_version"] = c.version;
  j["commit"] = c.commit;
  return j.dump(2) + "\n";
}

Counterexample counterexample_from_json(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(where + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.value("kind", std::string()) != "lazywq counterexample")
    throw std::invalid_argument(where + ": not a counterexample file (no \"kind\": \"lazywq counterexample\")");
  if (j.value("schema_version", 0) != 1)
    throw std::invalid_argument(where + ": schema_version " + j.value("schema_version", nlohmann::json()).dump() +
                                " (this wqcheck reads 1)");
  auto str = [&](const char* key, bool required) -> std::string {
    if (!j.contains(key)) {
      if (required) throw std::invalid_argument(where + ": \"" + key + "\" is missing");
      return {};
    }
    if (!j[key].is_string()) throw std::invalid_argument(where + ": \"" + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  Counterexample c;
  try {
    c.rule = str("rule", true);
    c.headline = str("headline", false);
    c.run.scenario = str("scenario", true);
    (void)find_scenario(c.run.scenario);
    const std::string seed = str("seed", true);
    c.run.seed = parse_seed(seed);
    if (seed.size() == 40) c.run.seed_text = seed;
    if (j.contains("params")) {
      if (!j["params"].is_object()) throw std::invalid_argument("\"params\" must be an object of strings");
      for (auto& [k, v] : j["params"].items()) {
        if (!v.is_string()) throw std::invalid_argument("param \"" + k + "\" must be a string");
        c.run.params.add(k + "=" + v.get<std::string>());
      }
    }
    const std::string planted = str("planted", false);
    if (!planted.empty()) c.run.bug = planted_bug_from_string(planted);
    const std::string max_steps = str("max_steps", false);
    if (!max_steps.empty()) c.run.max_steps = parse_seed(max_steps);
    const std::string horizon = str("horizon_ns", false);
    if (!horizon.empty()) c.run.horizon_ns = static_cast<int64_t>(parse_seed(horizon));
    const std::string prefix = str("prefix_steps", false);
    if (!prefix.empty()) c.run.prefix_steps = parse_seed(prefix);
    c.run.strategy = "schedule";
    c.run.schedule = schedule_from_text(str("schedule", true));
    const std::string hash = str("trace_hash", false);
    if (!hash.empty()) c.trace_hash = parse_seed("0x" + hash);
    c.shrunk_from = str("shrunk_from", false);
    c.before = shape_from(j.value("before", nlohmann::json()));
    c.after = shape_from(j.value("after", nlohmann::json()));
    c.tool = str("tool", false);
    c.version = str("lazywq_version", false);
    c.commit = str("commit", false);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  } catch (const lazywq::Error& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  return c;
}

Counterexample read_counterexample(const std::string& path) {
  return counterexample_from_json(read_text_file(path, "counterexample file"), path);
}

}  // namespace lazywq::sim
