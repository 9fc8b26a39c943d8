// standard_fds: fds 0, 1 and 2 held open before a command opens anything.
// A command started with one of them closed (`<&- >&-`, as daemonizers and
// init scripts do) would otherwise hand that number to the next file it
// opens, and its own output would go there: `vitrine run` wrote its lines
// into its state directory's lock file. Call first thing in main(); main
// thread only; cost: three fcntl(2) calls, an open(2) for each closed fd.
#pragma once

namespace vitrine::cli {

/// Opens /dev/null on each of fds 0, 1 and 2 that is closed (read-only for
/// stdin, write-only for the others). False if one stays closed (no
/// /dev/null), said on stderr: the caller should exit (1) before opening
/// anything.
bool hold_standard_fds() noexcept;

}  // namespace vitrine::cli
