// signal_names: vitrine's one table of signal names ("SIGTERM" for 15,
// "SIGRTMIN+n" for real-time signals), and the parser of the names users
// type. describe(termination), the CLI's messages and its config parser all
// use it, so every message names a signal the same way.
//
// Threads: any; the table is immutable (the real-time names are built once,
// on first use, thread-safely). Cost: a look-up in a 31-entry table; no
// allocation, no system call.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace vitrine::core {

struct named_signal {
  int number;
  std::string_view name;  ///< with the "SIG" prefix: "SIGTERM"
};

/// The 31 standard Linux signals (1..31), by number.
extern const std::array<named_signal, 31> standard_signals;

/// "SIGTERM" for 15; "SIGRTMIN+n" for real-time signals; "" when unknown.
std::string_view signal_name(int sig) noexcept;

/// "TERM", "SIGTERM", "sigterm" and "15" give 15; also "RTMIN+n" and
/// "RTMAX-n" forms.
/// Returns nullopt for anything that is not a valid signal (1..SIGRTMAX).
std::optional<int> signal_from_name(std::string_view name) noexcept;

}  // namespace vitrine::core
