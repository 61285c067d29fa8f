#include "tools/build_info.hpp"

#include "lazywq/version.hpp"
#include "lazywq_build_commit.hpp"  // generated at each build (cmake/build_info.cmake)

namespace lazywq::tools {

const char* build_commit() { return LAZYWQ_GIT_COMMIT; }

std::string version_line(const std::string& tool) {
  return tool + " (lazywq " LAZYWQ_VERSION_STRING ", commit " + build_commit() + ")";
}

}  // namespace lazywq::tools
