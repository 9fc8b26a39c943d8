// Internal to vitrine_os: the process-wide pool behind spawn_slots, and the
// lease launch() takes on one of its groups for the duration of a clone.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os::detail {

/// stdin, stdout, stderr, notify, a cgroup.procs to join by and the
/// guardian's socket.
constexpr int slots_per_group = 6;

class slot_pool {
 public:
  /// Opens /dev/null once and `groups` x slots_per_group duplicates of it
  /// at the lowest free numbers. Throws std::system_error.
  explicit slot_pool(unsigned groups);

  [[nodiscard]] std::size_t descriptors() const noexcept {
    return 1 + slots_.size();
  }
  /// A free group (now taken), or -1 when all are taken.
  int take() noexcept;
  void give_back(int group) noexcept;
  [[nodiscard]] int slot(int group, int index) const noexcept {
    return slots_[static_cast<std::size_t>(group * slots_per_group + index)]
        .get();
  }
  [[nodiscard]] int null_fd() const noexcept { return null_.get(); }

 private:
  unique_fd null_;
  std::vector<unique_fd> slots_;
  std::mutex mutex_;
  std::vector<bool> taken_;  // under mutex_
};

/// One group of the live pool, held by one launch() from before the clone
/// until the child has exec'd. Empty (hand_over() returns its argument)
/// when no spawn_slots object lives or every group is taken.
class slot_lease {
 public:
  slot_lease() noexcept;
  ~slot_lease() { release(); }
  slot_lease(const slot_lease&) = delete;
  slot_lease& operator=(const slot_lease&) = delete;

  /// Puts a duplicate of `fd` into the group's next slot and returns that
  /// slot's number; returns `fd` itself (still usable, only higher) when
  /// the lease is empty, full, or `fd` is -1.
  int hand_over(int fd) noexcept;
  /// Puts /dev/null back into the used slots (dropping their references
  /// to the child's pipes and files) and frees the group.
  void release() noexcept;

 private:
  std::shared_ptr<slot_pool> pool_;
  int group_ = -1;
  int used_ = 0;
};

}  // namespace vitrine::os::detail
