// commands: the `vitrine` subcommands, called from main() after argument
// parsing. Each returns the process exit code. See docs/cli.md.
//
// Threads: call from the main thread only, before any other thread exists:
// run_command() blocks every signal a user may send (signal_channel.hpp)
// and leaves them blocked when it returns.
#pragma once

#include <string>

namespace vitrine::cli {

struct run_options {
  std::string file;
  bool plain = false;       ///< one line per change even on a terminal
  std::string json_status;  ///< "" = no status file
};

/// What `vitrine run` returns when its top supervisor failed (more restarts
/// than its intensity allows): every program was stopped, and stderr names
/// the child and the exit that exhausted the intensity.
inline constexpr int exit_top_supervisor_failed = 3;

/// Supervises the config's programs in the foreground until a stop signal
/// (SIGINT, SIGTERM, SIGQUIT, SIGXCPU, SIGPWR), then stops them all
/// and returns 0. 1 for an invalid config or an unusable status file;
/// exit_top_supervisor_failed (3) when the top supervisor failed. A stop
/// signal while the config loads ends the process with 128 + signal.
/// SIGHUP re-reads the file and applies the difference (reload.hpp).
int run_command(const run_options& options);

/// Prints every problem of the config (`file:line:col: key: message`) and
/// returns 1, or prints "ok: N programs" and returns 0.
int check_command(const std::string& file);

/// Prints the status file written by `run --json-status`: a table, or the
/// JSON itself with `raw`. 1 when it cannot be read or parsed.
int status_command(const std::string& file, bool raw);

}  // namespace vitrine::cli
