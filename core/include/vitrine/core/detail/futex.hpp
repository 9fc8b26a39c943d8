// Thin wrappers over the Linux futex system call on a 32-bit atomic word,
// with an absolute CLOCK_MONOTONIC deadline (std::atomic::wait has none).
//
// Threads: any. Cost: one system call each; futex_wait sleeps until woken,
// the word no longer holds `expected`, a signal, or the deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vitrine::core::detail {

/// Sleeps while `word == expected`, at most until `deadline`.
void futex_wait_until(const std::atomic<std::uint32_t>& word,
                      std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;

/// Wakes every thread sleeping in futex_wait_until on `word`.
void futex_wake_all(const std::atomic<std::uint32_t>& word) noexcept;

}  // namespace vitrine::core::detail
