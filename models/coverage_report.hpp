// The report of lazywq_models --coverage (see models/coverage.hpp): the
// engine's atomic and Var sites derived from its source, the sites the
// models reached (atomics from the recorded debug info, Vars symbolized
// from the recorded return addresses), the table, and the check against
// models/coverage_allowlist.txt.
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "models/coverage.hpp"

namespace lazywq::models::coverage {

enum class SiteKind { atomic, var };
inline const char* kind_str(SiteKind k) { return k == SiteKind::atomic ? "atomic" : "var"; }

struct Site {
  SiteKind kind;
  std::string file;  // header name, e.g. engine_impl.hpp
  unsigned line;
  std::string what;  // the operations or fields named on the line
  std::string text;  // the line, trimmed
  uint32_t models = 0;
};

// The engine's headers the sites come from (the real platform is not on
// the Relacy path).
inline std::vector<std::string> engine_headers(const std::string& dir) {
  static const char* const kFiles[] = {"dependency.hpp", "detail.hpp",   "engine_decl.hpp", "engine_impl.hpp",
                                       "pool.hpp",       "pool_impl.hpp", "types.hpp",    "work.hpp",
                                       "workqueue.hpp",  "lazywq.hpp",    "annotations.hpp"};
  std::vector<std::string> out;
  for (const char* f : kFiles) {
    std::ifstream in(dir + "/" + f);
    if (in) out.push_back(f);
  }
  return out;
}

// Comments and string/char literals blanked out, newlines kept.
inline std::string strip_comments(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < n && s[i] != '\n') ++i;
    } else if (s.compare(i, 2, "/*") == 0) {
      size_t j = s.find("*/", i + 2);
      j = j == std::string::npos ? n : j + 2;
      for (size_t k = i; k < j; ++k)
        if (s[k] == '\n') out += '\n';
      i = j;
    } else if (s[i] == '"' || s[i] == '\'') {
      const char q = s[i];
      size_t j = i + 1;
      while (j < n && s[j] != q) j += s[j] == '\\' ? 2 : 1;
      out += q;
      out += q;
      i = j + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> v;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur)) v.push_back(cur);
  return v;
}

inline std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

// Every atomic operation site and Var access site of the engine's source.
inline std::vector<Site> scan_sites(const std::string& dir, std::string* error) {
  std::map<std::string, std::vector<std::string>> code, raw;
  const std::vector<std::string> files = engine_headers(dir);
  if (files.empty()) {
    *error = "no engine headers under " + dir;
    return {};
  }
  for (const std::string& f : files) {
    std::ifstream in(dir + "/" + f);
    std::stringstream ss;
    ss << in.rdbuf();
    raw[f] = split_lines(ss.str());
    code[f] = split_lines(strip_comments(ss.str()));
  }
  // Var fields: `detail::Var<P, T> name`: the headers declaring each name,
  // and the declaration lines (not access sites).
  const std::regex decl(R"(detail::Var<P,\s*(.+?)>\s+([A-Za-z_]\w*)\b)");
  std::map<std::string, std::set<std::string>> fields;
  std::set<std::pair<std::string, unsigned>> decl_lines;
  for (const auto& [f, lines] : code)
    for (size_t i = 0; i < lines.size(); ++i)
      for (std::sregex_iterator it(lines[i].begin(), lines[i].end(), decl), end; it != end; ++it) {
        fields[(*it)[2].str()].insert(f);
        decl_lines.insert({f, static_cast<unsigned>(i + 1)});
      }
  const std::regex atomic_op(R"((\.|->)\s*(load|store|fetch_\w+|compare_exchange_\w+|exchange)\s*\()");
  const std::regex ident(R"((\.|->)?\s*\b([A-Za-z_]\w*)\b)");
  std::vector<Site> sites;
  for (const auto& [f, lines] : code) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      const unsigned ln = static_cast<unsigned>(i + 1);
      std::string ops;
      for (std::sregex_iterator it(l.begin(), l.end(), atomic_op), end; it != end; ++it)
        ops += (ops.empty() ? "" : " ") + (*it)[2].str();
      if (!ops.empty()) sites.push_back(Site{SiteKind::atomic, f, ln, ops, trim(raw[f][i])});
      std::set<std::string> named;
      for (std::sregex_iterator it(l.begin(), l.end(), ident), end; it != end; ++it) {
        const std::string name = (*it)[2].str();
        auto fd = fields.find(name);
        if (fd == fields.end() || decl_lines.count({f, ln}) != 0) continue;
        const bool member_access = (*it)[1].matched;
        if (name.back() == '_' || member_access || fd->second.count(f) != 0) named.insert(name);
      }
      if (!named.empty()) {
        std::string what;
        for (const std::string& n : named) what += (what.empty() ? "" : " ") + n;
        sites.push_back(Site{SiteKind::var, f, ln, what, trim(raw[f][i])});
      }
    }
  }
  return sites;
}

