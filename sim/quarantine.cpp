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
QuarantineState quarantine_begin(bool) { return {}; }
size_t quarantine_reused() { return 0; }
size_t quarantine_end(QuarantineState) { return 0; }

#else

namespace {

// The blocks held back since quarantine_begin, with their usable sizes.
// Grown with realloc, never with operator new: operator delete appends to
// it.
struct Held {
  void** blocks = nullptr;
  size_t* sizes = nullptr;
  size_t count = 0;
  size_t capacity = 0;
  bool reuse = false;  // operator new hands back the last held block of its size
  size_t reused = 0;
};

// Set between quarantine_begin and quarantine_end, on the world's OS thread
// (the simulated threads are fibers of it).
thread_local Held* tls_held = nullptr;

bool hold(void* p) {
  Held* h = tls_held;
  if (!h) return false;
  if (h->count == h->capacity) {
    const size_t cap = h->capacity ? h->capacity * 2 : 1024;
    void* blocks = std::realloc(h->blocks, cap * sizeof(void*));
    if (blocks) h->blocks = static_cast<void**>(blocks);
    void* sizes = blocks ? std::realloc(h->sizes, cap * sizeof(size_t)) : nullptr;
    if (!sizes) return false;  // out of memory: free it now rather than fail a delete
    h->sizes = static_cast<size_t*>(sizes);
    h->capacity = cap;
  }
  const size_t usable = malloc_usable_size(p);
  std::memset(p, kFreedByte, usable);
  h->blocks[h->count] = p;
  h->sizes[h->count] = usable;
  ++h->count;
  return true;
}

// The usable size of glibc's chunk for an n-byte request (64-bit: 8 bytes
// of header, 16-byte steps, 32 bytes at least).
constexpr size_t usable_for(size_t n) {
  const size_t chunk = (n + 8 + 15) & ~size_t{15};
  return (chunk < 32 ? 32 : chunk) - 8;
}
static_assert(usable_for(4) == 24 && usable_for(24) == 24 && usable_for(25) == 40);

// With reuse on: the most recently held block malloc would have used for n
// bytes (one of its bin's usable size), among the last kReuseWindow held;
// null if none.
constexpr size_t kReuseWindow = 64;
void* reuse(size_t n) {
  Held* h = tls_held;
  if (!h || !h->reuse || n == 0) return nullptr;
  const size_t want = usable_for(n);
  const size_t stop = h->count > kReuseWindow ? h->count - kReuseWindow : 0;
  for (size_t i = h->count; i > stop; --i) {
    void* p = h->blocks[i - 1];
    if (!p || h->sizes[i - 1] != want) continue;
    h->blocks[i - 1] = nullptr;  // the new object's now
    ++h->reused;
    return p;
  }
  return nullptr;
}

void release(void* p) {
  if (p && !hold(p)) std::free(p);
}

void* allocate(size_t n) {
  if (void* p = reuse(n)) return p;
  for (;;) {
    if (void* p = std::malloc(n ? n : 1)) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

bool quarantine_available() { return true; }

QuarantineState quarantine_begin(bool reuse_freed) {
  QuarantineState outer{tls_held};
  Held* h = static_cast<Held*>(std::calloc(1, sizeof(Held)));
  if (!h) return outer;  // no memory for the list: the run goes on without a quarantine
  h->reuse = reuse_freed;
  tls_held = h;
  return outer;
}

size_t quarantine_reused() { return tls_held ? tls_held->reused : 0; }

size_t quarantine_end(QuarantineState outer) {
  Held* h = tls_held;
  tls_held = static_cast<Held*>(outer.list);
  if (!h || h == outer.list) return 0;
  size_t n = 0;
  for (size_t i = 0; i < h->count; ++i)
    if (h->blocks[i]) {
      std::free(h->blocks[i]);
      ++n;
    }
  std::free(h->blocks);
  std::free(h->sizes);
  std::free(h);
  return n;
}

#endif

}  // namespace lazywq::sim

#if !defined(LAZYWQ_QUARANTINE_OFF)
// The replaceable allocation functions ([new.delete]). operator new takes
// its blocks from malloc, as libstdc++'s does (its nothrow and array forms
// call this one), unless the run reuses held blocks; aligned ones come
// from libstdc++'s aligned_alloc, never reused. Each delete ends in free()
// when nothing is held.
void* operator new(std::size_t n) { return lazywq::sim::allocate(n); }
void* operator new[](std::size_t n) { return lazywq::sim::allocate(n); }
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
