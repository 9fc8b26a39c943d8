// process_scan: who are a process's children and descendants, which
// processes are in a group, how many fds are open. Reads /proc: for tests
// and diagnostics (proving "no zombie, no orphan, no fd leak"), and for the
// stop of a program without a cgroup (its escaped descendants).
//
// Thread contract: every function may be called from any thread; results
// are snapshots that may be stale by the time they are returned.
// Cost: children_of and descendants_of read `/proc/<pid>/task/<tid>/children`
// and one `/proc/<pid>/stat` per process found: O(threads + children), or
// O(descendants), where the kernel has those files (CONFIG_PROC_CHILDREN,
// kernel_lists_children()); without them, and always for
// processes_in_group, `/proc/<pid>/stat` of EVERY process (one
// open/read/close each): O(processes). count_open_fds lists
// /proc/self/fd: O(open fds).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <vector>

namespace vitrine::os {

/// Fields 1, 3, 4, 5 of `/proc/<pid>/stat`.
struct proc_entry {
  pid_t pid = 0;
  char state = '?';  ///< R, S, D, Z, T, t, X, I ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

/// Reads `/proc/<pid>/stat`; nullopt if the process does not exist (anymore).
std::optional<proc_entry> read_proc_entry(pid_t pid);

/// Whether this kernel has `/proc/<pid>/task/<tid>/children` (decided once).
bool kernel_lists_children();

/// The pids in each `/proc/<parent>/task/<tid>/children` (every thread's
/// children, zombies included); empty if `parent` is gone or the files are
/// missing.
std::vector<pid_t> child_pids(pid_t parent);

/// Processes whose parent is `parent` (zombies included).
std::vector<proc_entry> children_of(pid_t parent);

/// Every process below `root` in the parent tree (children, their children
/// ...), zombies included, `root` excluded. A process whose parent died has
/// been re-parented and is no longer found.
std::vector<proc_entry> descendants_of(pid_t root);

/// Processes whose process group is `pgid` (zombies included).
std::vector<proc_entry> processes_in_group(pid_t pgid);

[[nodiscard]] inline bool is_zombie(const proc_entry& e) noexcept {
  return e.state == 'Z';
}
/// True if `pid` exists and is a zombie.
bool is_zombie(pid_t pid);

/// True if `pid` exists and is not a zombie (i.e. still running or stopped).
bool is_alive(pid_t pid);

/// Open fds of this process (the directory fd used for listing excluded).
std::vector<int> open_fds();

/// open_fds().size() without building the vector.
std::size_t count_open_fds();

}  // namespace vitrine::os
