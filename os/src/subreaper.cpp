#include "vitrine/os/subreaper.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vitrine/os/process_scan.hpp"

namespace vitrine::os {

bool become_subreaper() noexcept {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

std::size_t reap_orphans(const std::function<bool(pid_t)>& should_reap) {
  std::size_t reaped = 0;
  for (const auto& child : children_of(::getpid())) {
    if (!is_zombie(child) || !should_reap(child.pid)) continue;
    siginfo_t info{};
    // WNOHANG on this pid only: never blocks, never takes another child.
    if (::waitid(P_PID, static_cast<id_t>(child.pid), &info,
                 WEXITED | WNOHANG) == 0 &&
        info.si_pid == child.pid) {
      ++reaped;
    }
  }
  return reaped;
}

}  // namespace vitrine::os
