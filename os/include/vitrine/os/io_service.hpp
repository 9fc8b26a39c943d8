// io_service: one background thread that reports children's exits through
// their pidfds, pumps captured output into log sinks, and watches readiness
// fds and cgroups that are being emptied.
//
// One epoll instance plus an eventfd (to wake and stop the thread).
// Registrations go through a mutex-protected queue and an eventfd write; the
// thread owns every registered fd and closes it when the watch ends.
//
// Thread contract:
// - watch_exit / capture / watch_ready / watch_cgroup_empty / stop may be
//   called from any thread, concurrently. After stop() they return false
//   and drop the registration (the fd is closed, the callback is never
//   called).
// - Callbacks run on the io thread, one at a time, with no lock held. They
//   must be cheap (send a message), must not throw, must not block, and may
//   register new watches. They must NOT call stop() or destroy the service
//   (stop() from the io thread only requests the stop; it cannot join).
// - stop() (and the destructor) is idempotent: it wakes the thread, joins
//   it and closes every fd still held (pidfds, pipes, epoll, eventfd).
//   Children still watched are neither killed nor reaped by stop(): the
//   owner must signal them and reap them (e.g. waitpid) or they stay zombies.
//
// Cost: registration = one allocation + mutex + one eventfd write. Per
// wakeup the thread reads at most 64 KiB per capture pipe (level-triggered,
// so a flooding child cannot starve the others) and one waitid() per exited
// child. Log writes happen on the io thread (regular files; no fsync).
//
// Exits, two ways:
// - notify_exit (owner-side reaping, what the process actors use): the io
//   thread only reports that the pidfd became readable; the owner then
//   kills the group, reaps with reap_child() and closes its pidfd. Until
//   the owner reaps, the pid (and the group id) cannot be reused, so every
//   signal the owner sends before that reaches the right processes.
// - watch_exit (simple users and tests): the io thread reaps with
//   reap_child() exactly once and hands over the core::termination.
// An exit that happens before the watch is still seen (the pidfd stays
// readable). If the status is gone (ECHILD: SIGCHLD set to SIG_IGN, or
// someone called waitpid(-1)), the status is a termination of kind
// unknown instead of hanging.
// A watch that epoll cannot take (ENOMEM, ENOSPC from max_user_watches) is
// never dropped silently: notify_exit's callback gets the errno; a
// watch_exit child is SIGKILLed and reaped and its on_exit still runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "vitrine/core/termination.hpp"
#include "vitrine/os/launch.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

/// Owns one epoll thread; see the file comment for the contract.
class io_service {
 public:
  /// Starts the thread (with every signal blocked in it).
  /// Throws std::system_error if epoll, eventfd or the thread fail.
  io_service();
  /// stop(). @warning must not run on the io thread (from a callback).
  ~io_service();
  io_service(const io_service&) = delete;
  io_service& operator=(const io_service&) = delete;
  io_service(io_service&&) = delete;
  io_service& operator=(io_service&&) = delete;

  /// Reaps `c` when it exits and calls on_exit(status) once on the io
  /// thread. Takes ownership of c.pidfd (left empty). Returns false if
  /// stopped or c.pidfd is empty (then nothing is called).
  /// With kill_group, the child's process group (pgid == its pid, as
  /// launch() makes it) gets SIGKILL once the child has exited and before it
  /// is reaped: while the zombie holds its pid the group id cannot have been
  /// reused, so the kill cannot hit an unrelated group.
  bool watch_exit(launched_child& c,
                  std::function<void(core::termination)> on_exit,
                  bool kill_group = false);
  /// Owner-side reaping: calls on_exited(0) once on the io thread when
  /// `pidfd` becomes readable (the child exited; it is NOT reaped), or
  /// on_exited(errno) if the watch could not be registered with epoll. The
  /// caller keeps `pidfd` (the service watches a duplicate). Returns false
  /// (nothing will be called) if stopped, or if the duplicate could not be
  /// made (errno set).
  bool notify_exit(const unique_fd& pidfd,
                   std::function<void(int error)> on_exited);

  /// Same, for a pidfd obtained elsewhere.
  bool watch_exit(pid_t pid, unique_fd pidfd,
                  std::function<void(core::termination)> on_exit,
                  bool kill_group = false);

  /// Calls fired(0) once on the io thread after `delay` (a timerfd; no
  /// thread sleeps), or fired(errno) if the timer could not be registered
  /// with epoll. Returns false (nothing will be called) if stopped or the
  /// timer could not be made (errno set).
  bool call_after(std::chrono::milliseconds delay,
                  std::function<void(int error)> fired);

  /// Copies everything readable from `pipe_read_end` (should be
  /// O_NONBLOCK) into `sink` until EOF or a read error, then closes it and
  /// calls on_closed() (if set) on the io thread. The sink is only written
  /// on the io thread; several pipes may share one sink. A null sink drains
  /// and discards the output (the child never blocks on a full pipe).
  bool capture(unique_fd pipe_read_end, std::shared_ptr<log_sink> sink,
               std::function<void()> on_closed = {});

  /// Calls on_ready() once when a newline arrives on `notify_read_end`
  /// (s6 readiness protocol), then closes it. EOF without a newline: the fd
  /// is closed and nothing is called.
  bool watch_ready(unique_fd notify_read_end, std::function<void()> on_ready);

  /// Calls on_empty() once on the io thread when the cgroup whose
  /// `cgroup.events` file `cgroup_events` is open on holds no live process
  /// ("populated 0"; at once if it holds none already), or can no longer
  /// be read (removed). Nothing polls: the kernel flags each change of the
  /// file. Returns false if stopped (then nothing is called).
  bool watch_cgroup_empty(unique_fd cgroup_events,
                          std::function<void()> on_empty);

  /// Stops and joins the thread; closes every fd it holds. Idempotent.
  void stop() noexcept;

  /// Watches registered and not yet finished (pending ones included).
  [[nodiscard]] std::size_t active_watches() const noexcept;

  /// Registrations that could not be added to epoll (dropped, fd closed).
  [[nodiscard]] std::size_t failed_registrations() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitrine::os
