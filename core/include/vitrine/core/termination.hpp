// termination: how one run of a process ended (exit code, signal, or lost),
// as a value. vitrine's only exit type: os/ reaps a child into one, the
// process actor publishes it as process_state::last_exit, and the status
// table, the CLI and the transition log render it with describe().
//
// Threads: a plain value type; read or copy it on any thread. describe() is
// reentrant. Cost: no allocation, except describe(), which builds one short
// string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vitrine::core {

/// The outcome of one run; `none` before the first run has ended.
struct termination {
  enum class kind : std::uint8_t {
    none,      ///< no run has ended yet
    exited,    ///< exit(value)
    signaled,  ///< killed by signal `value`
    /// The child is gone but its status was lost: waitid() failed with
    /// ECHILD because the host set SIGCHLD to SIG_IGN, or other code reaped
    /// it first (e.g. waitpid(-1, ...)). `value` is 0.
    unknown,
  };
  constexpr termination() noexcept = default;
  /// Not explicit: `{kind::exited, 3}` reads as it did when this was an
  /// aggregate with `how` first.
  constexpr termination(kind how_it_ended, int code_or_signal = 0,
                        bool core = false) noexcept
      : value(code_or_signal), how(how_it_ended), core_dumped(core) {}

  // The int first: 8 bytes, the last 2 of them padding that a
  // [[no_unique_address]] member lends to the next field (a history entry
  // keeps its status there).
  int value = 0;  ///< exit code (0..255) for exited, signal number for signaled
  kind how = kind::none;
  bool core_dumped = false;  ///< signaled only: the kernel wrote a core dump

  /// exit(0), and nothing else.
  [[nodiscard]] bool success() const noexcept {
    return how == kind::exited && value == 0;
  }
  friend bool operator==(const termination&, const termination&) = default;
};
static_assert(sizeof(termination) == 8, "a termination packs into 8 bytes");

/// "none", "exited", "signaled" or "unknown".
std::string_view to_string(termination::kind how) noexcept;

/// "-" (none), "exit 3", "signal 9 (SIGKILL)", "signal 11 (SIGSEGV), core
/// dumped" or "unknown (exit status lost)".
std::string describe(const termination& t);

}  // namespace vitrine::core
