// Site coverage of the Relacy models (issue #13, "Memory order"): which of
// the engine's atomic operations and lock-guarded field (P::Var) accesses
// the models execute. The simulator is sequentially consistent, so an
// ordering bug at a site no model reaches is visible only to TSan.
//
// Recording (always on, no allocation: Relacy's heap checks every
// allocation made inside an iteration):
//   atomics  the Atomic wrapper's operations already take the engine's call
//            site as a default argument (rl::debug_info from the compiler
//            builtins); note_atomic() records its file and line.
//   Vars     a conversion or assignment operator cannot take a default
//            argument, so Var's operators are out of line and record their
//            return address (note_var); the report symbolizes those with
//            llvm-symbolizer (the build has debug info) into file:line.
// Every record carries the bit of the model running (set_model()).
//
// Reporting (lazywq_models --coverage, see models.cpp): the list of every
// site is derived from the engine's source text (engine/include/lazywq/
// *.hpp but platform_real.hpp), not numbered by hand:
//   atomic site  a line with `.op(` or `->op(`, op one of load, store,
//                fetch_*, compare_exchange_*, exchange
//   Var site     a line naming a field declared `detail::Var<P, T> name`:
//                as a bare token when the name ends in `_` (the classes'
//                own members) or in the header declaring it (Worker's and
//                Pool's own member functions), after `.` or `->` otherwise
// A site reached at run time but absent from the list fails the check too
// (the scanner missed it), so the list cannot silently shrink.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lazywq::models::coverage {

struct AtomicHit {
  const char* file = nullptr;
  unsigned line = 0;
  uint32_t models = 0;
};
struct VarHit {
  const void* pc = nullptr;
  uint32_t models = 0;
};

struct Tables {
  static constexpr size_t kAtomics = 4096;
  static constexpr size_t kVars = 16384;
  AtomicHit atomics[kAtomics];
  VarHit vars[kVars];
  uint32_t model_bit = 0;
  bool overflow = false;
};

inline Tables& tables() {
  static Tables t;
  return t;
}

// The model now running (index < 32), or -1 for none.
inline void set_model(int index) { tables().model_bit = index >= 0 && index < 32 ? (1u << index) : 0u; }

inline void note_atomic(const char* file, unsigned line) {
  Tables& t = tables();
  size_t h = (reinterpret_cast<uintptr_t>(file) >> 3) * 31u + line * 2654435761u;
  for (size_t n = 0; n < Tables::kAtomics; ++n, ++h) {
    AtomicHit& e = t.atomics[h % Tables::kAtomics];
    if (e.file == nullptr) {
      e.file = file;
      e.line = line;
    } else if (e.file != file || e.line != line) {
      continue;
    }
    e.models |= t.model_bit;
    return;
  }
  t.overflow = true;
}

inline void note_var(const void* pc) {
  Tables& t = tables();
  size_t h = (reinterpret_cast<uintptr_t>(pc) >> 2) * 2654435761u;
  for (size_t n = 0; n < Tables::kVars; ++n, ++h) {
    VarHit& e = t.vars[h % Tables::kVars];
    if (e.pc == nullptr) {
      e.pc = pc;
    } else if (e.pc != pc) {
      continue;
    }
    e.models |= t.model_bit;
    return;
  }
  t.overflow = true;
}

}  // namespace lazywq::models::coverage
