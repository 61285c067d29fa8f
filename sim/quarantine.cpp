#include "sim/quarantine.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LAZYWQ_QUARANTINE_OFF 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LAZYWQ_QUARANTINE_OFF 1
#endif

namespace lazywq::sim {

#if defined(LAZYWQ_QUARANTINE_OFF)

bool quarantine_available() { return false; }
QuarantineState quarantine_begin() { return {}; }
size_t quarantine_end(QuarantineState) { return 0; }

#else

namespace {

// The blocks held back since quarantine_begin. Grown with realloc, never
// with operator new: operator delete appends to it.
struct Held {
  void** blocks = nullptr;
  size_t count = 0;
  size_t capacity = 0;
};

// Set between quarantine_begin and quarantine_end, on the world's OS thread
// (the simulated threads are fibers of it).
thread_local Held* tls_held = nullptr;

bool hold(void* p) {
  Held* h = tls_held;
  if (!h) return false;
  if (h->count == h->capacity) {
    const size_t cap = h->capacity ? h->capacity * 2 : 1024;
    void* grown = std::realloc(h->blocks, cap * sizeof(void*));
    if (!grown) return false;  // out of memory: free it now rather than fail a delete
    h->blocks = static_cast<void**>(grown);
    h->capacity = cap;
  }
  std::memset(p, kFreedByte, malloc_usable_size(p));
  h->blocks[h->count++] = p;
  return true;
}

void release(void* p) {
  if (p && !hold(p)) std::free(p);
}

}  // namespace

bool quarantine_available() { return true; }

QuarantineState quarantine_begin() {
  QuarantineState outer{tls_held};
  Held* h = static_cast<Held*>(std::calloc(1, sizeof(Held)));
  if (h) tls_held = h;  // no memory for the list: the run goes on without a quarantine
  return outer;
}

size_t quarantine_end(QuarantineState outer) {
  Held* h = tls_held;
  tls_held = static_cast<Held*>(outer.list);
  if (!h || h == outer.list) return 0;
  const size_t n = h->count;
  for (size_t i = 0; i < n; ++i) std::free(h->blocks[i]);
  std::free(h->blocks);
  std::free(h);
  return n;
}

#endif

}  // namespace lazywq::sim

#if !defined(LAZYWQ_QUARANTINE_OFF)
// The replaceable deallocation functions ([new.delete]): libstdc++'s
// operator new takes its blocks from malloc, aligned ones from
// aligned_alloc, so each of these ends in free() when nothing is held.
void operator delete(void* p) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p) noexcept { lazywq::sim::release(p); }
void operator delete(void* p, std::size_t) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p, std::size_t) noexcept { lazywq::sim::release(p); }
void operator delete(void* p, std::align_val_t) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { lazywq::sim::release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { lazywq::sim::release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { lazywq::sim::release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { lazywq::sim::release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { lazywq::sim::release(p); }
#endif
