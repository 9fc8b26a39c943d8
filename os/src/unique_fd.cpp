#include "vitrine/os/unique_fd.hpp"

#include <unistd.h>

namespace vitrine::os {

void unique_fd::reset(int fd) noexcept {
  int old = std::exchange(fd_, fd);
  if (old >= 0 && old != fd) ::close(old);
}

}  // namespace vitrine::os
