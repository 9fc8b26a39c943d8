// Internal to vitrine_os: signal plumbing for code that runs between
// clone() and exec (or in the guardian), where only raw system calls are
// allowed: glibc's sigaction() and sigprocmask() are intercepted by the
// sanitizers and may touch libc state.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace vitrine::os::detail {

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "kernel_sigaction below is only checked for x86_64 and aarch64"
#endif

// The kernel's struct sigaction for rt_sigaction (x86_64 and aarch64 both
// have sa_restorer).
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  std::uint64_t mask;
};
constexpr unsigned long kernel_sigset_size = sizeof(std::uint64_t);
constexpr int kernel_nsig = 64;

// Code that runs in a child sharing (or copying) the parent's memory: no
// sanitizer instrumentation. GCC and clang both accept this spelling.
#define VITRINE_CHILD_CODE \
  __attribute__((no_sanitize("address", "thread", "undefined")))

// Blocks every signal (glibc-internal ones too) in this thread for its life.
class all_signals_blocked {
 public:
  all_signals_blocked() {
    std::uint64_t all = ~std::uint64_t{0};
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old_, kernel_sigset_size);
  }
  ~all_signals_blocked() {
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_, nullptr,
              kernel_sigset_size);
  }
  all_signals_blocked(const all_signals_blocked&) = delete;
  all_signals_blocked& operator=(const all_signals_blocked&) = delete;

 private:
  std::uint64_t old_ = 0;
};

}  // namespace vitrine::os::detail

#if defined(__GLIBC__)
// glibc exports clone() also as __clone(). We call the latter because
// ThreadSanitizer intercepts clone() and treats it as fork(): it runs its
// post-fork child hook inside our child, i.e. (with CLONE_VM) on the
// parent's own sanitizer state, which breaks every later report.
extern "C" int __clone(int (*fn)(void*), void* stack, int flags, void* arg,
                       ...);
#define VITRINE_RAW_CLONE __clone
#else
#define VITRINE_RAW_CLONE ::clone
#endif
