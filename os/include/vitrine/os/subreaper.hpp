// subreaper: adopt orphaned descendants, and reap the ones nobody tracks.
// (The runtime uses os::orphan_reaper, reaper.hpp, which reaps on SIGCHLD
// and skips owned children by itself; reap_orphans is the one-shot form.)
//
// With PR_SET_CHILD_SUBREAPER, a grandchild whose parent died (e.g. a
// daemon that double-forked) re-parents to this process instead of init,
// so it can still be found (children_of(getpid())) and reaped.
//
// Thread contract: any thread. become_subreaper() is process-wide and
// permanent. reap_orphans() must not race with another reaper of the same
// pids: pass a predicate that excludes the children io_service watches
// through pidfds (reaping those here would steal their exit status).
// Cost: reap_orphans lists our children (children_of, process_scan.hpp:
// O(children) where the kernel lists them, else a scan of /proc), then one
// waitpid(WNOHANG) per zombie child accepted by the predicate; never blocks.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>

namespace vitrine::os {

/// prctl(PR_SET_CHILD_SUBREAPER, 1). Returns false (errno set) on failure.
bool become_subreaper() noexcept;

/// Reaps every zombie child of this process for which should_reap(pid) is
/// true. Returns how many were reaped. Running children are left alone.
std::size_t reap_orphans(const std::function<bool(pid_t)>& should_reap);

}  // namespace vitrine::os
