// leftovers: find the processes a test started by a unique word in their
// command line (e.g. `sleep 1000.<token>`), wherever they were re-parented,
// and wait for them to be gone. Test-only; any thread. Scans /proc:
// O(processes) per call.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace vitrine::test {

/// A word unlikely to appear in any other command line: digits only, so
/// that "1000.<token>" is a valid `sleep` argument.
std::string unique_token();

/// Live (non-zombie) processes with an argument that contains `token`.
std::vector<pid_t> processes_with(std::string_view token);

/// Waits until at least `n` processes_with(token) exist.
bool at_least(std::string_view token, std::size_t n,
              std::chrono::milliseconds limit);

/// Waits until none is left; returns how long that took, or -1 ms on
/// timeout.
std::chrono::milliseconds time_until_none(std::string_view token,
                                          std::chrono::milliseconds limit);

/// SIGKILLs whatever is left (cleanup after a failed test).
void kill_all_with(std::string_view token);

}  // namespace vitrine::test
