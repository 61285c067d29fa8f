// The engine on the Relacy platform, instantiated once here (as
// engine/src/real_engine.cpp does for RealPlatform).
#include "lazywq/engine.hpp"
#include "models/harness.hpp"

namespace lazywq {
template class BasicEngine<models::RelacyPlatform>;
template class BasicWorkqueue<models::RelacyPlatform>;
template class BasicWork<models::RelacyPlatform>;
}  // namespace lazywq
