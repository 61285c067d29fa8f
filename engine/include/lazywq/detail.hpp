// Small building blocks of the engine: a scoped lock the thread-safety
// analysis understands, an intrusive FIFO list, and the planted-bug switch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lazywq/annotations.hpp"
#include "lazywq/types.hpp"

namespace lazywq::detail {

// A plain field shared between threads under a lock (see the platforms'
// Var): the field's own type in the real and simulated worlds, an rl::var
// under Relacy so that an access without its lock is a reported data race.
template <class P, class T>
using Var = typename P::template Var<T>;
// An immutable field ("I:"): the type itself in the real world and under
// Relacy; in the simulator every read is checked to be ordered after the
// constructor's write (the object was published to the reader).
template <class P, class T>
using Immutable = typename P::template Immutable<T>;
// A lock-guarded object reached through -> and * (a container): plain in
// the real world and under Relacy (lazywq/guarded.hpp); in the simulator
// every access is checked, a non-const one as a write.
template <class P, class T>
using Guarded = typename P::template Guarded<T>;

template <class M>
class LAZYWQ_SCOPED_CAPABILITY Guard {
 public:
  explicit Guard(M& m) LAZYWQ_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~Guard() LAZYWQ_RELEASE() { m_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  M& m_;
};

// The platform of an engine type (BasicWork<P> -> P), read off the type's
// name: it works while the type is still incomplete (a work's own hook).
template <class T>
struct PlatformOf;
template <template <class> class Tmpl, class P>
struct PlatformOf<Tmpl<P>> {
  using type = P;
};
// A field of a list or hook of T's: P::ListVar (the simulator checks every
// access for a data race; elsewhere the type itself).
template <class T, class V>
using ListVar = typename PlatformOf<T>::type::template ListVar<V>;

// Links of an element in an IntrusiveList. A work is on at most one list at
// a time (it is pending on one queue at a time), so one hook suffices.
// Guarded by the lock of the list the element is on.
template <class T>
struct ListHook {
  ListVar<T, T*> prev = nullptr;
  ListVar<T, T*> next = nullptr;
  ListVar<T, bool> linked = false;
};

// FIFO list threaded through T::hook_ (T must befriend IntrusiveList),
// guarded by the lock of the structure that holds it.
// O(1) push, pop and removal of any element (cancel needs the last).
template <class T>
class IntrusiveList {
 public:
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  T* front() const { return head_; }
  T* back() const { return tail_; }
  static T* next(T* t) { return t->hook_.next; }

  void push_back(T* t) {
    auto& h = t->hook_;
    h.prev = tail_;
    h.next = nullptr;
    h.linked = true;
    if (tail_) tail_->hook_.next = t; else head_ = t;
    tail_ = t;
    ++size_;
  }
  void push_front(T* t) {
    auto& h = t->hook_;
    h.prev = nullptr;
    h.next = head_;
    h.linked = true;
    if (head_) head_->hook_.prev = t; else tail_ = t;
    head_ = t;
    ++size_;
  }
  void remove(T* t) {
    auto& h = t->hook_;
    if (h.prev) h.prev->hook_.next = h.next; else head_ = h.next;
    if (h.next) h.next->hook_.prev = h.prev; else tail_ = h.prev;
    h = ListHook<T>{};
    --size_;
  }

 private:
  ListVar<T, T*> head_ = nullptr;
  ListVar<T, T*> tail_ = nullptr;
  ListVar<T, size_t> size_ = 0;
};

// `t` + `d` for a deadline: saturates at kNever ("never") instead of
// overflowing, and kNever stays kNever (a platform time of "never" is
// "never"). `d` is never negative here: negative Durations are refused
// where they enter (invalid_argument).
inline int64_t deadline_after(int64_t t, int64_t d) {
  if (t == kNever || d == kNever) return kNever;
  int64_t sum;
  if (__builtin_add_overflow(t, d, &sum)) return d > 0 ? kNever : INT64_MIN;
  return sum;
}
inline int64_t deadline_after(int64_t t, Duration d) { return deadline_after(t, static_cast<int64_t>(d.count())); }

// Marks a race window for the scope's duration (see RaceWindow).
template <class P>
class WindowScope {
 public:
  explicit WindowScope(RaceWindow w) : w_(w) { P::window_enter(w_); }
  ~WindowScope() { P::window_exit(w_); }
  WindowScope(const WindowScope&) = delete;
  WindowScope& operator=(const WindowScope&) = delete;

 private:
  RaceWindow w_;
};

}  // namespace lazywq::detail

// LAZYWQ_PLANTED(cfg, name): true when the planted bug `name` is switched on
// in this engine's configuration. Only the planted-bug build (CMake option
// LAZYWQ_PLANTED_BUGS) compiles the check in; every other build sees the
// constant `false` and the compiler removes the buggy branch.
#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)
#define LAZYWQ_PLANTED(cfg, name) ((cfg).planted_bug == ::lazywq::PlantedBug::name)
#else
#define LAZYWQ_PLANTED(cfg, name) false
#endif
