// Asymmetric memory fences: a nearly free "light" side for the hot path and
// an expensive "heavy" side for the rare path.
//
// light_fence() is a compiler barrier only. heavy_fence() forces a full memory
// barrier on every thread of this process that is running at the time (Linux
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), with an mprotect-based
// fallback), so a light/heavy pair orders like two seq_cst fences would.
//
// Threads: any. Cost: light_fence is free at run time; heavy_fence is one
// system call that interrupts the CPUs currently running our threads
// (~0.1-5 us here). Under ThreadSanitizer, which models neither membarrier
// nor fences, both sides become an acq_rel read-modify-write of one shared
// word: the RMWs are totally ordered, so one side synchronizes with the
// other, which gives the same guarantee in terms TSan checks.
#pragma once

#include <atomic>

#if defined(__SANITIZE_THREAD__)
#define VITRINE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VITRINE_TSAN 1
#endif
#endif

namespace vitrine::core::detail {

#if defined(VITRINE_TSAN)
inline std::atomic<unsigned> tsan_fence_word{0};
#endif

inline void light_fence() noexcept {
#if defined(VITRINE_TSAN)
  tsan_fence_word.fetch_add(1, std::memory_order_acq_rel);
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

/// Pairs with light_fence() in every other thread. Thread-safe; cold.
void heavy_fence() noexcept;

}  // namespace vitrine::core::detail
