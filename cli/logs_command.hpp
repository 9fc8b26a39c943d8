// logs_command: `vitrine logs NAME [-f] [-n N] [--state-dir DIR]`, a
// program's captured output (stdout/stderr `{ capture = PATH }`).
//
// The run's state directory (state_dir.hpp) names the configuration file
// the run was started with (its `config` leaf); the file is read again
// (load_config_file, without the file system checks) and NAME's capture
// paths taken from it. `-n N` prints the last N lines, reading back
// through the rotated files (PATH.1, PATH.2, ...) when PATH holds fewer;
// `-f` then follows PATH across rotation (log_follower.hpp: each rotated
// file is read to its end, then the next newer one, none skipped or
// repeated while they exist; a truncated one is read from its start)
// until SIGINT, SIGTERM, SIGHUP or SIGQUIT or until stdout's reader goes
// away, and returns 0. A reload that removes the program ends it; one that
// moves its captures is followed to the new files (capture_moves.hpp).
//
// Threads: the main thread, before any other exists (it blocks the stop
// signals, see signal_channel.hpp). Cost: reads only the tail it prints;
// following polls each file's size every 100 ms.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace vitrine::cli {

struct logs_options {
  std::string name;
  std::string state_dir;  ///< "" = the only instance in the default place
  std::size_t lines = 10;
  bool follow = false;
};

/// 0 on success (or a stop signal, or a closed stdout, while following); 1
/// when the instance, the program or its capture cannot be found (a capture
/// not created yet is awaited with `-f`), or a capture is not a regular
/// file, with the reason on stderr.
int logs_command(const logs_options& options);

}  // namespace vitrine::cli
