// The library's version: the one place it is written (CMakeLists.txt reads
// it for project(), the package's version file and lazywq.pc).
#pragma once

#define LAZYWQ_VERSION_MAJOR 0
#define LAZYWQ_VERSION_MINOR 2
#define LAZYWQ_VERSION_PATCH 0
#define LAZYWQ_VERSION_STRING "0.2.0"
// One number to compare: 0.2.0 is 200, 1.3.7 is 10307.
#define LAZYWQ_VERSION (LAZYWQ_VERSION_MAJOR * 10000 + LAZYWQ_VERSION_MINOR * 100 + LAZYWQ_VERSION_PATCH)
