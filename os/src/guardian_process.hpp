// guardian_process: the guardian's own code (os::guardian forks it), and
// the plan the host hands it. Internal to vitrine_os: guardian.cpp clones
// guardian_main; nothing else calls it.
//
// Threads: guardian_main runs in a fork of the host (clone without
// CLONE_VM) and uses raw system calls only: no malloc, no locks, no libc
// state (the host may be multi-threaded).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "raw_signals.hpp"

namespace vitrine::os::detail {

// Everything the guardian needs, in host memory that the fork copies.
struct guardian_plan {
  int socket_fd = -1;
  int devnull_fd = -1;
  int cgroup_dir_fd = -1;  // the runtime's cgroup directory, or -1
  const char* cgroup_root = nullptr;
  pid_t host = 0;
  /// The shared table of guarded groups (guardian_wire.hpp): the guardian
  /// inherits the mapping and reads it once the host is gone.
  const std::uint64_t* groups = nullptr;
  /// Nanoseconds per clock tick (/proc/<pid>/stat's unit for start times).
  std::uint64_t ns_per_clock_tick = 10000000;
  const char* stack_low = nullptr;  // the guardian's own stack
  const char* stack_high = nullptr;
  char* args_low = nullptr;  // the host's argument strings (ps -o args)
  char* args_high = nullptr;
};

constexpr std::size_t guardian_stack_size = 128 * 1024;

/// A system call through syscall(), which touches no globals but errno.
VITRINE_CHILD_CODE inline long raw(long n, long a = 0, long b = 0, long c = 0,
                                   long d = 0, long e = 0, long f = 0) {
  return ::syscall(n, a, b, c, d, e, f);
}

/// Address ranges the guardian keeps when it gives back the host's memory:
/// its own stack, the shared table, its thread's errno and control block.
struct keep_ranges {
  std::uintptr_t low[3];
  std::uintptr_t high[3];
};

/// Gives back the host's memory (guardian_memory.cpp). The fork shares
/// every page of the host copy-on-write; each page the host writes
/// afterwards would stay with the guardian alone, so the guardian would
/// keep the host's whole memory at fork time for its life. This drops
/// (MADV_DONTNEED) the heap and every large private anonymous mapping
/// except the pages of `keep`; the rest of a mapping holding them goes
/// too. File-backed mappings (code, GOT, .data) and shared ones (the table
/// of groups) are kept: dropping a written private file page would bring
/// back the file's content. Everything the guardian needs afterwards is on
/// its own stack or in the shared table.
VITRINE_CHILD_CODE void release_host_memory(const keep_ranges& keep);

/// The guardian: leaves the host's session, tells the host (guardian_ready),
/// gives back the host's memory, then sleeps until the host dies (and kills
/// every group marked in the plan's table then) or says quit
/// (guardian_wire.hpp). Never returns.
VITRINE_CHILD_CODE int guardian_main(void* plan);

}  // namespace vitrine::os::detail
