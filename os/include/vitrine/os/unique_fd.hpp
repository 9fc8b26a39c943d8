// unique_fd: a move-only owner of one file descriptor.
//
// Thread contract: an instance is not synchronised; one thread at a time.
// Different instances may be used from different threads freely.
// Cost: no allocation; the destructor and reset() make one close(2) call
// (EINTR from close is not retried: on Linux the fd is gone either way).
#pragma once

#include <utility>

namespace vitrine::os {

/// Owns a file descriptor and closes it on destruction. -1 means empty.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  /// The descriptor, or -1; ownership stays here.
  [[nodiscard]] int get() const noexcept { return fd_; }

  /// Gives up ownership without closing; returns the descriptor (or -1).
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  /// Closes the owned descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1) noexcept;

  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace vitrine::os
