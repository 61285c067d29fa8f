// Frees held back while a simulated world runs (issue #14).
//
// An engine bug may use memory it freed: notify a condition variable it
// destroyed, write a field of a work it released. The simulator catches a
// mutex or condition variable used after destruction (World::sync_dead),
// but with the allocator's usual reuse two things went wrong:
//   - the engine's stray writes landed in the allocator's free lists or in
//     an object allocated since, and the harness's own heap was corrupt
//     after the run (the shrinker's next run in the same process
//     segfaulted, or the replay gave another trace hash);
//   - whether the stale use was seen depended on the address having been
//     reused, so on the heap's history: not on the seed alone.
// So, from World::run's start to its end, every operator delete of the
// process (on the world's OS thread) fills the block with kFreedByte and
// keeps it; the blocks are freed when the run ends, when no simulated
// thread can run again. Reused addresses no longer decide a run, a stray
// write hits a block nobody owns, and a stale access is seen: a P::Var (or
// Immutable, Guarded, mutex) in a freed block has a race shadow full of
// the fill, which World::hb_read/hb_write report as a use after free
// naming the engine's line; a plain field reads 0xdd.. (a pointer through
// it faults, a count is absurd).
//
// Compiled out under ASan and TSan, whose own allocators do the same with
// a report (and which a replaced operator delete would bypass).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lazywq::sim {

inline constexpr unsigned char kFreedByte = 0xdd;
// A race shadow's world id (sim/happens_before.hpp, AccessShadow::world)
// in a block the quarantine filled: no world has this id, so the access
// takes the slow path, which reports a use after free.
inline constexpr uint64_t kFreedShadowWorld = 0x0101010101010101ull * kFreedByte;

// Whether this build holds frees back (false under a sanitizer).
bool quarantine_available();

// Starts holding this OS thread's frees back; returns the previous state,
// to be given to quarantine_end (worlds nest: a test may run one inside
// another's thread).
//
// `reuse_freed`: operator new hands back the most recently held block of
// the size malloc would give it, as glibc's per-thread cache does. The
// reuse then depends only on the run's own allocations, not on the heap's
// history, and an engine that compares a stale pointer with a new object
// (ABA: a destroyed queue's address given to the next one) can be caught;
// a stale access to a reused block reaches the new object, as on real
// threads. A swarm fault in a quarter of the runs (sim/runner.cpp).
struct QuarantineState {
  void* list = nullptr;
};
QuarantineState quarantine_begin(bool reuse_freed = false);
// Blocks handed back so far in the innermost open scope.
size_t quarantine_reused();
// Frees what was held since the matching quarantine_begin, and restores
// `outer`. Returns how many blocks were held (for tests).
size_t quarantine_end(QuarantineState outer);

}  // namespace lazywq::sim