// "…/engine/include/lazywq/work.hpp" -> "work.hpp"; "" when not an engine
// header (Relacy's, the platform's, the standard library's).
inline std::string engine_file(const std::string& path) {
  const std::string key = "include/lazywq/";
  const size_t p = path.rfind(key);
  if (p == std::string::npos) return "";
  std::string f = path.substr(p + key.size());
  if (f.find('/') != std::string::npos || f == "platform_real.hpp") return "";
  return f;
}

using SiteKey = std::pair<std::string, unsigned>;  // file, line

inline std::map<SiteKey, uint32_t> reached_atomics() {
  std::map<SiteKey, uint32_t> out;
  for (const AtomicHit& h : tables().atomics) {
    if (h.file == nullptr) continue;
    const std::string f = engine_file(h.file);
    if (!f.empty()) out[{f, h.line}] |= h.models;
  }
  return out;
}

// The Var sites reached: each recorded return address, symbolized (with
// inlined frames, innermost first) into the first engine line.
inline std::map<SiteKey, uint32_t> reached_vars(std::string* error) {
  std::map<SiteKey, uint32_t> out;
  std::vector<const VarHit*> hits;
  for (const VarHit& h : tables().vars)
    if (h.pc != nullptr) hits.push_back(&h);
  if (hits.empty()) return out;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    *error = "cannot read /proc/self/exe";
    return out;
  }
  exe[n] = 0;
  Dl_info di{};
  if (dladdr(hits.front()->pc, &di) == 0 || di.dli_fbase == nullptr) {
    *error = "dladdr failed on a recorded return address";
    return out;
  }
  const uintptr_t base = reinterpret_cast<uintptr_t>(di.dli_fbase);
  const std::string in_path = "/tmp/lazywq_models_cov_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream in(in_path);
    for (const VarHit* h : hits) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%llx\n",
                    static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(h->pc) - base - 1));
      in << buf;
    }
  }
  std::string tool;
  for (const char* t : {"llvm-symbolizer-14", "llvm-symbolizer"}) {
    if (std::system((std::string("command -v ") + t + " >/dev/null 2>&1").c_str()) == 0) {
      tool = t;
      break;
    }
  }
  if (tool.empty()) {
    *error = "llvm-symbolizer not found (apt install llvm-14)";
    std::remove(in_path.c_str());
    return out;
  }
  const std::string cmd = tool + " --obj=" + exe + " --inlining --functions=none < " + in_path;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *error = "cannot run " + cmd;
    std::remove(in_path.c_str());
    return out;
  }
  std::string all;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) all.append(buf, got);
  pclose(p);
  std::remove(in_path.c_str());
  // One block per address, blocks separated by an empty line; a block's
  // lines are file:line:column, innermost frame first.
  std::vector<std::string> lines = split_lines(all);
  size_t k = 0;
  bool found = false;
  bool any_line = false;
  for (size_t i = 0; i <= lines.size(); ++i) {
    if (i == lines.size() || lines[i].empty()) {
      if (any_line) {
        ++k;
        found = false;
        any_line = false;
      }
      continue;
    }
    any_line = true;
    if (found || k >= hits.size()) continue;
    const std::string& l = lines[i];
    const size_t c2 = l.rfind(':');
    const size_t c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : l.rfind(':', c2 - 1);
    if (c1 == std::string::npos) continue;
    const std::string f = engine_file(l.substr(0, c1));
    if (f.empty()) continue;
    const unsigned line = static_cast<unsigned>(std::strtoul(l.c_str() + c1 + 1, nullptr, 10));
    out[{f, line}] |= hits[k]->models;
    found = true;
  }
  if (k != hits.size()) *error = "llvm-symbolizer answered " + std::to_string(k) + " of " +
                                 std::to_string(hits.size()) + " addresses";
  return out;
}

// One allowlisted unreached site: kind, header, and a substring of its line
// (line numbers move as the engine is edited), with the reason.
struct Allowed {
  SiteKind kind;
  std::string file;
  std::string pattern;
  std::string reason;
  int matched = 0;
};

// Format, one entry a line (`#` starts a comment line):
//   atomic|var <header> <substring of the site's line> || <reason>
inline std::vector<Allowed> read_allowlist(const std::string& path, std::string* error) {
  std::vector<Allowed> out;
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return out;
  }
  std::string l;
  unsigned ln = 0;
  while (std::getline(in, l)) {
    ++ln;
    const std::string t = trim(l);
    if (t.empty() || t[0] == '#') continue;
    const size_t sep = t.find(" || ");
    std::istringstream ss(t.substr(0, sep));
    std::string kind, file;
    ss >> kind >> file;
    std::string pattern;
    std::getline(ss, pattern);
    pattern = trim(pattern);
    if ((kind != "atomic" && kind != "var") || file.empty() || pattern.empty() || sep == std::string::npos) {
      *error = path + ":" + std::to_string(ln) + ": expected `atomic|var <header> <text> || <reason>`";
      return {};
    }
    out.push_back(Allowed{kind == "atomic" ? SiteKind::atomic : SiteKind::var, file, pattern, trim(t.substr(sep + 4))});
  }
  return out;
}

}  // namespace lazywq::models::coverage
