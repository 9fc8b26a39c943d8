// transition_history: the last few state transitions of one process, kept
// by its actor and published beside its state.
//
// A fixed-capacity value (no allocation beyond the snapshot itself); written
// by the owning actor only, read from any thread through a publication cell.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "vitrine/core/process_state.hpp"

namespace vitrine::core {

struct transition {
  std::uint64_t version = 0;
  process_status status = process_status::stopped;
  pid_t pid = 0;
  termination last_exit;
  std::chrono::steady_clock::time_point at{};
};

class transition_history {
 public:
  static constexpr std::size_t capacity = 8;

  /// Appends, dropping the oldest entry when full.
  void push(const transition& t) noexcept {
    entries_[(first_ + size_) % capacity] = t;
    if (size_ < capacity)
      ++size_;
    else
      first_ = (first_ + 1) % capacity;
  }

  std::size_t size() const noexcept { return size_; }
  /// i = 0 is the oldest kept transition.
  const transition& operator[](std::size_t i) const noexcept {
    return entries_[(first_ + i) % capacity];
  }

 private:
  std::array<transition, capacity> entries_{};
  std::size_t first_ = 0;
  std::size_t size_ = 0;
};

}  // namespace vitrine::core
