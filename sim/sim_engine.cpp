// The engine on the simulated platform, instantiated once here (as
// engine/src/real_engine.cpp does for RealPlatform): the scenarios, the
// runner and the tools include engine_decl.hpp only, so a change of the
// engine's code recompiles this unit alone.
#include "lazywq/engine.hpp"
#include "sim/scenario.hpp"

namespace lazywq {
template class BasicEngine<sim::SimPlatform>;
template class BasicWorkqueue<sim::SimPlatform>;
template class BasicWork<sim::SimPlatform>;
}  // namespace lazywq
