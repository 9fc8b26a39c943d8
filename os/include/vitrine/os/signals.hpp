// signals: send signals to process groups and pidfds (signal names and
// parsing are core/signal_names.hpp).
//
// Thread contract: every function is safe to call from any thread.
// Cost: signal_group/signal_pidfd are one syscall each and never block.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

/// kill(-pgid, sig): signals every process of the group. Returns 0 or the
/// errno (ESRCH when the group is empty, which callers may treat as done).
/// pgid must be > 1: 0, 1 and negative values return EINVAL instead of
/// signalling our own group or everybody.
/// @warning a pgid can be reused once all its members are reaped; signal a
/// group only while its leader (whose pid == pgid) is not yet reaped.
int signal_group(pid_t pgid, int sig) noexcept;

/// pidfd_send_signal(pidfd, sig): cannot hit a recycled pid. Returns 0 or
/// errno (ESRCH once the process has been reaped; a zombie still takes
/// the call and returns 0).
int signal_pidfd(int pidfd, int sig) noexcept;

/// Signals the process group led by the process behind `leader_pidfd`
/// (pidfd_send_signal with PIDFD_SIGNAL_PROCESS_GROUP, Linux >= 6.9; on
/// older kernels kill(-pgid), which is just as safe under the rule below).
/// @warning call only while the leader (pid == pgid) is not reaped: its pid,
/// zombie or not, then keeps the group id from being reused.
int signal_leader_group(int leader_pidfd, pid_t pgid, int sig) noexcept;

/// Signals the descendants of `leader` that left its process group (setsid
/// daemons still below it in the parent tree), which a group signal misses.
/// Each is opened with pidfd_open and checked to still have the parent seen
/// in the scan before pidfd_send_signal, so a reused pid is not signalled.
/// Returns how many were signalled. Cost: descendants_of (process_scan.hpp:
/// O(descendants) where the kernel lists children, else O(processes)).
/// For hosts without a cgroup per program; descendants already re-parented
/// away (double forks) are not found. With `signalled`, each one signalled
/// is appended to it: the caller can kill them once they have been
/// re-parented away (the leader died), without a scan and without the risk
/// of a reused pid (kill_escaped()).
struct escaped_descendant {
  unique_fd pidfd;
  bool leads_group = false;  ///< a setsid daemon: its group is its own
};
std::size_t signal_escaped_descendants(
    pid_t leader, int sig,
    std::vector<escaped_descendant>* signalled = nullptr);

/// SIGKILLs `e`, and its whole process group when it leads one (what it
/// forked after it was found is there too) and the kernel signals a group
/// through a pidfd (Linux >= 6.9; older kernels: `e` alone, since a
/// group id of a process reaped elsewhere could be reused).
void kill_escaped(const escaped_descendant& e) noexcept;

}  // namespace vitrine::os
