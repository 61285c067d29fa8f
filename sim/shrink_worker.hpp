// The shrinker's candidate runs, in a child process that stays (issue #16).
//
// A failed run leaves its blocked threads' stacks mapped and its engine
// allocated for good (World::~World), and a shrink fails thousands of
// runs; an engine bug may also crash or spin. So candidates never run in
// the shrinker's own process. A fork per candidate cost three times the
// run itself; one child serves candidates until it has failed
// `retire_after` runs (then it exits and a new one is forked), dies (the
// candidate broke "crash"), or spins past the alarm ("timeout").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/runner.hpp"

namespace lazywq::sim {

// What the shrinker needs of a candidate run.
struct Candidate {
  bool failed = false;
  std::string rule;
  RunStatus status = RunStatus::ok;
  Schedule schedule;  // as recorded (RunOptions::record_schedule)
  std::vector<std::string> config_lines;
  std::vector<std::string> op_sites;
  uint64_t steps = 0;        // the run's length (a cut run's: its prefix)
  uint64_t preemptions = 0;  // switches away from a runnable thread
  // The child died on it (rule "crash" or "timeout"): the run cannot be
  // replayed in the shrinker's process. A crash the simulator caught inside
  // the run (a use after free, a data race) is no such death.
  bool killed_process = false;
  std::vector<ChoicePoint> choices;  // with RunOptions::record_choices
};

Candidate candidate_of(const Outcome& o);

class CandidateWorker {
 public:
  explicit CandidateWorker(unsigned timeout_seconds, unsigned retire_after = 200)
      : timeout_(timeout_seconds), retire_after_(retire_after) {}
  ~CandidateWorker();
  CandidateWorker(const CandidateWorker&) = delete;
  CandidateWorker& operator=(const CandidateWorker&) = delete;

  // Runs `r` in the child. Throws std::invalid_argument for what
  // run_scenario refuses (a bad parameter).
  Candidate run(const RunOptions& r);
  uint64_t children() const { return forks_; }

 private:
  void start();
  void stop();
  unsigned timeout_;
  unsigned retire_after_;
  pid_t pid_ = -1;
  int fd_ = -1;  // our end of the socket pair
  uint64_t forks_ = 0;
};

}  // namespace lazywq::sim
