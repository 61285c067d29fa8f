#include "sim/isolate.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "sim/world.hpp"

#include <sanitizer/common_interface_defs.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LAZYWQ_ISOLATE_SANITIZER 1
#endif
#endif

namespace lazywq::sim {

namespace {

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGALRM: return "SIGALRM";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    default: return "";
  }
}

}  // namespace

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::string name = signal_name(sig);
    return "was killed by signal " + std::to_string(sig) + (name.empty() ? "" : " (" + name + ")");
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended with wait status " + std::to_string(status);
}

std::string crash_summary_line(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string l = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    if (!l.empty()) lines.push_back(l);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (it->rfind("SUMMARY: ", 0) == 0) return *it;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (it->find("terminate called") != std::string::npos || it->find("Assertion") != std::string::npos ||
        it->find("runtime error:") != std::string::npos)
      return *it;
  return lines.empty() ? std::string() : lines.back();
}

// ---------------------------------------------------------------- test hook

namespace {

constexpr const char* kOneDecisionFault = "segv-one-decision";

struct ArmedFault {
  std::string kind, where, seed;  // seed: decimal text or "*"
};

const std::vector<ArmedFault>& armed_faults() {
  static const std::vector<ArmedFault> faults = [] {
    std::vector<ArmedFault> out;
    const char* env = std::getenv(kTestFaultEnv);
    if (!env || !*env) return out;
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t at = item.find('@'), colon = item.rfind(':');
      if (at == std::string::npos || colon == std::string::npos || colon < at)
        throw std::invalid_argument(std::string(kTestFaultEnv) + ": '" + item + "' must look like KIND@WHERE:SEED");
      ArmedFault f{item.substr(0, at), item.substr(at + 1, colon - at - 1), item.substr(colon + 1)};
      if (f.kind != "segv" && f.kind != "abort" && f.kind != "throw" && f.kind != "spin" && f.kind != "uaf" &&
          f.kind != kOneDecisionFault)
        throw std::invalid_argument(std::string(kTestFaultEnv) + ": unknown fault '" + f.kind +
                                    "' (segv, abort, throw, spin, uaf, segv-one-decision)");
      out.push_back(f);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }();
  return faults;
}

void throwing() { throw std::runtime_error("test fault: an exception escaping a noexcept function"); }
void (*volatile g_throwing)() = throwing;
void escape_noexcept() noexcept { g_throwing(); }

[[maybe_unused]] volatile uint64_t g_spin_counter = 0;

void do_fault(const std::string& kind) {
  if (kind == "segv") {
    int* volatile p = nullptr;
    *p = 1;
  } else if (kind == "abort") {
    std::abort();
  } else if (kind == "throw") {
    escape_noexcept();
  } else if (kind == "spin") {
    for (;;) g_spin_counter = g_spin_counter + 1;  // no atomic, lock or yield: no scheduling point
  } else if (kind == "uaf") {
    int* p = new int[4]{1, 2, 3, 4};
    int* volatile q = p;
    delete[] p;
    g_spin_counter = static_cast<uint64_t>(q[1]);
  }
}

}  // namespace

void test_fault(const std::string& where, uint64_t seed) {
  const auto& faults = armed_faults();
  if (faults.empty()) return;
  for (const auto& f : faults) {
    if (f.kind == kOneDecisionFault) continue;  // test_fault_in_run's
    if (f.where != "*" && f.where != where) continue;
    if (f.seed != "*" && f.seed != std::to_string(seed)) continue;
    // Inside a simulated thread, where the engine's code runs.
    World w(WorldConfig{});
    const std::string kind = f.kind;
    (void)w.run([kind] { do_fault(kind); });
    return;
  }
}

void test_fault_in_run(const std::string& scenario, uint64_t seed, size_t decisions) {
  if (decisions != 1) return;
  for (const auto& f : armed_faults()) {
    if (f.kind != kOneDecisionFault) continue;
    if (f.where != "*" && f.where != scenario) continue;
    if (f.seed != "*" && f.seed != std::to_string(seed)) continue;
    do_fault("segv");
  }
}

std::string test_fault_setting() {
  if (armed_faults().empty()) return {};
  return std::string(kTestFaultEnv) + "=" + std::getenv(kTestFaultEnv);
}

// --------------------------------------------------------------- crash note

