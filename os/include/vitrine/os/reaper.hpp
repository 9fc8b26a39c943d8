// reaper: who reaps which child. Owned children (started by launch() or by
// the guardian) are reaped by their owner through their pidfd; everything
// else that ends up as our child (descendants re-parented to us while we are
// a child subreaper) is reaped by orphan_reaper as it exits.
//
// Process-wide: the set of owned pids is one per process, so two runtimes
// in one process never steal each other's children.
//
// Thread contract: every function may be called from any thread.
// - launch() registers its child before the child can be seen by an orphan
//   scan (it holds owned_child_scope across clone and registration).
// - reap_child() is the owner's call: waitid(P_PIDFD, WNOHANG), and the pid
//   leaves the owned set once reaped (or once its status is known lost).
// - orphan_reaper: at most one is active at a time per process (a second
//   start() only counts a reference). Its thread sleeps in read() until
//   SIGCHLD arrives; it never wakes on a timer.
//
// Embedding hook: orphan_reaper installs a SIGCHLD handler (chaining to the
// handler it replaced) that writes one byte to a pipe. A host that installs
// its own SIGCHLD handler *afterwards* must call orphan_reaper::notify()
// (async-signal-safe) from it, or orphans stay zombies until the next
// notification. A host with SIGCHLD at SIG_IGN gets no handler: the kernel
// auto-reaps (and owned children report termination::kind::unknown).
//
// Cost: owned-set updates are a mutex + a binary search and an insert or
// erase in a sorted vector (O(owned) moves). Each SIGCHLD
// costs one read of /proc/self/task/TID/children per thread (our children
// only) plus one waitid(WNOHANG) per child not owned: O(threads + children),
// not O(processes). While it runs, the reaper holds two descriptors
// (os::fd_reserve) that it closes for each scan: at the open-file limit a
// scan neither fails nor takes a descriptor a program's start counted on.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "vitrine/core/termination.hpp"

namespace vitrine::os {

/// Held (shared) while a child is created and registered as owned; an
/// orphan scan holds it exclusively, so it never sees a child between its
/// clone() and its registration.
class owned_child_scope {
 public:
  owned_child_scope();
  ~owned_child_scope();
  owned_child_scope(const owned_child_scope&) = delete;
  owned_child_scope& operator=(const owned_child_scope&) = delete;

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

/// Marks `pid` (our child) as reaped by its owner: orphan scans skip it.
/// Counted: registering a pid twice needs two releases.
void register_owned_child(pid_t pid);
/// Drops one registration of `pid` (after the owner reaped it).
void release_owned_child(pid_t pid) noexcept;
/// True while `pid` is registered.
[[nodiscard]] bool is_owned_child(pid_t pid);

/// The owner's reap: waitid(P_PIDFD, pidfd, WEXITED | WNOHANG). Returns
/// nullopt while the child still runs; otherwise its status (unknown on
/// ECHILD) and releases `pid` from the owned set. Never blocks.
std::optional<core::termination> reap_child(pid_t pid, int pidfd) noexcept;

/// Same, but waits for the exit (use after SIGKILL).
core::termination reap_child_blocking(pid_t pid, int pidfd) noexcept;

/// Our children (all threads' `/proc/self/task/<tid>/children`), zombies
/// included; falls back to a full /proc scan where that file is missing.
std::vector<pid_t> own_children();

/// Reaps re-parented descendants as they exit (see the file comment).
class orphan_reaper {
 public:
  /// Starts the process-wide reaper thread and SIGCHLD hook (or takes one
  /// more reference); the first reference also reaps, on the calling
  /// thread, the orphans that exited before. Throws std::system_error if
  /// the pipe or thread fail.
  orphan_reaper();
  /// Drops the reference; the last one restores the SIGCHLD handler (if it
  /// is still ours) and joins the thread.
  ~orphan_reaper();
  orphan_reaper(const orphan_reaper&) = delete;
  orphan_reaper& operator=(const orphan_reaper&) = delete;

  /// Async-signal-safe: wakes the reaper (for a host's own SIGCHLD handler).
  static void notify() noexcept;

  /// Reaps every zombie child that is not owned, now, on this thread.
  /// Returns how many it reaped.
  static std::size_t reap_now();

  /// Sends SIGKILL to every child that is not owned (adopted orphans, e.g.
  /// setsid daemons of our programs) and reaps them and whatever re-parents
  /// to us as they die, for at most `rounds` rounds. Returns how many it
  /// reaped. Safe against pid reuse: an unreaped child's pid stays ours.
  static std::size_t kill_adopted(int rounds = 50);

  /// True when this is the only reference (one runtime with subreaper in
  /// the process): adopted orphans are then all this runtime's to kill.
  [[nodiscard]] bool sole_user() const;

  /// Orphans reaped by the reaper since the process started.
  [[nodiscard]] static std::size_t reaped_total() noexcept;
};

}  // namespace vitrine::os
