// The real-thread engine, instantiated once here so users' translation
// units do not each compile it (lazywq.hpp declares these extern).
#include "lazywq/engine.hpp"
#include "lazywq/lazywq.hpp"

namespace lazywq {
template class BasicEngine<RealPlatform>;
template class BasicWorkqueue<RealPlatform>;
template class BasicWork<RealPlatform>;
}  // namespace lazywq
