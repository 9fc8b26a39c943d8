// publication_counter: runtime::publications() and the eventfd behind
// runtime::publication_fd(). Internal; one per runtime, which outlives its
// actors.
//
// bump() runs after every change an actor (or the registry) made visible,
// on any thread: one atomic increment and one load of the armed flag; only
// the first change after arm() also writes the eventfd (one syscall). A
// host loop that found nothing new arms it and sleeps in poll(2) on fd():
// an idle runtime then wakes it for nothing.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::detail {

class publication_counter {
 public:
  publication_counter() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  std::uint64_t load() const noexcept {
    return count_.load(std::memory_order_seq_cst);
  }

  void bump() noexcept {
    // seq_cst on both sides (here: increment, then load armed_; in arm():
    // store armed_, then load count_): one of the two sees the other, so
    // a change made while the loop arms never goes unsignalled.
    count_.fetch_add(1, std::memory_order_seq_cst);
    if (armed_.load(std::memory_order_seq_cst) &&
        armed_.exchange(false, std::memory_order_acq_rel))
      signal();
  }

  /// Makes fd() readable at the next bump(), unless the count already
  /// differs from `seen` (false: nothing armed, read again at once).
  bool arm(std::uint64_t seen) noexcept {
    drain();
    armed_.store(true, std::memory_order_seq_cst);
    if (count_.load(std::memory_order_seq_cst) == seen) return true;
    armed_.store(false, std::memory_order_relaxed);
    return false;
  }

  int fd() const noexcept { return fd_.get(); }

 private:
  void signal() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd_.get(), &one, sizeof one);
  }
  void drain() noexcept {
    std::uint64_t value;
    [[maybe_unused]] const auto n = ::read(fd_.get(), &value, sizeof value);
  }

  std::atomic<std::uint64_t> count_{0};
  std::atomic<bool> armed_{false};
  os::unique_fd fd_;
};

}  // namespace vitrine::detail
