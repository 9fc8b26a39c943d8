// signal_channel: what `vitrine run` does with each signal a user may send,
// and the signalfd through which it receives them (docs/cli.md, "Signals").
//
// Every asynchronous signal whose default action would end or suspend the
// process is blocked and read from a signalfd, so none can kill vitrine
// while its children run unsupervised. SIGPIPE alone is ignored (SIG_IGN),
// so a write to a closed pipe fails with EPIPE instead. Blocking (rather
// than SIG_IGN) leaves the dispositions at their defaults, and os::launch
// resets the mask of every child to empty, so programs start with default
// dispositions and no blocked signal. Fault signals (SEGV, BUS, FPE, ILL,
// TRAP, SYS, ABRT) keep their default action: the kernel would unblock them
// on a real fault anyway.
//
// Threads: construct on the main thread before any other thread starts (the
// mask is inherited by threads created afterwards: CAF's workers and the
// I/O thread then never take one of these signals); wait() from that
// thread only. The mask and SIGPIPE's disposition stay in place after the
// channel is destroyed: unblocking would deliver what is still pending (a
// SIGUSR1 sent during the stop would kill vitrine as it exits). Cost:
// wait() is one poll(2) and at most one read(2).
#pragma once

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string_view>

namespace vitrine::cli {

/// What `vitrine run` does when it receives a signal.
enum class signal_action {
  stop,      ///< stop every program gracefully (again: SIGKILL them all)
  reload,    ///< re-read the config file and apply the difference (SIGHUP)
  ignore,    ///< nothing, not even a line (job control, SIGPIPE)
  log,       ///< print a line, nothing else
  redraw,    ///< redraw the live table at once (SIGWINCH)
  resumed,   ///< print that vitrine was stopped and resumed (SIGCONT)
  untouched  ///< left at the default disposition (faults, SIGCHLD, SIGURG)
};

/// The action for `sig` (1..SIGRTMAX).
signal_action action_for(int sig) noexcept;

/// "stop", "ignore", ... for messages and docs.
std::string_view to_string(signal_action action) noexcept;

class signal_channel {
 public:
  /// Blocks every signal whose action is not `untouched` (except SIGPIPE,
  /// set to SIG_IGN) in the calling thread and opens the signalfd.
  signal_channel();
  ~signal_channel();
  signal_channel(const signal_channel&) = delete;
  signal_channel& operator=(const signal_channel&) = delete;

  /// False when the signalfd could not be created.
  bool ok() const noexcept { return fd_ >= 0; }
  /// Readable when a signal is pending: for poll(2) with other fds.
  int fd() const noexcept { return fd_; }

  /// The next pending signal, waiting up to `timeout` (negative: no
  /// limit); 0 if none came (also when one of `also`, other fds, -1 for
  /// none, became readable first).
  int wait(std::chrono::milliseconds timeout,
           std::initializer_list<int> also = {});

  /// The shorter of two wait() timeouts (negative: no limit).
  static std::chrono::milliseconds sooner(std::chrono::milliseconds a,
                                          std::chrono::milliseconds b) {
    if (a.count() < 0) return b;
    return b.count() < 0 ? a : std::min(a, b);
  }

 private:
  sigset_t set_{};
  int fd_ = -1;
};

}  // namespace vitrine::cli
