// The engine templates, whole: the classes (engine_decl.hpp) and their
// member functions (engine_impl.hpp, pool_impl.hpp). Include this to
// instantiate an engine on a platform; to use one instantiated elsewhere,
// engine_decl.hpp and an `extern template` declaration suffice (lazywq.hpp
// does so for the real-thread engine).
#pragma once

#include "lazywq/engine_decl.hpp"
#include "lazywq/engine_impl.hpp"
