// guardian: a small process that outlives the host just long enough to
// kill what the host supervised. Nothing survives the host, whatever kills
// it (SIGKILL included).
//
// What it is: a fork of the host (clone without CLONE_VM) that runs a loop
// of raw system calls only (no malloc, no locks, no libc state: the host may
// be multi-threaded). Its first act is a session of its own (setsid), and
// the constructor waits for it (at most 5 s), so a kill of the host's
// process group or terminal does not reach it, ignores the
// catchable termination signals (HUP, INT, QUIT, TERM, USR1, USR2, PIPE,
// ALRM, TSTP, TTIN, TTOU), names itself "vitrine-guard", keeps only its own
// fds (stdio on /dev/null) and learns from a SOCK_SEQPACKET socket which
// process groups to guard. When the host is gone (EOF on the socket, or the
// host's pidfd becomes readable) it first applies the messages still queued
// (a group announced just before the host died counts), then SIGKILLs every
// group it knows and, with a cgroup tree, writes cgroup.kill on the
// runtime's cgroup (which holds every descendant, setsid daemons and double
// forks included), waits until the cgroup is empty (at most 2 s), removes
// the program cgroups and the runtime's own, and exits.
//
// Announcing: launch(options, guardian) lets the child itself send its
// group to the guardian before it execs (a host killed between the clone
// and watch_group() would otherwise leave the program's descendants
// unguarded); watch_group(pid, child.announced_to) then records it for
// replacements without a second message to that guardian (a replacement
// started in between gets one; a duplicate would be ignored).
//
// Replacement: the guardian is our child; guardian::watch(io) asks the
// io_service to report its exit, and a dead guardian is reaped and replaced
// at once (the new one starts with the full table: it is forked with it).
// A normal shutdown (destructor) tells it to quit without killing anything.
//
// Not covered: a group whose leader was reaped between the host's reap and
// the remove message (the guardian could then SIGKILL a reused group id in
// that window only if the host dies inside it); a guardian and host killed
// in the same instant (e.g. SIGKILL to both, or an OOM kill of the guardian
// followed by the host's death before the replacement starts): with a
// cgroup tree, the next runtime started in the same cgroup kills what is
// left and removes the tree (cgroup_tree::detect), until then the programs
// run on; without a cgroup, descendants that left their process group
// (setsid) outlive a killed host.
//
// Thread contract: watch_group/forget_group may be called from any thread,
// concurrently; the constructor, watch() and the destructor by the owner.
// Cost: the fork copies the host's page tables once (at start and per
// replacement); the guardian then drops its copy of the host's heap and
// large anonymous mappings (MADV_DONTNEED), so it holds well under 1 MiB
// whatever the host's size. watch_group/forget_group are a mutex plus one
// send(); a guardian that cannot take a message for 1 s is SIGKILLed and
// replaced by a fresh fork holding the full table.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

class io_service;

class guardian {
 public:
  /// Starts the guardian process. `cgroup_root` is the runtime's cgroup
  /// directory (cgroup_tree::root()) or "". Throws std::system_error.
  explicit guardian(std::string cgroup_root = {});
  /// Tells the guardian to quit (killing nothing) and reaps it.
  ~guardian();
  guardian(const guardian&) = delete;
  guardian& operator=(const guardian&) = delete;

  /// Replace the guardian whenever it dies: `io` reports its exit. Call
  /// once; `io` must be stopped before this guardian is destroyed.
  void watch(io_service& io);

  /// Adds a process group to kill if the host dies (to the table a
  /// replacement guardian starts with, and to the running guardian).
  /// `announced`: a launched child's launched_child::announced_to; when it
  /// names the running guardian, which has the group from the child
  /// already, no second message is sent.
  void watch_group(pid_t pgid, std::uint64_t announced = 0);
  /// A duplicate (O_CLOEXEC) of the host's end of the running guardian's
  /// socket, empty when none runs. launch() hands it to the child, which
  /// announces its own process group on it before it execs: the group is
  /// guarded before the program runs, even if the host dies before
  /// watch_group(). The caller still calls watch_group() for the table.
  struct announcement {
    unique_fd socket;
    std::uint64_t guardian = 0;  ///< which one (1, 2, ... per replacement)
  };
  [[nodiscard]] announcement announce_socket() const;
  /// Removes it (its leader is about to be reaped).
  void forget_group(pid_t pgid);

  /// The current guardian process (changes on replacement).
  [[nodiscard]] pid_t pid() const noexcept;
  /// Guardians started after the first (deaths that were repaired).
  [[nodiscard]] std::size_t replacements() const noexcept;

 private:
  void start_locked();
  void send_locked(unsigned op, pid_t pgid) noexcept;
  void on_guardian_exit();

  struct group_table {
    pid_t* data = nullptr;  // mmap'd: the forked guardian inherits it as is
    std::size_t size = 0;
    std::size_t capacity = 0;
  };

  mutable std::mutex mutex_;  // guards everything below
  std::string cgroup_root_;
  group_table table_;
  unique_fd socket_;  // our end
  unique_fd pidfd_;
  std::atomic<pid_t> pid_{0};
  std::atomic<std::size_t> replacements_{0};
  std::uint64_t generation_ = 0;  // of the running guardian, from 1
  io_service* io_ = nullptr;
  bool stopping_ = false;
};

}  // namespace vitrine::os
