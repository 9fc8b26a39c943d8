#include "vitrine/os/spawn_slots.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <thread>

#include "slot_pool.hpp"

namespace vitrine::os {
namespace detail {
namespace {

std::mutex live_mutex;
std::weak_ptr<slot_pool> live;  // under live_mutex

unique_fd open_or_throw(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return unique_fd{fd};
}

}  // namespace

slot_pool::slot_pool(unsigned groups)
    : null_(open_or_throw(::open("/dev/null", O_RDWR | O_CLOEXEC),
                          "spawn_slots: open /dev/null")),
      taken_(groups, false) {
  slots_.reserve(static_cast<std::size_t>(groups) * slots_per_group);
  for (std::size_t i = 0; i < groups * std::size_t{slots_per_group}; ++i)
    slots_.push_back(open_or_throw(::fcntl(null_.get(), F_DUPFD_CLOEXEC, 3),
                                   "spawn_slots: reserve a descriptor"));
}

int slot_pool::take() noexcept {
  std::lock_guard lock(mutex_);
  const auto free = std::find(taken_.begin(), taken_.end(), false);
  if (free == taken_.end()) return -1;
  *free = true;
  return static_cast<int>(free - taken_.begin());
}

void slot_pool::give_back(int group) noexcept {
  std::lock_guard lock(mutex_);
  taken_[static_cast<std::size_t>(group)] = false;
}

slot_lease::slot_lease() noexcept {
  {
    std::lock_guard lock(live_mutex);
    pool_ = live.lock();
  }
  if (pool_) group_ = pool_->take();
}

int slot_lease::hand_over(int fd) noexcept {
  if (fd < 0 || group_ < 0 || used_ == slots_per_group) return fd;
  const int slot = pool_->slot(group_, used_);
  if (::dup3(fd, slot, O_CLOEXEC) < 0) return fd;
  ++used_;
  return slot;
}

void slot_lease::release() noexcept {
  if (group_ < 0) return;
  // dup3 onto an open descriptor cannot fail for lack of one, and /dev/null
  // stays in the slot: the number is never free for someone else to take.
  for (int i = 0; i < used_; ++i)
    ::dup3(pool_->null_fd(), pool_->slot(group_, i), O_CLOEXEC);
  pool_->give_back(group_);
  group_ = -1;
  used_ = 0;
}

}  // namespace detail

spawn_slots::spawn_slots() {
  std::lock_guard lock(detail::live_mutex);
  pool_ = detail::live.lock();
  if (pool_) return;
  const unsigned groups =
      std::clamp(std::thread::hardware_concurrency(), 4u, 32u);
  pool_ = std::make_shared<detail::slot_pool>(groups);
  detail::live = pool_;
}

spawn_slots::~spawn_slots() {
  std::lock_guard lock(detail::live_mutex);
  pool_.reset();  // the last holder (or lease) closes the pool
}

std::size_t spawn_slots::descriptors() const noexcept {
  return pool_->descriptors();
}

}  // namespace vitrine::os
