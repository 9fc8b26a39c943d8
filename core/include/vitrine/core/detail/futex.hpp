// Thin wrappers over the Linux futex system call, with an absolute
// CLOCK_MONOTONIC deadline (std::atomic::wait has none).
//
// The futex word is a plain std::uint32_t that every thread reads and writes
// only through std::atomic_ref<std::uint32_t> (aligned to
// std::atomic_ref<std::uint32_t>::required_alignment); the kernel gets its
// address, with no cast between atomic and plain types.
//
// Threads: any. Cost: one system call each; futex_wait sleeps until woken,
// the word no longer holds `expected`, a signal, or the deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace vitrine::core::detail {

/// The alignment a futex word needs (std::atomic_ref's and the kernel's).
inline constexpr std::size_t futex_word_alignment =
    std::atomic_ref<std::uint32_t>::required_alignment;
static_assert(futex_word_alignment >= alignof(std::uint32_t));

/// Sleeps while `word == expected`, at most until `deadline`.
void futex_wait_until(std::uint32_t& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;

/// Wakes every thread sleeping in futex_wait_until on `word`.
void futex_wake_all(std::uint32_t& word) noexcept;

}  // namespace vitrine::core::detail
