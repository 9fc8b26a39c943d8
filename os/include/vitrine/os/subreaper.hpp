// subreaper: adopt orphaned descendants, and reap the ones nobody tracks.
// (The runtime uses os::orphan_reaper, reaper.hpp, which reaps on SIGCHLD
// and skips owned children by itself; reap_orphans is the one-shot form.)
//
// With PR_SET_CHILD_SUBREAPER, a grandchild whose parent died (e.g. a
// daemon that double-forked) re-parents to this process instead of init,
// so it can still be found (children_of(getpid())) and reaped.
//
// Thread contract: any thread. become_subreaper() is process-wide and
// permanent; a subreaper_scope gives the attribute back when the last one
// goes (a runtime holds one). reap_orphans() must not race with another
// reaper of the same
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

/// While any scope lives (counted, process-wide) this process is a child
/// subreaper; when the last one goes, the attribute is cleared again if
/// the first one found it clear. Descendants adopted until then stay our
/// children (reap them first); later orphans go to our own subreaper or
/// init instead of staying zombies of a process nobody reaps for.
class subreaper_scope {
 public:
  subreaper_scope() noexcept;
  ~subreaper_scope();
  subreaper_scope(const subreaper_scope&) = delete;
  subreaper_scope& operator=(const subreaper_scope&) = delete;

  /// False when the prctl failed: this scope counts for nothing.
  explicit operator bool() const noexcept { return active_; }

 private:
  bool active_ = false;
};

/// Whether this process is a child subreaper now.
bool is_subreaper() noexcept;

/// Reaps every zombie child of this process for which should_reap(pid) is
/// true. Returns how many were reaped. Running children are left alone.
std::size_t reap_orphans(const std::function<bool(pid_t)>& should_reap);

}  // namespace vitrine::os