namespace {

std::atomic<const CrashNote*> g_note{nullptr};
struct sigaction g_old[65];
const int kFatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM};

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}
void write_str(int fd, const char* s) { write_all(fd, s, std::strlen(s)); }

}  // namespace

// Runs in a signal handler: only async-signal-safe calls.
static void fire_note(const char* why_a, const char* why_b) {
  const CrashNote* n = g_note.exchange(nullptr);
  if (!n) return;
  n->fire(why_a, why_b);
}

void write_summary_and_fire_note(const char* summary) {
  write_str(2, summary);  // "SUMMARY: <tool>: ...", as the runtime's own definition prints it
  write_str(2, "\n");
  const CrashNote* n = g_note.load();
  if (n && n->signals_only()) fire_note("died of a sanitizer report (above)", "");
}

}  // namespace lazywq::sim

// Every sanitizer (ASan, UBSan, TSan) calls this weak hook with its
// one-line summary just before it ends the process, whether or not a
// signal is involved (UBSan's halt_on_error exits without one), and
// whatever death callback someone else (libFuzzer) set. Prints the summary
// as the runtime's own definition does, then the note. Never called in a
// build without a sanitizer.
extern "C" void __sanitizer_report_error_summary(const char* error_summary) {
  lazywq::sim::write_summary_and_fire_note(error_summary);
}

namespace lazywq::sim {

namespace {

void on_fatal(int sig, siginfo_t* si, void*) {
  if (sig == SIGALRM) {
    fire_note(nullptr, "");
    signal(SIGALRM, SIG_DFL);
    raise(SIGALRM);
    return;
  }
  fire_note("died of ", signal_name(sig));
  sigaction(sig, &g_old[sig], nullptr);  // the previous handler (a sanitizer's) or the default
  if (si == nullptr || si->si_code <= 0 || sig == SIGABRT) raise(sig);
  // A synchronous fault returns and faults again into the previous handler.
}

#if defined(LAZYWQ_ISOLATE_SANITIZER)
void on_sanitizer_death() { fire_note("died of a sanitizer report (above)", ""); }
#endif

void install_handlers(bool sanitizer_callback) {
  static bool installed = false;
  if (installed) return;
  installed = true;
  static std::vector<char> alt(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  sigaltstack(&ss, nullptr);
  for (int sig : kFatal) {
    struct sigaction sa {};
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &g_old[sig]);
  }
#if defined(LAZYWQ_ISOLATE_SANITIZER)
  if (sanitizer_callback) __sanitizer_set_death_callback(on_sanitizer_death);
#else
  (void)sanitizer_callback;
#endif
}

}  // namespace

void CrashNote::fire(const char* why_a, const char* why_b) const noexcept {
  if (!path_.empty()) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      write_all(fd, content_.data(), content_.size());
      ::close(fd);
    }
  }
  write_str(2, "\n*** the process ");
  write_str(2, why_a ? why_a : alarm_text_.c_str());
  write_str(2, why_b);
  write_str(2, " while running:\n*** ");
  write_all(2, message_.data(), message_.size());
  write_str(2, "\n");
}

CrashNote::CrashNote(std::string message, unsigned timeout_seconds, std::string save_path, std::string save_content,
                     Hooks hooks)
    : message_(std::move(message)),
      path_(std::move(save_path)),
      content_(std::move(save_content)),
      previous_(g_note.load()),
      timeout_(timeout_seconds),
      hooks_(hooks) {
  alarm_text_ = "timed out: it ran longer than its wall-clock limit of " + std::to_string(timeout_) +
                " s (LAZYWQ_RUN_TIMEOUT; a harness verdict: the simulator's step limit never fired, so the code "
                "under test spins without a scheduling point or is extremely slow)";
  install_handlers(hooks == Hooks::signals_and_sanitizer);
  g_note.store(this);
  if (timeout_ > 0) alarm(timeout_);
}

CrashNote::~CrashNote() {
  if (timeout_ > 0) alarm(0);
  const CrashNote* self = this;
  g_note.compare_exchange_strong(self, previous_);
}

unsigned run_timeout_from_env() {
  const char* env = std::getenv("LAZYWQ_RUN_TIMEOUT");
  if (!env || !*env) return 60;
  char* end = nullptr;
  unsigned long v = std::strtoul(env, &end, 10);
  return (end && *end == '\0') ? static_cast<unsigned>(v) : 60;
}

}  // namespace lazywq::sim
