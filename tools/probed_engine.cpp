// The engine on the torture's probed platform, instantiated once here (as
// engine/src/real_engine.cpp does for RealPlatform).
#include "lazywq/engine.hpp"
#include "probed_platform.hpp"

namespace lazywq {
template class BasicEngine<torture::ProbedPlatform>;
template class BasicWorkqueue<torture::ProbedPlatform>;
template class BasicWork<torture::ProbedPlatform>;
}  // namespace lazywq
