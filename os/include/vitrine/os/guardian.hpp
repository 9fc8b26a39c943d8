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
// fds (stdio on /dev/null) and sleeps. The process groups to guard are bits
// in a table of shared memory (one per possible group id, 516 KiB of
// address space, pages allocated only where a bit was set) that the host
// writes and the guardian reads only once the host is gone (EOF on its
// socket, or the host's pidfd readable): guarding a group sends no message
// and wakes nobody. It then SIGKILLs every group marked and, with a cgroup
// tree, writes cgroup.kill on the runtime's cgroup (which holds every
// descendant, setsid daemons and double forks included), waits until the
// cgroup is empty (at most 2 s), removes the program cgroups and the
// runtime's own, and exits.
//
// Marking: launch(options, guardian) lets the child itself mark its group
// before it execs (a host killed between the clone and watch_group() would
// otherwise leave the program's descendants unguarded); watch_group() marks
// it again (idempotent), and forget_group() clears it before the leader is
// reaped, so a reused group id is never killed. Each mark also stamps the
// table with the time (CLOCK_BOOTTIME): a guardian that runs only after
// the host's death (it was stopped) may find a marked id taken over by a
// process that started after the latest stamp (the program died with the
// host, init reaped it); it spares that one.
//
// Replacement: the guardian is our child; guardian::watch(io) asks the
// io_service to report its exit, and a dead guardian is reaped and replaced
// at once (the new one is forked with the same shared table). Where the
// host cannot fork then (a pids limit, no memory), the replacement is
// tried again on the io thread's timer, 10 ms later and then backing off
// to once a second, for as long as the runtime lives: until it succeeds
// the programs are unguarded (pid() is 0).
// Stops: a guardian stopped (SIGSTOP by a process of the same user) kills
// nothing until it runs again, so watch() also looks every
// stopped_check_interval whether it is stopped (waitid WSTOPPED on its
// pidfd, not consuming the report) and continues it (SIGCONT): one
// timer wake-up of the io thread a second.
// A normal shutdown (destructor) tells it to quit without killing anything.
//
// Not covered: a host that dies while its guardian is stopped, before the
// next look continues it (the guardian acts once it is continued, by
// whomever); a guardian stopped by a ptrace stop (its tracer decides);
// such a take-over within the same clock tick (10 ms, the unit
// of /proc's start times) as the latest mark, or with a /proc of another
// pid namespace mounted: that group is killed. A guardian and host
// killed in the same instant (e.g.
// SIGKILL to both, or an OOM kill of the guardian followed by the host's
// death before the replacement starts): with a cgroup tree, the next
// runtime started in the same cgroup kills what is left and removes the
// tree (cgroup_tree::detect), until then the programs run on; without a
// cgroup, descendants that left their process group (setsid) outlive a
// killed host.
//
// Thread contract: watch_group/forget_group/guards may be called from any
// thread, concurrently (atomic bit operations); the constructor, watch()
// and the destructor by the owner.
// Cost: the fork copies the host's page tables once (at start and per
// replacement); the guardian then drops its copy of the host's heap and
// large anonymous mappings (MADV_DONTNEED), so it holds well under 1 MiB
// whatever the host's size. watch_group/forget_group are one atomic
// read-modify-write each, no system call.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
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
  /// Tells the guardian to quit (killing nothing) and reaps it; one that
  /// has not quit within quit_patience (stopped, say) is SIGKILLed first.
  ~guardian();
  static constexpr std::chrono::milliseconds quit_patience{1000};
  guardian(const guardian&) = delete;
  guardian& operator=(const guardian&) = delete;

  /// Replace the guardian whenever it dies (`io` reports its exit), and
  /// continue it when it is found stopped (a look every
  /// stopped_check_interval, on `io`'s timer). Call once; `io` must be
  /// stopped before this guardian is destroyed.
  void watch(io_service& io);
  static constexpr std::chrono::milliseconds stopped_check_interval{1000};

  /// Marks a process group to kill if the host dies (group ids 2 ..
  /// 2^22-1, every id Linux hands out). Idempotent.
  void watch_group(pid_t pgid) noexcept;
  /// Clears it: call before its leader is reaped (the id may be reused).
  void forget_group(pid_t pgid) noexcept;
  /// Whether the group is marked (a launched child marks its own).
  [[nodiscard]] bool guards(pid_t pgid) const noexcept;
  /// The shared table itself, for launch(): the child marks its group in
  /// it before it execs. Valid for this guardian's life.
  [[nodiscard]] std::uint64_t* group_table() const noexcept { return groups_; }

  /// The current guardian process (changes on replacement).
  [[nodiscard]] pid_t pid() const noexcept;
  /// Guardians started after the first (deaths that were repaired).
  [[nodiscard]] std::size_t replacements() const noexcept;
  /// Times a guardian was found stopped and continued.
  [[nodiscard]] std::size_t continuations() const noexcept;

 private:
  void start_locked();
  void send_quit_locked() noexcept;
  void on_guardian_exit();
  /// Starts a new guardian and watches it; on failure, arms a retry.
  void replace_locked();
  void retry_replacement();
  /// Arms the next look for a stopped guardian.
  void arm_stopped_check_locked();
  void continue_if_stopped();

  std::uint64_t* groups_ = nullptr;  // shared mapping, set once
  mutable std::mutex mutex_;         // guards everything below
  std::string cgroup_root_;
  unique_fd socket_;  // our end
  unique_fd pidfd_;
  std::atomic<pid_t> pid_{0};
  std::atomic<std::size_t> replacements_{0};
  std::atomic<std::size_t> continuations_{0};
  io_service* io_ = nullptr;
  std::chrono::milliseconds retry_delay_{
      0};  // of the next failed start's retry
  bool stopping_ = false;
};

}  // namespace vitrine::os
