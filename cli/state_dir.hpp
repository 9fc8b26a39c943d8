// state_dir: the directory through which other processes find a running
// `vitrine run`: its shared-memory status table, its control socket, its
// captured logs and the path of its configuration (docs/cli.md, "State
// directory").
//
// One run owns a directory at a time: claim() takes an exclusive flock(2)
// on DIR/lock, held until the state_dir is destroyed (or the process dies:
// the kernel drops the lock, so a SIGKILLed run never leaves a stale one).
// Both sides refuse a directory another uid owns, one that is group- or
// world-writable, and one reached through a symbolic link.
//
// Threads: plain values; one thread at a time per instance. Cost: a few
// system calls per call (stat, open, flock); no allocation beyond paths.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

/// The leaves of a state directory.
inline constexpr std::string_view status_table_leaf = "status";
inline constexpr std::string_view control_socket_leaf = "control";
inline constexpr std::string_view lock_leaf = "lock";
inline constexpr std::string_view logs_leaf = "logs";
/// A text file holding the absolute path of the run's configuration.
inline constexpr std::string_view config_leaf = "config";
/// A text file of the run's supervisors and programs in running order, one
/// name a line (run_state.hpp writes it): `vitrine status` lists them in
/// that order (a reload's new children reuse the status table's freed
/// slots, out of order).
inline constexpr std::string_view order_leaf = "order";

/// Where instances live by default: $XDG_RUNTIME_DIR/vitrine when that
/// variable names an absolute path, else /tmp/vitrine-<uid>.
std::string default_state_base();

/// Whether `name` is "." or "..": characters a name may have, but no name
/// for an instance's directory (the configuration refuses it for the top
/// supervisor).
bool is_dot_name(std::string_view name) noexcept;

/// default_state_base() + "/" + instance (the top supervisor's name; a name
/// that is empty, "." or ".." becomes "vitrine").
std::string default_state_dir(std::string_view instance);

class state_dir {
 public:
  /// For `vitrine run`: creates `path` (and missing parents) with mode 0700,
  /// checks it, and takes the lock. nullopt with `error` set when the
  /// directory is unsafe, another run holds it, or its control socket's
  /// path would be too long for bind(2) (refused before creating anything).
  static std::optional<state_dir> claim(const std::string& path,
                                        std::string& error);

  /// For clients (status, ctl, logs, reload): `option` when not empty, else
  /// the only instance under default_state_base() (the only one with a live
  /// run when there are several). Never creates anything. nullopt with
  /// `error` set when there is no such directory or it is unsafe.
  static std::optional<state_dir> open_existing(const std::string& option,
                                                std::string& error);

  const std::string& path() const noexcept { return path_; }

  /// path() + "/" + leaf.
  std::string file(std::string_view leaf) const;

  /// Whether a run holds the lock now (a claim()ing state_dir: true).
  bool owner_running() const;

  /// The pid the run holding the lock wrote into it; 0 when no run holds
  /// the lock or the file names none (yet).
  pid_t owner_pid() const;

 private:
  explicit state_dir(std::string path) : path_(std::move(path)) {}

  std::string path_;
  os::unique_fd lock_;  ///< claim() only: the flock'ed DIR/lock
};

/// Whether `pid` exists and is stopped: state T or t in /proc/PID/stat
/// (SIGSTOP, SIGTSTP, or held by a tracer).
bool process_stopped(pid_t pid);

}  // namespace vitrine::cli
