#include "sim/shrink_worker.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "sim/isolate.hpp"

namespace lazywq::sim {
namespace {

// Messages are a 64-bit length and that many bytes of JSON. send() with
// MSG_NOSIGNAL: a dead child is an error to handle, not a SIGPIPE.
bool send_all(int fd, const std::string& data) {
  const uint64_t n = data.size();
  std::string msg(reinterpret_cast<const char*>(&n), sizeof n);
  msg += data;
  size_t done = 0;
  while (done < msg.size()) {
    const ssize_t k = ::send(fd, msg.data() + done, msg.size() - done, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<size_t>(k);
  }
  return true;
}

bool recv_exact(int fd, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t k = ::recv(fd, buf + done, n - done, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<size_t>(k);
  }
  return true;
}

bool recv_msg(int fd, std::string& out) {
  uint64_t n = 0;
  if (!recv_exact(fd, reinterpret_cast<char*>(&n), sizeof n) || n > (uint64_t{1} << 32)) return false;
  out.assign(n, '\0');
  return recv_exact(fd, out.data(), n);
}

// Decisions as [thread, step, to] triples, both ways.
nlohmann::json json_of(const Schedule& s) {
  nlohmann::json out = nlohmann::json::array();
  for (const Decision& d : s) out.push_back({d.thread, d.step, d.to});
  return out;
}
Schedule schedule_of(const nlohmann::json& j) {
  Schedule s;
  for (const auto& d : j) s.push_back({d[0].get<uint32_t>(), d[1].get<uint64_t>(), d[2].get<uint32_t>()});
  return s;
}

nlohmann::json request_of(const RunOptions& r) {
  const nlohmann::json sched = json_of(r.schedule);
  return {{"scenario", r.scenario},
          {"seed", std::to_string(r.seed)},
          {"seed_text", r.seed_text},
          {"strategy", r.strategy},
          {"bug", static_cast<int>(r.bug)},
          {"max_steps", std::to_string(r.max_steps)},
          {"prefix_steps", std::to_string(r.prefix_steps)},
          {"params", r.params.all()},
          {"schedule", sched},
          {"record_schedule", r.record_schedule},
          {"record_choices", r.record_choices}};
}

RunOptions run_of(const nlohmann::json& j) {
  RunOptions r;
  r.scenario = j["scenario"].get<std::string>();
  r.seed = std::stoull(j["seed"].get<std::string>());
  r.seed_text = j["seed_text"].get<std::string>();
  r.strategy = j["strategy"].get<std::string>();
  r.bug = static_cast<PlantedBug>(j["bug"].get<int>());
  r.max_steps = std::stoull(j["max_steps"].get<std::string>());
  r.prefix_steps = std::stoull(j["prefix_steps"].get<std::string>());
  for (auto& [k, v] : j["params"].items()) r.params.add(k + "=" + v.get<std::string>());
  r.schedule = schedule_of(j["schedule"]);
  r.record_schedule = j["record_schedule"].get<bool>();
  r.record_choices = j["record_choices"].get<bool>();
  return r;
}

// The child: serve requests until the parent closes its end, or retire.
[[noreturn]] void serve(int fd, unsigned timeout, unsigned retire_after) {
  unsigned failed = 0;
  std::string req;
  while (recv_msg(fd, req)) {
    nlohmann::json reply;
    if (timeout) ::alarm(timeout);
    try {
      const RunOptions r = run_of(nlohmann::json::parse(req));
      test_fault(r.scenario, r.seed);  // test hook: nothing unless LAZYWQ_TEST_FAULT arms it
      const Outcome o = run_scenario(r);
      reply = {{"failed", o.failed},
               {"rule", o.rule},
               {"status", static_cast<int>(o.run.status)},
               {"schedule", json_of(o.run.schedule)},
               {"config", o.config_lines},
               {"op_sites", o.op_sites},
               {"steps", std::to_string(o.run.steps)},
               {"preemptions", std::to_string(o.run.preemptions)}};
      if (r.record_choices) {
        nlohmann::json choices = nlohmann::json::array();
        for (const ChoicePoint& cp : o.run.choices) choices.push_back({cp.thread, std::to_string(cp.step), cp.def, cp.runnable});
        reply["choices"] = std::move(choices);
      }
      failed += o.run.status != RunStatus::ok;  // its blocked threads' stacks stay mapped
    } catch (const std::invalid_argument& e) {
      reply = {{"invalid", e.what()}};
    }
    if (timeout) ::alarm(0);
    const bool retire = failed >= retire_after;
    reply["retiring"] = retire;
    if (!send_all(fd, reply.dump()) || retire) break;
  }
  ::_exit(0);  // no atexit handlers, no leak check of the abandoned runs
}

}  // namespace

Candidate candidate_of(const Outcome& o) {
  return {o.failed,   o.rule,       o.run.status,      o.run.schedule, o.config_lines,
          o.op_sites, o.run.steps,  o.run.preemptions, false,          o.run.choices};
}

CandidateWorker::~CandidateWorker() { stop(); }

void CandidateWorker::start() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(std::string("shrink: socketpair: ") + std::strerror(errno));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    throw std::runtime_error(std::string("shrink: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(sv[0]);
    serve(sv[1], timeout_, retire_after_);
  }
  ::close(sv[1]);
  pid_ = pid;
  fd_ = sv[0];
  ++forks_;
}

void CandidateWorker::stop() {
  if (pid_ < 0) return;
  ::close(fd_);  // the child's recv ends: it exits
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  fd_ = -1;
}

Candidate CandidateWorker::run(const RunOptions& r) {
  if (pid_ < 0) start();
  std::string reply;
  if (!send_all(fd_, request_of(r).dump()) || !recv_msg(fd_, reply)) {
    // The child died on this candidate: a crash of the engine, or the alarm.
    ::close(fd_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    fd_ = -1;
    Candidate c;
    c.failed = true;
    c.rule = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "timeout" : "crash";
    c.status = RunStatus::crashed;
    c.killed_process = true;
    return c;
  }
  const nlohmann::json j = nlohmann::json::parse(reply);
  if (j.value("retiring", false)) stop();
  if (j.contains("invalid")) throw std::invalid_argument(j["invalid"].get<std::string>());
  Candidate c;
  c.failed = j["failed"].get<bool>();
  c.rule = j["rule"].get<std::string>();
  c.status = static_cast<RunStatus>(j["status"].get<int>());
  c.schedule = schedule_of(j["schedule"]);
  c.config_lines = j["config"].get<std::vector<std::string>>();
  c.op_sites = j["op_sites"].get<std::vector<std::string>>();
  c.steps = std::stoull(j["steps"].get<std::string>());
  c.preemptions = std::stoull(j["preemptions"].get<std::string>());
  if (j.contains("choices"))
    for (const auto& cp : j["choices"])
      c.choices.push_back({cp[0].get<uint32_t>(), std::stoull(cp[1].get<std::string>()), cp[2].get<uint32_t>(),
                           cp[3].get<std::vector<uint32_t>>()});
  return c;
}

}  // namespace lazywq::sim
