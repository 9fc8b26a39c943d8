// Asymmetric memory fences: a nearly free "light" side for the hot path and
// an expensive "heavy" side for the rare path.
//
// heavy_fence() forces a full memory barrier on every thread of this process
// that is running at the time (Linux membarrier(MEMBARRIER_CMD_PRIVATE_
// EXPEDITED)), so that a light/heavy pair orders like two seq_cst fences.
// light_fence() is then a compiler barrier only.
//
// Fallback: where membarrier is unavailable (old kernels, seccomp filters) or
// VITRINE_FENCE_FALLBACK=1 is set in the environment (a test switch), both
// sides become std::atomic_thread_fence(seq_cst): correct on every
// architecture by the C++ memory model alone, at the price of a real fence
// on the reader's announce path (not on a reread of an unchanged snapshot).
// The choice is made once, by prepare_fences(), which every thread calls
// before its first light_fence() (the reclaimer does it when it attaches a
// thread) and heavy_fence() calls too.
//
// ThreadSanitizer models neither membarrier nor fences. When the build
// defines VITRINE_TSAN (the CMake option VITRINE_SANITIZE=thread sets it as a
// PUBLIC compile definition of vitrine_core, so the library and every user
// agree), both sides also do an acq_rel read-modify-write of one shared word:
// those RMWs are totally ordered, so one side synchronizes with the other,
// which states the same guarantee in terms TSan checks. heavy_fence() always
// issues the real barrier as well, so correctness never depends on the
// switch; a translation unit compiled with -fsanitize=thread without
// VITRINE_TSAN is refused at compile time.
//
// Threads: any. Cost: light_fence is free at run time (one predictable
// branch on a constant); heavy_fence is one system call that interrupts the
// CPUs currently running our threads (~0.1-5 us here).
#pragma once

#include <atomic>

#if defined(__SANITIZE_THREAD__)
#define VITRINE_DETAIL_TSAN_COMPILER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VITRINE_DETAIL_TSAN_COMPILER 1
#endif
#endif
#if defined(VITRINE_DETAIL_TSAN_COMPILER) && !defined(VITRINE_TSAN)
#error \
    "compiled with ThreadSanitizer but without VITRINE_TSAN: a host built \
with ThreadSanitizer needs a vitrine built with it (cmake \
-DVITRINE_SANITIZE=thread), whose vitrine::core and vitrine.pc define \
VITRINE_TSAN for you (docs/embedding.md, Sanitizers)"
#endif

namespace vitrine::core::detail {

enum class fence_kind {
  membarrier,    // light = compiler barrier, heavy = membarrier
  thread_fence,  // fallback: both sides std::atomic_thread_fence(seq_cst)
};

/// Decides the fence kind once per process (thread-safe; later calls are a
/// load). Must be called by a thread before its first light_fence().
fence_kind prepare_fences() noexcept;

/// True in the fallback. Written once inside prepare_fences(); read only by
/// threads that called it (which orders the write before their reads).
extern bool readers_fence;

#if defined(VITRINE_TSAN)
inline std::atomic<unsigned> tsan_fence_word{0};
#endif

/// A full fence that TSan also understands (GCC refuses
/// atomic_thread_fence under -fsanitize=thread): there, an acq_rel RMW of
/// the shared word, which both sides of every pair perform.
inline void full_fence() noexcept {
#if defined(VITRINE_TSAN)
  tsan_fence_word.fetch_add(1, std::memory_order_acq_rel);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

inline void light_fence() noexcept {
#if defined(VITRINE_TSAN)
  tsan_fence_word.fetch_add(1, std::memory_order_acq_rel);
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (readers_fence) [[unlikely]]
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// Pairs with light_fence() in every other thread. Thread-safe; cold.
void heavy_fence() noexcept;

}  // namespace vitrine::core::detail
