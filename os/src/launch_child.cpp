#include "launch_child.hpp"

#include "raw_signals.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace vitrine::os::detail {

namespace {

[[noreturn]] VITRINE_CHILD_CODE void child_fail(child_plan* plan, step s) {
  plan->err = errno;
  plan->failed = static_cast<int>(s);
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// Runs in the child between clone() and execve(): the parent's memory is
// shared and the parent thread is suspended, so only raw syscalls here.
VITRINE_CHILD_CODE int child_main(void* arg) {
  auto* plan = static_cast<child_plan*>(arg);

  // Every signal starts at its default, as systemd gives a service:
  // handlers installed by the parent must not run in this shared-memory
  // child, and an ignored signal would survive exec (a host started in the
  // background by a shell ignores SIGINT and SIGQUIT; its programs then
  // could not be stopped with stop_signal = INT).
  for (int sig = 1; sig <= kernel_nsig; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    kernel_sigaction old;
    if (::syscall(SYS_rt_sigaction, sig, nullptr, &old, kernel_sigset_size)) {
      continue;
    }
    if (old.handler != SIG_DFL) {
      kernel_sigaction dfl;
      dfl.handler = SIG_DFL;
      dfl.flags = 0;
      dfl.restorer = nullptr;
      dfl.mask = 0;
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, kernel_sigset_size);
    }
  }
  if (::syscall(SYS_setpgid, 0, 0) != 0) child_fail(plan, step::setpgid);
  // Before exec, so every descendant is born inside the program's cgroup.
  if (plan->cgroup_procs_fd >= 0 &&
      ::syscall(SYS_write, plan->cgroup_procs_fd, "0", 1) != 1) {
    child_fail(plan, step::cgroup);
  }
  if (plan->death_signal != 0) {
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, plan->death_signal, 0, 0, 0)) {
      child_fail(plan, step::pdeathsig);
    }
    // The parent died before prctl: nobody would send the signal.
    if (::syscall(SYS_getppid) != plan->parent_pid) {
      ::syscall(SYS_exit_group, 127);
    }
  }
  if (plan->set_umask) ::syscall(SYS_umask, plan->umask_value);
  for (std::size_t i = 0; i < plan->n_limits; ++i) {
    if (::syscall(SYS_prlimit64, 0, plan->limit_resources[i], &plan->limits[i],
                  nullptr)) {
      child_fail(plan, step::setrlimit);
    }
  }
  if (plan->cwd != nullptr && ::syscall(SYS_chdir, plan->cwd) != 0) {
    child_fail(plan, step::chdir);
  }
  // Move every source above every target, then put them in place: this
  // works whatever numbers the sources happen to have.
  int moved[n_slots] = {-1, -1, -1, -1};
  for (int i = 0; i < n_slots; ++i) {
    if (plan->src[i] < 0) continue;
    moved[i] = static_cast<int>(
        ::syscall(SYS_fcntl, plan->src[i], F_DUPFD_CLOEXEC, plan->high_fd));
    if (moved[i] < 0) child_fail(plan, step::fds);
  }
  for (int i = 0; i < n_slots; ++i) {
    if (moved[i] < 0) continue;
    if (::syscall(SYS_dup3, moved[i], plan->dst[i], 0) < 0) {
      child_fail(plan, step::fds);
    }
  }
  // Close everything else (the host's fds that lack O_CLOEXEC included).
  // ENOSYS on kernels < 5.9 is ignored: our own fds are all O_CLOEXEC.
  const int notify = plan->dst[3];
  if (notify > 3) ::syscall(SYS_close_range, 3u, notify - 1u, 0u);
  ::syscall(SYS_close_range, notify >= 3 ? notify + 1u : 3u, ~0u, 0u);

  std::uint64_t empty_mask = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr,
            kernel_sigset_size);
  ::syscall(SYS_execve, plan->path, plan->argv, plan->envp);
  child_fail(plan, step::exec);
}

constexpr std::size_t child_stack_size = 64 * 1024;

}  // namespace

pid_t start_child(child_plan& plan, int* pidfd, int* err) noexcept {
  void* stack = ::mmap(nullptr, child_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = errno;
    return -1;
  }
  pid_t pid = -1;
  {
    all_signals_blocked blocked;
    pid = VITRINE_RAW_CLONE(child_main,
                            static_cast<char*>(stack) + child_stack_size,
                            CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                            &plan, pidfd, nullptr, nullptr);
    *err = errno;
  }
  ::munmap(stack, child_stack_size);
  return pid;
}

}  // namespace vitrine::os::detail
