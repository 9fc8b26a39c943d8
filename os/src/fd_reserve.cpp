#include "vitrine/os/fd_reserve.hpp"

#include <fcntl.h>

#include <cerrno>

namespace vitrine::os {

fd_reserve::fd_reserve(std::size_t count) : count_(count) {
  std::lock_guard lock{mutex_};
  refill_locked();
}

fd_reserve::use::use(fd_reserve& reserve) : reserve_(reserve) {
  std::lock_guard lock{reserve_.mutex_};
  if (reserve_.uses_++ == 0) reserve_.held_.clear();
}

fd_reserve::use::~use() {
  reserve_.end(reserve_.uses_);
}

fd_reserve::loan::loan(fd_reserve* reserve) : reserve_(reserve) {
  if (!reserve_) return;
  std::lock_guard lock{reserve_->mutex_};
  ++reserve_->lent_;
  if (!reserve_->held_.empty()) reserve_->held_.pop_back();
}

fd_reserve::loan::~loan() {
  if (reserve_) reserve_->end(reserve_->lent_);
}

void fd_reserve::end(std::size_t& alive) {
  const int saved = errno;  // what the work's last call set
  {
    std::lock_guard lock{mutex_};
    --alive;
    if (uses_ == 0) refill_locked();
  }
  errno = saved;
}

void fd_reserve::refill() {
  std::lock_guard lock{mutex_};
  if (uses_ == 0) refill_locked();
}

std::size_t fd_reserve::held() const {
  std::lock_guard lock{mutex_};
  return held_.size();
}

void fd_reserve::refill_locked() {
  while (held_.size() + lent_ < count_) {
    unique_fd fd{held_.empty()
                     ? ::open("/dev/null", O_RDONLY | O_CLOEXEC)
                     : ::fcntl(held_.front().get(), F_DUPFD_CLOEXEC, 0)};
    if (!fd) return;  // at the limit: the rest when there is room
    held_.push_back(std::move(fd));
  }
}

}  // namespace vitrine::os
