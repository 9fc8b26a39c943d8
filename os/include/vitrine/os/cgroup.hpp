// cgroup: one cgroup v2 directory per runtime, one child directory per
// supervised program, so that every descendant of a program (setsid daemons
// and double forks included) can be found and killed at once.
//
// Layout: `<our own v2 cgroup>/vitrine-<pid>-<n>-ns<pid namespace inode>/
// p<program-id>`. The runtime's directory is the unit the guardian kills
// (cgroup.kill on a parent kills the whole subtree). Needs a writable
// cgroup v2 hierarchy and cgroup.kill (Linux >= 5.14); detect() returns
// nullopt where there is none (non-root, no v2 mount, a container without
// delegation): callers fall back to process groups.
//
// Thread contract: create_program/kill_program/remove_program may be called
// from any thread, concurrently, for different ids. detect() and the
// destructor are called once, by the owner.
// Cost: mkdir/rmdir/one small write each; remove_all reads the directory.
// Never leaves an empty cgroup behind: the destructor kills and removes
// every program directory and then the runtime's own; the guardian does
// the same when the host dies. Where both died at once, detect() reclaims
// the tree: it kills and removes every `vitrine-*` tree beside its own
// whose owner is gone (the name's pid, in our pid namespace, no longer
// exists; a pid already reused keeps its tree until that process ends),
// waiting up to 1 s per populated tree.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

class cgroup_tree {
 public:
  /// Finds a writable cgroup v2 hierarchy with cgroup.kill, reclaims the
  /// trees of dead owners beside ours and creates this runtime's directory;
  /// nullopt if there is none.
  static std::unique_ptr<cgroup_tree> detect();

  /// Kills and removes everything below, then the runtime's directory.
  ~cgroup_tree();
  cgroup_tree(const cgroup_tree&) = delete;
  cgroup_tree& operator=(const cgroup_tree&) = delete;

  /// The runtime's directory, e.g. /sys/fs/cgroup/unified/vitrine-42-1.
  [[nodiscard]] const std::string& root() const noexcept { return root_; }

  /// Creates (if needed) the directory of program `id` and returns its
  /// path, or "" on failure (errno kept).
  std::string create_program(std::uint64_t id);

  /// The path of program `id`'s directory (made or not): what
  /// create_program() returns once it made it.
  [[nodiscard]] std::string program_path(std::uint64_t id) const;

  /// Program `id`'s `cgroup.events`, opened read-only (for
  /// io_service::watch_cgroup_empty), or an empty fd (errno kept).
  [[nodiscard]] unique_fd open_program_events(std::uint64_t id) const;

  /// SIGKILLs every member of program `id` (cgroup.kill). Returns 0 or
  /// errno (ENOENT if it does not exist).
  int kill_program(std::uint64_t id) noexcept;

  /// rmdir of program `id`'s directory, and first of any cgroups its
  /// program made below it; waits up to `grace` for members
  /// that are dying. Returns 0 or errno (EBUSY while members remain).
  int remove_program(
      std::uint64_t id,
      std::chrono::milliseconds grace = std::chrono::milliseconds{0}) noexcept;

  /// cgroup.kill on the runtime's directory (every program at once).
  int kill_all() noexcept;

  /// Whether program `id`'s cgroup holds a live process (cgroup.events;
  /// zombies do not count): one open, read and close.
  [[nodiscard]] bool program_populated(std::uint64_t id) const noexcept;

  /// Processes in program `id`'s cgroup (zombies excluded), for tests.
  [[nodiscard]] std::size_t members(std::uint64_t id) const;

 private:
  explicit cgroup_tree(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

/// Writes "1" to `<dir>/cgroup.kill`. Returns 0 or errno.
int cgroup_kill(const std::string& dir) noexcept;

/// True while `<dir>/cgroup.events` says "populated 1".
bool cgroup_populated(const std::string& dir) noexcept;

}  // namespace vitrine::os
