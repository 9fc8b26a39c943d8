// status: one display row per supervised process and per supervisor, their
// JSON form, and the status file `vitrine run --json-status` keeps up to
// date.
//
// Threads: pure functions and values, except write_file_atomic(), which
// does I/O; call any of them from any thread. Costs: make_row() copies a
// few strings; write_file_atomic() is open + write + rename (no fsync):
// readers see the old file or the new one, never a torn one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::cli {

struct status_row {
  std::string name;
  std::string status;  ///< to_string(process_status)
  pid_t pid = 0;
  std::uint64_t version = 0;
  std::uint32_t restarts = 0;
  std::string exit_kind = "none";  ///< none | exited | signaled
  int exit_value = 0;
  std::string last_exit = "-";     ///< core::describe(last_exit)
  std::int64_t started_at_ms = 0;  ///< Unix time of the last spawn; 0: never
  std::string spawn_error;
};

struct supervisor_row {
  std::string name;
  std::string status;  ///< to_string(supervisor_status)
  std::uint64_t version = 0;
  std::uint32_t restarts = 0;
  std::uint32_t children = 0;
  /// The last failure (empty child: it never failed).
  std::string failed_child;
  std::string failed_exit;
  std::uint32_t failed_restarts = 0;  ///< restarts counted in the window
  std::uint32_t failed_intensity = 0;
  std::int64_t failed_period_ms = 0;
  std::string failure;  ///< supervisor_failure::describe(), or ""
};

supervisor_row make_supervisor_row(const core::supervisor_state& state);

/// "supervisor main: failed, restarts 3, 2 children; child 'web' (exit
/// 1): restarting it would make 4 restarts within 5000 ms, above intensity
/// 3".
std::string render_supervisor(const supervisor_row& row);

/// Converts steady_clock time points of process states to Unix time, from
/// one pair of clock readings taken together.
struct clock_pair {
  std::chrono::steady_clock::time_point steady;
  std::chrono::system_clock::time_point wall;

  static clock_pair now() noexcept {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
  std::int64_t unix_ms(std::chrono::steady_clock::time_point t) const noexcept;
  std::int64_t unix_ms() const noexcept;
};

status_row make_row(const core::process_state& state, const clock_pair& now);

/// How long a row's child has been up at `now_unix_ms`; nullopt when it has
/// no child.
std::optional<std::chrono::milliseconds> uptime(const status_row& row,
                                                std::int64_t now_unix_ms);

/// A JSON object {"supervisors": [...], "processes": [...]}, one object per
/// row (see docs/cli.md), pretty-printed with a final newline.
std::string to_json(const std::vector<status_row>& rows,
                    std::int64_t now_unix_ms,
                    const std::vector<supervisor_row>& supervisors = {});

/// The processes of what to_json() wrote (or of the older bare array);
/// nullopt with `error` set on bad input.
std::optional<std::vector<status_row>> rows_from_json(std::string_view text,
                                                      std::string& error);
/// The supervisors of what to_json() wrote (none in the older bare array).
std::optional<std::vector<supervisor_row>> supervisors_from_json(
    std::string_view text, std::string& error);

/// Removes what write_file_atomic() (`path.tmp.PID.N`) and a probe of
/// `path` (`path.probe.PID`) left beside `path` in a process that died
/// before it could (a SIGKILL): only regular files of this user whose PID
/// no process has.
void remove_stale_temporaries(const std::string& path);

/// Writes `content` to `path` through a temporary file of a fresh name
/// beside it (`path.tmp.PID.N`, O_EXCL: never an existing file, FIFO or
/// link, so it never blocks) + rename(2), created with `mode` (less the
/// umask). Returns "" or the error (the temporary file is removed then).
std::string write_file_atomic(const std::string& path, std::string_view content,
                              mode_t mode = 0644);

}  // namespace vitrine::cli
