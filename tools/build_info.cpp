#include "tools/build_info.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "lazywq/version.hpp"
#include "lazywq_build_commit.hpp"  // generated at each build (cmake/build_info.cmake)

namespace lazywq::tools {

const char* build_commit() { return LAZYWQ_GIT_COMMIT; }

std::string version_line(const std::string& tool) {
  return tool + " (lazywq " LAZYWQ_VERSION_STRING ", commit " + build_commit() + ")";
}

const char* lazywq_version() { return LAZYWQ_VERSION_STRING; }

FILE* take_stdout_for_json() {
  std::cout.flush();
  std::fflush(stdout);
  const int fd = dup(STDOUT_FILENO);
  if (fd < 0) return stdout;
  FILE* json = fdopen(fd, "w");
  if (!json) {
    close(fd);
    return stdout;
  }
  dup2(STDERR_FILENO, STDOUT_FILENO);
  return json;
}

FILE* open_json_output(const std::string& path) {
  if (path.empty()) return nullptr;
  if (path == "-") return take_stdout_for_json();
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("--json: cannot write " + path + ": " + std::strerror(errno));
  return f;
}

}  // namespace lazywq::tools
