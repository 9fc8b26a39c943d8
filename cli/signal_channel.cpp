#include "signal_channel.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iterator>

namespace vitrine::cli {

signal_action action_for(int sig) noexcept {
  switch (sig) {
    // Re-read the file and apply the difference, as daemons do.
    case SIGHUP:
      return signal_action::reload;
    // Requests to end: the terminal (INT, QUIT), kill(1) and service
    // managers (TERM), the CPU-time soft limit (XCPU, SIGKILL follows at
    // the hard limit), power failure (PWR).
    case SIGINT:
    case SIGQUIT:
    case SIGTERM:
    case SIGXCPU:
    case SIGPWR:
      return signal_action::stop;
    // Would terminate by default but mean nothing to vitrine.
    case SIGUSR1:
    case SIGUSR2:
    case SIGALRM:
    case SIGVTALRM:
    case SIGPROF:
    case SIGSTKFLT:
    case SIGIO:
    case SIGXFSZ:
    // Ctrl-Z: a stopped vitrine would leave its programs unsupervised.
    case SIGTSTP:
      return signal_action::log;
    // Background terminal access: blocked, the write or read goes on.
    case SIGTTIN:
    case SIGTTOU:
    case SIGPIPE:
      return signal_action::ignore;
    case SIGWINCH:
      return signal_action::redraw;
    case SIGCONT:
      return signal_action::resumed;
    default:
      break;
  }
  // Real-time signals terminate by default; glibc keeps the two below
  // SIGRTMIN for itself.
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return signal_action::log;
  // KILL and STOP cannot be caught; SEGV, BUS, FPE, ILL, TRAP, SYS and ABRT
  // report a fault (or abort()); CHLD, URG are ignored by default.
  return signal_action::untouched;
}

std::string_view to_string(signal_action action) noexcept {
  switch (action) {
    case signal_action::stop:
      return "stop";
    case signal_action::ignore:
      return "ignore";
    case signal_action::log:
      return "log";
    case signal_action::redraw:
      return "redraw";
    case signal_action::reload:
      return "reload";
    case signal_action::resumed:
      return "resumed";
    case signal_action::untouched:
      break;
  }
  return "untouched";
}

signal_channel::signal_channel() {
  sigemptyset(&set_);
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    const auto action = action_for(sig);
    if (action != signal_action::untouched && sig != SIGPIPE)
      sigaddset(&set_, sig);
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
  ::pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
}

signal_channel::~signal_channel() {
  if (fd_ >= 0) ::close(fd_);
}

int signal_channel::wait(std::chrono::milliseconds timeout,
                         std::initializer_list<int> also) {
  pollfd p[4] = {{fd_, POLLIN, 0}};
  nfds_t count = 1;
  for (const int fd : also)
    if (fd >= 0 && count < std::size(p)) p[count++] = {fd, POLLIN, 0};
  if (::poll(p, count, static_cast<int>(timeout.count())) <= 0 ||
      !(p[0].revents & POLLIN))
    return 0;
  signalfd_siginfo info{};
  if (::read(fd_, &info, sizeof info) != sizeof info) return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace vitrine::cli
