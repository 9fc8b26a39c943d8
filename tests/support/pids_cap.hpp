// pids_cap: a cgroup v1 `pids` group that caps the tasks (processes and
// threads) of the processes moved into it, to make fork() and
// pthread_create() fail with EAGAIN as `ulimit -u` does for other users
// (root is exempt from that limit). Test-only; one thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace vitrine::test {

class pids_cap {
 public:
  /// Whether this machine has a writable cgroup v1 pids hierarchy.
  static bool available();

  pids_cap();
  /// Moves its members back to the hierarchy's root, then removes it.
  ~pids_cap();
  pids_cap(const pids_cap&) = delete;
  pids_cap& operator=(const pids_cap&) = delete;

  bool made() const noexcept { return made_; }
  /// Moves `pid` (all its threads) into the group.
  bool add(pid_t pid) const;
  /// No new task for its members from now on.
  bool freeze_count() const { return write("pids.max", read("pids.current")); }
  bool lift() const { return write("pids.max", "max"); }

  bool write(const char* file, const std::string& value) const;
  std::string read(const char* file) const;

 private:
  std::filesystem::path dir_;
  bool made_ = false;
};

}  // namespace vitrine::test
