#include "vitrine/os/signals.hpp"

#include <signal.h>
#include "sys_pidfd.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/unique_fd.hpp"

#include <cerrno>
#include <cstdio>

namespace vitrine::os {

int signal_group(pid_t pgid, int sig) noexcept {
  if (pgid <= 1) return EINVAL;
  return ::kill(-pgid, sig) == 0 ? 0 : errno;
}

int signal_pidfd(int pidfd, int sig) noexcept {
  return ::pidfd_send_signal(pidfd, sig, nullptr, 0) == 0 ? 0 : errno;
}

int signal_leader_group(int leader_pidfd, pid_t pgid, int sig) noexcept {
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
  constexpr unsigned int PIDFD_SIGNAL_PROCESS_GROUP = 1u << 2;  // Linux 6.9
#endif
  if (::pidfd_send_signal(leader_pidfd, sig, nullptr,
                          PIDFD_SIGNAL_PROCESS_GROUP) == 0)
    return 0;
  if (errno != EINVAL) return errno;
  // Older kernel: the caller guarantees the leader is not reaped yet, so
  // the group id cannot have been reused.
  return signal_group(pgid, sig);
}

std::size_t signal_escaped_descendants(
    pid_t leader, int sig, std::vector<escaped_descendant>* signalled) {
  std::size_t count = 0;
  for (const auto& d : descendants_of(leader)) {
    if (d.pgrp == leader || is_zombie(d)) continue;
    unique_fd fd{static_cast<int>(::pidfd_open(d.pid, 0))};
    if (!fd) continue;
    // Still the process we scanned: same pid with the same parent now that
    // the pidfd pins it.
    const auto now = read_proc_entry(d.pid);
    if (!now || now->ppid != d.ppid) continue;
    if (signal_pidfd(fd.get(), sig) != 0) continue;
    ++count;
    if (signalled) signalled->push_back({std::move(fd), d.pgrp == d.pid});
  }
  return count;
}

void kill_escaped(const escaped_descendant& e) noexcept {
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
  constexpr unsigned int PIDFD_SIGNAL_PROCESS_GROUP = 1u << 2;  // Linux 6.9
#endif
  if (e.leads_group && ::pidfd_send_signal(e.pidfd.get(), SIGKILL, nullptr,
                                           PIDFD_SIGNAL_PROCESS_GROUP) == 0)
    return;
  signal_pidfd(e.pidfd.get(), SIGKILL);  // ESRCH once it is gone
}

}  // namespace vitrine::os
