// Internal to vitrine_os: the part of launch() that runs in the child.
//
// start_child() clones a child that shares our memory (CLONE_VM) while the
// calling thread is suspended (CLONE_VFORK), applies `plan` with raw
// syscalls only, and execs. A failure is written back into the plan.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace vitrine::os::detail {

enum class step : int {
  none,
  setsid,
  cgroup,
  pdeathsig,
  umask,
  setrlimit,
  chdir,
  fds,
  exec,
};

constexpr const char* step_text(step s) {
  switch (s) {
    case step::none:
      return "launch";
    case step::setsid:
      return "setsid";
    case step::cgroup:
      return "join cgroup";
    case step::pdeathsig:
      return "prctl(PR_SET_PDEATHSIG)";
    case step::umask:
      return "umask";
    case step::setrlimit:
      return "setrlimit";
    case step::chdir:
      return "chdir";
    case step::fds:
      return "set up fds";
    case step::exec:
      return "exec";
  }
  return "launch";
}

struct kernel_rlimit {
  std::uint64_t cur;
  std::uint64_t max;
};

constexpr int n_slots = 4;  // stdin, stdout, stderr, notify

struct child_plan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;  // nullptr = inherit
  bool set_umask = false;
  mode_t umask_value = 0;
  const kernel_rlimit* limits = nullptr;
  const int* limit_resources = nullptr;
  std::size_t n_limits = 0;
  int death_signal = 0;
  long parent_pid = 0;
  /// The program's cgroup directory (-1 = none): the child is born in it
  /// (clone3 with CLONE_INTO_CGROUP), or where the kernel lacks that,
  /// writes "0" to its cgroup.procs before exec.
  int cgroup_dir_fd = -1;
  /// Write "0" to it to join the cgroup (-1 = none): set by the caller for
  /// a cgroup that was killed, by start_child where clone3 is missing.
  int cgroup_procs_fd = -1;
  /// The guardian's table of guarded groups (guardian::group_bits(); null
  /// = none): the child sets its own group's bit as soon as it leads one,
  /// before it execs.
  std::uint64_t* guarded_groups = nullptr;
  std::array<int, n_slots> src{-1, -1, -1, -1};  // -1 = leave as is
  std::array<int, n_slots> dst{0, 1, 2, -1};
  int high_fd = 3;  // sources are first moved to fds >= this
  /// The child shares our fd table (CLONE_FILES) until its first system
  /// call, which makes it a private copy of the descriptors below this one
  /// only: above every fd in src and cgroup_procs_fd.
  int keep_below = 3;
  // Written by the child only on failure, read by the parent after clone().
  volatile int err = 0;
  volatile int failed = 0;
};

/// Runs the child described by `plan` (CLONE_VM | CLONE_VFORK |
/// CLONE_FILES | CLONE_PIDFD, and CLONE_INTO_CGROUP with a cgroup on x86-64:
/// joining a cgroup by a write to cgroup.procs takes the kernel's cgroup
/// migration lock for writing, ~1 ms a spawn as measured by the end-to-end
/// benchmark's restart trace; born inside it, the child takes no such
/// lock). Returns its pid once it has exec'd or failed (see
/// plan.failed) and stores its pidfd (O_CLOEXEC) in *pidfd; or returns -1
/// with *err set. The pidfd comes from clone itself, so it is valid even if
/// the child was auto-reaped at once (host set SIGCHLD to SIG_IGN).
pid_t start_child(child_plan& plan, int* pidfd, int* err) noexcept;

}  // namespace vitrine::os::detail
