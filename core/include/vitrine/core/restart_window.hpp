// restart_window: OTP restart intensity. More than `intensity` restarts
// within `period` means the supervisor gives up.
//
// A value type owned by one supervisor (or process) actor; not
// thread-safe. Memory is bounded by intensity + 1 time points, kept in a
// ring that is allocated at the first restart: an empty window costs no
// heap (a std::deque allocated 576 bytes up front, 11% of a supervised
// process's heap; scripts/heap_breakdown.py).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace vitrine::core {

class restart_window {
 public:
  using clock = std::chrono::steady_clock;

  restart_window(unsigned intensity, clock::duration period)
      : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`; returns false when it exceeds the
  /// intensity (the supervisor must fail instead of restarting).
  bool admit(clock::time_point now) {
    while (size_ > 0 && now - oldest() >= period_) drop_oldest();
    push(now);
    counted_ = size_;
    while (size_ > intensity_ + std::size_t{1}) drop_oldest();
    return size_ <= intensity_;
  }

  /// Whether admit(now) would admit a restart; records nothing.
  bool would_admit(clock::time_point now) const noexcept {
    std::size_t within = 0;  // as admit() keeps them: those not expired
    for (std::uint32_t i = 0; i < size_; ++i)
      if (now - ring_[(head_ + i) % capacity_] < period_) ++within;
    return within + 1 <= intensity_;
  }

  /// A new limit; the restarts recorded so far count toward it.
  void set_limit(unsigned intensity, clock::duration period) noexcept {
    intensity_ = intensity;
    period_ = period;
  }
  void clear() noexcept { size_ = counted_ = 0; }
  clock::duration period() const noexcept { return period_; }
  /// The restarts kept (at most intensity + 1).
  std::size_t recent() const noexcept { return size_; }
  /// The restarts within the period as the last admit() counted them, that
  /// one included (before it forgot those past intensity + 1: after a
  /// lower set_limit() the count still has every restart it had kept).
  std::size_t counted() const noexcept { return counted_; }

 private:
  clock::time_point oldest() const noexcept { return ring_[head_]; }
  void drop_oldest() noexcept {
    head_ = (head_ + 1) % capacity_;
    --size_;
  }
  void push(clock::time_point t) {
    if (size_ == capacity_) grow();
    ring_[(head_ + size_) % capacity_] = t;
    ++size_;
  }
  /// Doubles the ring (at least 4), oldest first.
  void grow() {
    const std::uint32_t bigger = std::max<std::uint32_t>(4, 2 * size_);
    auto ring = std::make_unique<clock::time_point[]>(bigger);
    for (std::uint32_t i = 0; i < size_; ++i)
      ring[i] = ring_[(head_ + i) % capacity_];
    ring_ = std::move(ring);
    capacity_ = bigger;
    head_ = 0;
  }

  // 40 bytes: one sits in every process actor. The ring holds at most
  // intensity + 2 entries, so 32-bit positions suffice.
  unsigned intensity_;
  std::uint32_t head_ = 0;
  clock::duration period_;
  std::unique_ptr<clock::time_point[]> ring_;  // capacity_ of them
  std::uint32_t capacity_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t counted_ = 0;
};

}  // namespace vitrine::core
