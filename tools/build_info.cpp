#include "tools/build_info.hpp"

#include <unistd.h>

#include <iostream>

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

}  // namespace lazywq::tools
