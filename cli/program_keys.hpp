// program_keys: the parts of a [[program]] table with their own structure
// (umask, environment, exit codes, backoff, stdout/stderr), and the map from
// the fields vitrine::validate() names back to config keys. Internal to
// config.cpp.
//
// Threads: pure functions; any thread. Cost: map lookups and small strings.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config.hpp"
#include "toml_reader.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::cli::detail {

/// Where each key of one program or group table is written ("backoff" and
/// "backoff.min_ms" both), for mapping validate() fields back to lines.
using key_locations = std::map<std::string, location, std::less<>>;

key_locations locate_keys(const toml::table& table);

/// validate()'s field (without the name prefix) -> our key, e.g.
/// "launch.argv[0]" -> "command", "backoff.min" -> "backoff.min_ms"; ""
/// for fields the config cannot set (they concern the table as a whole).
std::string key_of_field(std::string_view field, const key_locations& keys);

/// `path` against `base_dir` unless absolute (or base_dir is empty).
std::string resolve_path(const std::string& base_dir, const std::string& path);

/// execve(2) refuses (E2BIG) any one argument or environment string of
/// max_exec_string bytes or more, its NUL included: reports `what` (of
/// `size` bytes, without its NUL) under `key` when it is too long.
void check_exec_string(table_reader& r, std::string_view key,
                       const std::string& what, std::size_t size);
/// `stop_signal`; warns of one whose default action does not end a program
/// (it is ignored, or stops it): unless the program handles it, every stop
/// waits stop_timeout and ends in SIGKILL. (SIGSTOP, which no program can
/// handle, is a problem validate() reports.)
void read_stop_signal(table_reader& r, process_spec& spec);
/// `umask`: a string of octal digits ("022") or an integer (0o022).
void read_umask(table_reader& r, os::launch_options& launch);
/// `inherit_env` and the `env` table.
void read_environment(table_reader& r, os::launch_options& launch);
void read_exit_codes(table_reader& r, process_spec& spec);
void read_backoff(table_reader& r, core::backoff_policy& policy);
/// `restart_limit = { burst = N, interval_ms = T }` (interval 0: no limit).
void read_restart_limit(table_reader& r, restart_limit_policy& limit);

/// The top supervisor's intensity and period when [supervisor] does not set
/// them: no single program can trip it, so one crash-looping program fails
/// alone (its own restart limit) instead of taking its siblings down. Each
/// direct child asks for at most its burst of restarts per its interval
/// (a group, or a program without a limit, is counted at the default
/// burst); the default allows their sum plus the largest burst (slack for
/// delivery delays) within the shortest interval.
struct fleet_intensity {
  unsigned intensity;
  std::chrono::milliseconds period;
};
fleet_intensity default_top_intensity(const supervisor_spec& top);
/// `stdout` / `stderr`: "inherit", "null", { file }, { capture, ... }.
/// With options.semantic_checks, a capture PATH that exists must be a
/// regular file (the sink appends to it and renames it to rotate).
void read_stdio(table_reader& r, std::string_view key, os::stdio_target& target,
                log_rotation& logs, const parse_options& options);

/// The rotation settings are one per program: refuses a `max_bytes` or
/// `backups` that stdout and stderr both set, to different values.
void check_shared_rotation(table_reader& r);

}  // namespace vitrine::cli::detail
