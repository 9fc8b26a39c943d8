// launch: start one child process with its settings applied before exec.
//
// What it does: everything that can fail or allocate (PATH search, argv and
// envp arrays, opening files, pipes) happens in the parent; then
// clone(CLONE_VM | CLONE_VFORK) runs a small child routine that uses raw
// syscalls only (every signal disposition to its default, ignored ones
// included, and an empty mask; own process group,
// PR_SET_PDEATHSIG, umask, rlimits, chdir, stdio and notify fd, close every
// other fd) and execve()s. A failure in the child is reported back to the
// parent, which reaps that child and returns a launch_error.
//
// Thread contract: launch() may be called from any thread, concurrently.
// @warning PR_SET_PDEATHSIG fires when the *thread* that called launch()
// exits, not when the process exits. Call launch() from a long-lived thread
// (e.g. a dedicated spawner thread or a thread pool that never shrinks),
// or set death_signal = 0.
//
// Cost: a few allocations for argv/envp, one stat-like probe per PATH entry,
// ~10 syscalls in the parent (pipes, sigprocmask, mmap for the
// child stack) plus the child's work until execve; the calling thread is
// suspended until the child has exec'd or failed (CLONE_VFORK). No page
// table copy: the cost does not grow with the parent's memory.
//
// Embedding hazards: the child is reaped through its pidfd by its owner
// (reap_child, reaper.hpp; io_service::watch_exit does it for simple users).
// A host application that sets SIGCHLD to SIG_IGN, or calls waitpid(-1),
// takes exit statuses away; reap_child reports those as kind unknown.
// With SIGCHLD at SIG_IGN the kernel reaps at once, so launched_child::pid
// may already be free for reuse: signal through the pidfd, not the pid.
// Needs Linux >= 5.4: waitid(P_PIDFD) 5.4, pidfds polled by epoll 5.3,
// CLONE_PIDFD 5.2, pidfd_send_signal 5.1. close_range (5.9) is used when
// present: before 5.9 a child inherits the host's fds opened without
// O_CLOEXEC (ours all have it).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

class guardian;

/// Where one of the child's standard streams goes.
struct stdio_target {
  enum class kind {
    inherit,      ///< share the parent's fd 0/1/2
    null,         ///< /dev/null
    append_file,  ///< `path`, O_APPEND|O_CREAT, 0644 (stdin: opened read-only)
    capture,      ///< a pipe whose read end is returned (stdout/stderr only)
  };
  kind mode = kind::inherit;
  std::string path;

  bool operator==(const stdio_target&) const = default;
};

/// The kernel's limit on one argument or environment string of execve(2),
/// its NUL included (MAX_ARG_STRLEN, 32 pages): a longer one fails the
/// exec with E2BIG.
inline constexpr std::size_t max_exec_string = std::size_t{128} << 10;

/// One setrlimit() applied in the child, e.g. {RLIMIT_NOFILE, 256, 256}.
struct rlimit_setting {
  int resource;
  rlim_t soft;
  rlim_t hard;

  bool operator==(const rlimit_setting&) const = default;
};

struct launch_options {
  /// argv[0] is the program: a path with a '/' is used as is, a bare name
  /// is looked up in PATH (the child's PATH if `env` sets one, else ours).
  std::vector<std::string> argv;
  bool inherit_env = true;
  /// Added or replaced in the child's environment, in order.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;  ///< empty = inherit
  std::optional<mode_t> umask;
  std::vector<rlimit_setting> rlimits;
  stdio_target stdin_target{stdio_target::kind::null, {}};
  stdio_target stdout_target;
  stdio_target stderr_target;
  /// PR_SET_PDEATHSIG signal (see the warning above); 0 = none.
  int death_signal = SIGKILL;
  /// s6-style readiness: if >= 3 the child gets the write end of a pipe at
  /// this fd number and signals readiness by writing a line ("\n") to it.
  int notify_fd = -1;
  /// A cgroup v2 directory the child is born in (clone3 with
  /// CLONE_INTO_CGROUP on x86-64), or joins before exec by writing "0" to
  /// its cgroup.procs, so all its descendants are found there; "" = none.
  std::string cgroup;
  /// cgroup.kill was written to `cgroup`: the child joins by cgroup.procs.
  /// On the Linux 6.18 we measured, every child born by CLONE_INTO_CGROUP
  /// into a cgroup that was ever cgroup.kill'ed is SIGKILLed at birth.
  bool cgroup_killed = false;

  /// Field by field (how `vitrine reload` tells a changed program).
  bool operator==(const launch_options&) const = default;
};

/// A started child. The child leads its own process group: pgid == pid.
/// Pipes are read ends, O_NONBLOCK | O_CLOEXEC, set only for capture/notify;
/// stderr captured to the same (non-empty) path as stdout shares
/// stdout_pipe (its fd 2 is that pipe too, as 2>&1: the order of the
/// writes is kept), and stderr_pipe stays empty.
/// The child is registered as owned (reaper.hpp) before launch() returns, so
/// an orphan_reaper never takes its status; whoever reaps it must do so with
/// reap_child() (or io_service::watch_exit, which calls it), which releases
/// the registration.
/// @warning nobody reaps the child unless pidfd goes to io_service::
/// watch_exit (or the caller reaps it): dropping it leaves a zombie.
struct launched_child {
  pid_t pid = 0;
  unique_fd pidfd;  ///< O_CLOEXEC, from clone(CLONE_PIDFD): never stale
  unique_fd stdout_pipe, stderr_pipe, notify_pipe;
};

/// errno plus clear text naming the failing step and the program, e.g.
/// "exec /nonexistent: No such file or directory".
struct launch_error {
  int code = 0;
  std::string what;
};

/// Starts a child as described by `options`. Returns the child or an error;
/// never throws for OS failures (may throw std::bad_alloc). On error no
/// child is left behind (it has been reaped) and no fd is leaked.
/// With a `guard`, the child marks its own process group in the guard's
/// table before it execs (guardian::group_table), so the group is guarded
/// before the program runs (a failed launch clears the mark itself); the
/// caller clears it with guard->forget_group(pid) before it reaps the
/// child.
std::variant<launched_child, launch_error> launch(const launch_options& options,
                                                  guardian* guard = nullptr);

/// The /dev/null every child's `null` stream gets: opened by the first
/// launch that needs it and kept open for the life of the process, so a
/// launch takes no descriptor of its own for it (at the open-file limit,
/// what a stopped program gave back is then enough for the next start).
/// -1 when it cannot be opened (that launch fails with the errno). Any
/// thread; one atomic load once open.
int shared_dev_null() noexcept;

}  // namespace vitrine::os
