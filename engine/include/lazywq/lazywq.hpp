// lazywq: a lazy workqueue engine (Axboe, "Lazy workqueues", LKML 2009).
//
// The public API for real threads. Names follow the kernel's workqueue API
// so kernel people feel at home; the member functions of Engine and
// Workqueue do the same things.
//
//   lazywq::Engine eng({.ncpus = 8});
//   auto& wq = eng.create_workqueue("io", lazywq::WqKind::lazy);
//   lazywq::Work w([](lazywq::Work&) { /* ... */ });
//   lazywq::queue_work_on(3, wq, w);   // creates CPU 3's worker on demand
//   lazywq::flush_work(w);
#pragma once

#include "lazywq/engine_decl.hpp"  // the engine is compiled once, in the library (real_engine.cpp)
#include "lazywq/platform_real.hpp"
#include "lazywq/version.hpp"

namespace lazywq {

using Engine = BasicEngine<RealPlatform>;
using Workqueue = BasicWorkqueue<RealPlatform>;
using Work = BasicWork<RealPlatform>;
using DelayedWork = BasicDelayedWork<RealPlatform>;

extern template class BasicEngine<RealPlatform>;
extern template class BasicWorkqueue<RealPlatform>;
extern template class BasicWork<RealPlatform>;

// Kernel-style free functions. The work-level ones act on the engine the
// work was first queued on; on a work never queued they return false.
template <class P>
bool queue_work(BasicWorkqueue<P>& wq, BasicWork<P>& w) { return wq.queue_work(w); }
template <class P>
bool queue_work_on(int cpu, BasicWorkqueue<P>& wq, BasicWork<P>& w) { return wq.queue_work_on(cpu, w); }
template <class P>
bool queue_delayed_work(BasicWorkqueue<P>& wq, BasicDelayedWork<P>& dw, Duration d) {
  return wq.queue_delayed_work(dw, d);
}
template <class P>
bool queue_delayed_work_on(int cpu, BasicWorkqueue<P>& wq, BasicDelayedWork<P>& dw, Duration d) {
  return wq.queue_delayed_work_on(cpu, dw, d);
}
template <class P>
bool mod_delayed_work(BasicWorkqueue<P>& wq, BasicDelayedWork<P>& dw, Duration d) {
  return wq.mod_delayed_work(dw, d);
}
template <class P>
bool flush_work(BasicWork<P>& w) { auto* e = w.engine(); return e ? e->flush_work(w) : false; }
template <class P>
bool cancel_work(BasicWork<P>& w) { auto* e = w.engine(); return e ? e->cancel_work(w) : false; }
template <class P>
bool cancel_work_sync(BasicWork<P>& w) { auto* e = w.engine(); return e ? e->cancel_work_sync(w) : false; }
template <class P>
bool cancel_delayed_work(BasicDelayedWork<P>& dw) { return cancel_work<P>(dw); }
template <class P>
bool cancel_delayed_work_sync(BasicDelayedWork<P>& dw) { return cancel_work_sync<P>(dw); }
template <class P>
bool flush_delayed_work(BasicDelayedWork<P>& dw) {
  auto* e = dw.engine();
  return e ? e->flush_delayed_work(dw) : false;
}
template <class P>
bool flush_workqueue(BasicWorkqueue<P>& wq) { return wq.flush(); }
template <class P>
void drain_workqueue(BasicWorkqueue<P>& wq) { wq.drain(); }
template <class P>
void destroy_workqueue(BasicWorkqueue<P>& wq) { wq.destroy(); }

}  // namespace lazywq
