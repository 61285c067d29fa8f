// Clang thread-safety annotations (-Wthread-safety), in the style of
// abseil's thread_annotations.h: the compiler checks what the locking
// comments in engine_decl.hpp claim. Other compilers see empty macros.
#pragma once

#if defined(__clang__)
#define LAZYWQ_TSA(x) __attribute__((x))
#else
#define LAZYWQ_TSA(x)
#endif

#define LAZYWQ_CAPABILITY(x) LAZYWQ_TSA(capability(x))
#define LAZYWQ_SCOPED_CAPABILITY LAZYWQ_TSA(scoped_lockable)
#define LAZYWQ_GUARDED_BY(x) LAZYWQ_TSA(guarded_by(x))
#define LAZYWQ_PT_GUARDED_BY(x) LAZYWQ_TSA(pt_guarded_by(x))
#define LAZYWQ_REQUIRES(...) LAZYWQ_TSA(requires_capability(__VA_ARGS__))
#define LAZYWQ_EXCLUDES(...) LAZYWQ_TSA(locks_excluded(__VA_ARGS__))
#define LAZYWQ_ACQUIRE(...) LAZYWQ_TSA(acquire_capability(__VA_ARGS__))
#define LAZYWQ_RELEASE(...) LAZYWQ_TSA(release_capability(__VA_ARGS__))
#define LAZYWQ_ACQUIRED_BEFORE(...) LAZYWQ_TSA(acquired_before(__VA_ARGS__))
#define LAZYWQ_RETURN_CAPABILITY(x) LAZYWQ_TSA(lock_returned(x))
#define LAZYWQ_ASSERT_CAPABILITY(x) LAZYWQ_TSA(assert_capability(x))
#define LAZYWQ_NO_TSA LAZYWQ_TSA(no_thread_safety_analysis)
