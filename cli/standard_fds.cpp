#include "standard_fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace vitrine::cli {

bool hold_standard_fds() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free number: `fd`, as the ones below it are open. Not
    // close-on-exec: what a command execs (vitrine-run) keeps them.
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened != fd) {
      if (opened >= 0) ::close(opened);
      std::fputs(
          "vitrine: cannot open /dev/null for a closed stdin, stdout or "
          "stderr\n",
          stderr);
      return false;
    }
  }
  return true;
}

}  // namespace vitrine::cli
