// bare_sleep: sleeps 5 ms and exits 0, with no dynamic loader and no libc
// (x86-64 Linux system calls only). remote_bench.cpp restarts it in a loop
// beside `sleep 0.005` to measure what a new child's own start-up (ld.so
// mapping libc, relocations, page faults) takes from the two cores the
// propagation path runs on: this one executes a few instructions between
// exec and its sleep. Benchmark support only: built for x86-64 without
// sanitizers (bench/CMakeLists.txt).
#include <sys/syscall.h>

#include <ctime>

namespace {

long raw_syscall(long number, long first, long second) {
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(first), "S"(second)
               : "rcx", "r11", "memory");
  return result;
}

}  // namespace

// The kernel enters here with the stack 16-byte aligned, not as after a
// call: realign it for the compiler's frame.
extern "C" [[noreturn, gnu::force_align_arg_pointer]] void _start() {
  timespec five_ms{0, 5'000'000};
  raw_syscall(SYS_nanosleep, reinterpret_cast<long>(&five_ms), 0);
  for (;;) raw_syscall(SYS_exit_group, 0, 0);
}
