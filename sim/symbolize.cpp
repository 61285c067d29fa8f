#include "sim/symbolize.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

namespace lazywq::sim {
namespace {

struct Frame {
  std::string function;
  std::string file;  // "??" when unknown
  unsigned line = 0;
};

std::string find_symbolizer() {
  for (const char* t : {"llvm-symbolizer-14", "llvm-symbolizer"})
    if (std::system((std::string("command -v ") + t + " >/dev/null 2>&1").c_str()) == 0) return t;
  return {};
}

// llvm-symbolizer's answer for one address: pairs of lines (function,
// then file:line:column), innermost inlined frame first. The module's path
// is quoted for the shell.
std::vector<Frame> run_symbolizer(const std::string& tool, const std::string& module, uintptr_t offset) {
  std::string quoted = "'";
  for (char c : module) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  char addr[32];
  std::snprintf(addr, sizeof addr, " 0x%llx", static_cast<unsigned long long>(offset));
  const std::string cmd = tool + " --obj=" + quoted + " --inlining --functions=short --demangle" + addr + " 2>/dev/null";
  std::vector<Frame> out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::string all;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) all.append(buf, got);
  pclose(p);
  std::istringstream in(all);
  std::string fn, loc;
  while (std::getline(in, fn) && !fn.empty() && std::getline(in, loc)) {
    Frame f;
    f.function = fn;
    const size_t c2 = loc.rfind(':');
    const size_t c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : loc.rfind(':', c2 - 1);
    if (c1 != std::string::npos) {
      f.file = loc.substr(0, c1);
      f.line = static_cast<unsigned>(std::strtoul(loc.c_str() + c1 + 1, nullptr, 10));
    } else {
      f.file = "??";
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Paths relative to the project's root (this file's, at build time).
std::string short_path(const std::string& file) {
  static const std::string root = [] {
    std::string f = __FILE__;
    const size_t at = f.rfind("sim/symbolize.cpp");
    return at == std::string::npos ? std::string() : f.substr(0, at);
  }();
  if (!root.empty() && file.compare(0, root.size(), root) == 0) return file.substr(root.size());
  return file;
}

std::string describe_one(const void* pc, const std::string& tool) {
  if (pc == nullptr) return " (site not recorded)";
  Dl_info di{};
  if (dladdr(pc, &di) == 0 || di.dli_fname == nullptr) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " at %p", pc);
    return buf;
  }
  // A return address points after the call: one byte back is inside it.
  const uintptr_t offset = reinterpret_cast<uintptr_t>(pc) - reinterpret_cast<uintptr_t>(di.dli_fbase) - 1;
  char buf[64];
  std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(offset));
  const std::string fallback =
      std::string(" at ") + di.dli_fname + buf + (di.dli_sname ? std::string(" (in ") + di.dli_sname + ")" : "");
  std::string module = di.dli_fname;
  if (module.find('/') == std::string::npos) {  // the main program: dladdr gives argv[0]
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) module.assign(exe, static_cast<size_t>(n));
  }
  const std::vector<Frame> chain = tool.empty() ? std::vector<Frame>{} : run_symbolizer(tool, module, offset);
  if (chain.empty()) return fallback;
  // The innermost frame in the engine's code, past its small helpers
  // (detail.hpp: a Guard's lock names the function that took it).
  const Frame* pick = nullptr;
  for (const Frame& f : chain)
    if (f.file.find("/engine/include/") != std::string::npos && f.file.find("/detail.hpp") == std::string::npos) {
      pick = &f;
      break;
    }
  for (const Frame& f : chain)
    if (pick == nullptr && f.file.find("/engine/include/") != std::string::npos) pick = &f;
  if (pick == nullptr) pick = &chain.front();
  if (pick->file == "??" || pick->line == 0) return pick->function == "??" ? fallback : " in " + pick->function;
  return " at " + short_path(pick->file) + ":" + std::to_string(pick->line) + " (in " + pick->function + ")";
}

}  // namespace

std::vector<std::string> describe_code_sites(const std::vector<const void*>& pcs) {
  // Once per address and process: the explorer's child runs a thousand
  // seeds, and a mutant's race is found on many of them at the same sites.
  static std::map<const void*, std::string> cache;
  static const std::string tool = find_symbolizer();
  std::vector<std::string> out;
  for (const void* pc : pcs) {
    auto it = cache.find(pc);
    if (it == cache.end()) it = cache.emplace(pc, describe_one(pc, tool)).first;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace lazywq::sim
