// guardian_process: the guardian's own code (os::guardian forks it), and
// the plan the host hands it. Internal to vitrine_os: guardian.cpp clones
// guardian_main; nothing else calls it.
//
// Threads: guardian_main runs in a fork of the host (clone without
// CLONE_VM) and uses raw system calls only: no malloc, no locks, no libc
// state (the host may be multi-threaded).
#pragma once

#include <sys/types.h>

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
  const char* stack_low = nullptr;  // the guardian's own stack
  const char* stack_high = nullptr;
  char* args_low = nullptr;  // the host's argument strings (ps -o args)
  char* args_high = nullptr;
};

constexpr std::size_t guardian_stack_size = 128 * 1024;

/// The guardian: leaves the host's session, tells the host (guardian_ready),
/// gives back the host's memory, then sleeps until the host dies (and kills
/// every group marked in the plan's table then) or says quit
/// (guardian_wire.hpp). Never returns.
VITRINE_CHILD_CODE int guardian_main(void* plan);

}  // namespace vitrine::os::detail
