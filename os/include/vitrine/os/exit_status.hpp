// exit_status: how a reaped child ended (exit code or signal), as a value.
//
// Thread contract: plain value type; describe() is reentrant.
// Cost: describe() allocates one short string; nothing else allocates.
#pragma once

#include <cstdint>
#include <string>

namespace vitrine::os {

/// The outcome of one child process, produced once when it is reaped.
struct exit_status {
  enum class kind : std::uint8_t { exited, signaled };
  kind how = kind::exited;
  /// Exit code (0..255) for `exited`, signal number for `signaled`.
  /// -1 together with `unknown == true` when the status was lost.
  int code = 0;
  bool core_dumped = false;
  /// True when the kernel no longer had the status to give (waitid failed
  /// with ECHILD: the host application set SIGCHLD to SIG_IGN, or some other
  /// code reaped the child first, e.g. with waitpid(-1, ...)). The process is
  /// gone, but how it ended is not known.
  bool unknown = false;

  [[nodiscard]] bool success() const noexcept {
    return !unknown && how == kind::exited && code == 0;
  }
  friend bool operator==(const exit_status&, const exit_status&) = default;
};

/// "exit 3", "killed by SIGKILL", "killed by SIGSEGV (core dumped)" or
/// "unknown (exit status lost: child reaped elsewhere)".
std::string describe(const exit_status& status);

}  // namespace vitrine::os
