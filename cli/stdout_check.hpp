// stdout_check: whether what a command printed reached its stdout. A write
// to a full disk or /dev/full fails only when the stream is flushed, so
// every command's dispatch ends with finish_stdout(); `watch` checks after
// each refresh, `logs` reports its own write(2)s. Main thread only
// (stdout, errno); cost: one fflush. C stdio only: the `vitrine` front
// links no iostream (docs/cli.md, "Binaries"), and std::cout, synchronised
// with stdio, writes through stdout.
#pragma once

#include <string_view>

namespace vitrine::cli {

enum class stdout_state {
  fine,         ///< everything written so far reached stdout
  reader_gone,  ///< EPIPE: the reader went away (`| head`): not an error
  failed        ///< another failure, reported on stderr
};

/// A write to stdout failed with `error` (errno): reader_gone for EPIPE,
/// else failed, reported on stderr as "vitrine: COMMAND: stdout: REASON".
/// For commands that write(2) to stdout themselves (`logs`).
stdout_state report_stdout_error(std::string_view command, int error);

/// Flushes C's stdout (which std::cout writes through) and says
/// whether a write failed; a failure other than EPIPE is reported on stderr
/// as "vitrine: COMMAND: stdout: REASON".
stdout_state check_stdout(std::string_view command);

/// The exit code of a command that returned `code`: 1 in place of 0 when
/// check_stdout() says a write failed, else `code` (a failed command's own
/// code says more than a lost line).
int finish_stdout(std::string_view command, int code);

}  // namespace vitrine::cli
