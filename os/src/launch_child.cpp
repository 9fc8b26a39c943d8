#include "launch_child.hpp"

#include "guardian_wire.hpp"
#include "raw_signals.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_UNPOISON_MEMORY_REGION
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

#include <algorithm>
#include <cerrno>
#include <cstdint>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#if defined(__x86_64__)
namespace {
/// The kernel's struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2).
struct clone_args_v2 {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
      stack_size, tls, set_tid, set_tid_size, cgroup;
};
}  // namespace

// clone3(args, size); the child (on args->stack) calls fn(arg) and exits
// with its result. Returns the child's pid, or -errno. glibc has no clone3
// wrapper, and a C function cannot survive the stack switch: the child
// returns from the syscall on its new stack, so it must start in code
// that uses no frame of the caller.
extern "C" long vitrine_clone3(clone_args_v2* args, std::size_t size,
                               int (*fn)(void*), void* arg) noexcept;
asm(R"(
  .pushsection .text
  .globl vitrine_clone3
  .type vitrine_clone3, @function
vitrine_clone3:
  .cfi_startproc
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  .cfi_undefined %rip
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
  .cfi_endproc
  .size vitrine_clone3, .-vitrine_clone3
  .popsection
)");
#endif

namespace vitrine::os::detail {

namespace {

[[noreturn]] VITRINE_CHILD_CODE void child_fail(child_plan* plan, step s) {
  plan->err = errno;
  plan->failed = static_cast<int>(s);
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

VITRINE_CHILD_CODE void close_on_exec(unsigned first, unsigned last) {
  if (::syscall(SYS_close_range, first, last, CLOSE_RANGE_CLOEXEC) != 0)
    ::syscall(SYS_close_range, first, last, 0u);
}

// Runs in the child between clone() and execve(): the parent's memory is
// shared and the parent thread is suspended, so only raw syscalls here.
VITRINE_CHILD_CODE int child_main(void* arg) {
  auto* plan = static_cast<child_plan*>(arg);

  // Our fd table is the parent's (CLONE_FILES): make it a private copy of
  // the descriptors below keep_below only, before anything touches an fd.
  // Without CLONE_FILES the kernel would copy every descriptor of the host
  // (2 per supervised program) and the exec close them all again. Kernels
  // < 5.9 lack close_range: copy the whole table.
  if (::syscall(SYS_close_range, plan->keep_below, ~0u, CLOSE_RANGE_UNSHARE) !=
          0 &&
      ::syscall(SYS_unshare, CLONE_FILES) != 0) {
    child_fail(plan, step::fds);
  }

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
  // Its own session, as services run under systemd, s6 or runit: its own
  // process group, no controlling terminal (a read of the host's terminal
  // fails instead of stopping it with SIGTTIN), and where the kernel
  // groups scheduling by session (autogroup), its own CPU share instead of
  // one shared with us (measured: a start's propagation to a controller,
  // p50 0.89-0.98 -> 0.41-0.48 ms on the 2-vCPU VM; docs/design.md,
  // section 7).
  if (::syscall(SYS_setsid) < 0) child_fail(plan, step::setsid);
  // Our group is guarded from now on, even if the host dies before it
  // tells the guardian itself: one store into the table the guardian reads
  // when the host dies (no message, no wake-up).
  if (plan->guarded_groups != nullptr)
    guardian_table::mark(plan->guarded_groups,
                         static_cast<pid_t>(::syscall(SYS_getpid)));
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
  // Every other fd left below keep_below (the host's that lack O_CLOEXEC
  // included) is closed by the exec. Marking them close-on-exec costs a
  // bitmap update; closing them here would keep the parent thread waiting,
  // whereas exec closes them after it has let the parent go. Kernels
  // < 5.11 lack the flag (EINVAL): close them here; ENOSYS (< 5.9) is
  // ignored, as our own fds are all O_CLOEXEC.
  const int notify = plan->dst[3];
  if (notify > 3) close_on_exec(3u, notify - 1u);
  close_on_exec(notify >= 3 ? notify + 1u : 3u, ~0u);

  std::uint64_t empty_mask = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr,
            kernel_sigset_size);
  ::syscall(SYS_execve, plan->path, plan->argv, plan->envp);
  child_fail(plan, step::exec);
}

constexpr std::size_t child_stack_size = 64 * 1024;

/// Unmaps the stack a CLONE_VM child ran on (it has exec'd or exited).
/// Under AddressSanitizer the child shared our shadow memory: the scopes it
/// left open on that stack stay poisoned there, and a later mapping at the
/// same address (a status table, say) would be reported as a
/// stack-use-after-scope. Its shadow is cleared first (a no-op otherwise).
void release_child_stack(void* stack) noexcept {
  ASAN_UNPOISON_MEMORY_REGION(stack, child_stack_size);
  ::munmap(stack, child_stack_size);
}

/// clone3 into the plan's cgroup, the child running child_main on `stack`;
/// -1 with *err (ENOSYS where the kernel or this architecture lacks it).
pid_t clone_into_cgroup(child_plan& plan, char* stack, int* pidfd,
                        int* err) noexcept {
#if defined(__x86_64__)
  clone_args_v2 args{};
  args.flags =
      CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | CLONE_INTO_CGROUP;
  args.pidfd = reinterpret_cast<std::uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<std::uint64_t>(stack);
  args.stack_size = child_stack_size;
  args.cgroup = static_cast<std::uint64_t>(plan.cgroup_dir_fd);
  const long pid = vitrine_clone3(&args, sizeof args, child_main, &plan);
  if (pid >= 0) return static_cast<pid_t>(pid);
  *err = static_cast<int>(-pid);
  return -1;
#else
  (void)plan, (void)stack, (void)pidfd;
  *err = ENOSYS;
  return -1;
#endif
}

}  // namespace

pid_t start_child(child_plan& plan, int* pidfd, int* err) noexcept {
  void* stack = ::mmap(nullptr, child_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = errno;
    return -1;
  }
  pid_t pid = -1;
  int opened_procs = -1;  // the fallback's, closed here
  if (plan.cgroup_dir_fd >= 0) {
    {
      all_signals_blocked blocked;
      pid = clone_into_cgroup(plan, static_cast<char*>(stack), pidfd, err);
    }
    if (pid >= 0 || (*err != ENOSYS && *err != E2BIG && *err != EINVAL)) {
      release_child_stack(stack);
      return pid;
    }
    // An older kernel: the child joins by writing to cgroup.procs.
    opened_procs =
        ::openat(plan.cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (opened_procs < 0) {
      *err = errno;
      release_child_stack(stack);
      return -1;
    }
    plan.cgroup_procs_fd = opened_procs;
    plan.keep_below = std::max(plan.keep_below, opened_procs + 1);
  }
  {
    all_signals_blocked blocked;
    pid = VITRINE_RAW_CLONE(
        child_main, static_cast<char*>(stack) + child_stack_size,
        CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | SIGCHLD, &plan,
        pidfd, nullptr, nullptr);
    *err = errno;
  }
  release_child_stack(stack);
  if (opened_procs >= 0) {
    ::close(opened_procs);
    plan.cgroup_procs_fd = -1;
  }
  return pid;
}

}  // namespace vitrine::os::detail
