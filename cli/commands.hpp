// commands: the `vitrine` subcommands, called from main() after argument
// parsing. Each returns the process exit code. See docs/cli.md.
//
// Threads: call from the main thread only, before any other thread exists:
// run_command() blocks every signal a user may send (signal_channel.hpp)
// and leaves them blocked when it returns.
#pragma once

#include <string>
#include <vector>

namespace vitrine::cli {

struct run_options {
  std::string file;
  bool plain = false;       ///< one line per change even on a terminal
  std::string json_status;  ///< "" = no status file
  std::string state_dir;    ///< "" = default_state_dir(top supervisor's name)
};

/// What `vitrine run` returns when its top supervisor failed (more restarts
/// than its intensity allows): every program was stopped, and stderr names
/// the child and the exit that exhausted the intensity.
inline constexpr int exit_top_supervisor_failed = 3;

struct node_serving;  // node_serving.hpp

/// Supervises the config's programs in the foreground until a stop signal
/// (SIGINT, SIGTERM, SIGQUIT, SIGXCPU, SIGPWR), then stops them all
/// and returns 0. 1 for an invalid config or an unusable status file;
/// exit_top_supervisor_failed (3) when the top supervisor failed. A stop
/// signal while the config loads ends the process with 128 + signal.
/// SIGHUP re-reads the file and applies the difference (reload.hpp).
/// `vitrine node` passes `serving`: the tree is also served to remote
/// controllers (bound before any program starts: a refused address throws
/// std::runtime_error; "vitrine node: N programs, serving on HOST:PORT" is
/// printed once the tree is added).
int run_command(const run_options& options,
                const node_serving* serving = nullptr);

/// Prints every problem of the config (`file:line:col: key: message`) and
/// returns 1, or prints "ok: N programs" and returns 0.
int check_command(const std::string& file);

/// What `status`, `ctl` and `reload` return when no live run serves the
/// state directory: the run was killed (status still prints its last
/// published states) or stopped, or nothing listens on the control socket.
inline constexpr int exit_not_running = 4;
/// What `ctl` returns when a wait for an effect reached its timeout.
inline constexpr int exit_ctl_timeout = 5;

struct table_status_options {
  std::vector<std::string> names;  ///< empty: all
  std::string state_dir;           ///< "" = the only instance
  bool json = false;
};

/// `vitrine status [NAME...]`: the states in the run's shared-memory status
/// table (supervisors, then processes). 0; exit_not_running when the run is
/// gone or stopped; 1 for an unknown NAME or an unreadable table.
int table_status_command(const table_status_options& options);

struct ctl_options {
  std::string command;  ///< start | stop | restart | signal | reload
  std::string signal;   ///< `signal`: a name or number
  std::vector<std::string> names;
  std::string state_dir;
  bool no_wait = false;
  double timeout_s = 30;
};

/// `vitrine ctl ...` and `vitrine reload`: one request over the control
/// socket, one line per name. 0 when every name reached the effect;
/// 1 refused or failed; exit_not_running; exit_ctl_timeout.
int ctl_command(const ctl_options& options);

/// Prints the status file written by `run --json-status`: a table, or the
/// JSON itself with `raw`. 1 when it cannot be read or parsed.
int status_command(const std::string& file, bool raw);

}  // namespace vitrine::cli
