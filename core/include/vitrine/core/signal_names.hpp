// signal_names: vitrine's one table of signal names ("SIGTERM" for 15,
// "SIGRTMIN+n" for real-time signals). core::describe(termination),
// os::describe(exit_status), os::signal_name() and os::signal_from_name()
// all read it, so every message names a signal the same way.
//
// Threads: any; the table is immutable (the real-time names are built once,
// on first use, thread-safely). Cost: a look-up in a 31-entry table; no
// allocation, no system call.
#pragma once

#include <array>
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

}  // namespace vitrine::core
