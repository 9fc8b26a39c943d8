// capture_moves: where a program's output is captured, and noticing when
// an applied reload moved it, for `vitrine logs -f`.
//
// The run rewrites its order file (state_dir.hpp: a new file renamed over
// the old one) after each reload it applies. capture_moves compares that
// file's identity and time at each look; when it changed, it reads the
// run's configuration again and reports the program's capture files if
// they differ from those followed. A configuration written after the
// order file is an edit not applied yet: it is read after the next reload.
//
// Threads: one owner thread. Cost per look: two stat(2); after a reload,
// one parse of the configuration.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "state_dir.hpp"

namespace vitrine::cli {

/// The program named `name` anywhere in `tree`; nullptr if none.
const process_spec* find_program(const supervisor_spec& tree,
                                 std::string_view name);

/// The files a program's output is captured to.
struct capture_files {
  std::vector<std::string> paths;  ///< distinct, stdout's first
  unsigned backups = 0;            ///< rotated files kept
};

/// Where `program`'s stdout and stderr captures go (none if neither is
/// captured).
capture_files captures_of(const process_spec& program);

class capture_moves {
 public:
  /// Watches the run of `dir`, started with configuration `config`, for
  /// moves of program `name`'s captures away from `now`.
  capture_moves(const state_dir& dir, std::string config, std::string name,
                std::vector<std::string> now);

  /// The program's new capture files when an applied reload changed them
  /// since the last call; nothing otherwise (nor when the program is no
  /// longer configured: the run's status table tells that).
  std::optional<capture_files> look();

 private:
  /// Which file is at a path, and when it was last written.
  struct file_stamp {
    ino_t inode = 0;
    std::int64_t modified_ns = -1;  ///< -1: no such file
    bool operator==(const file_stamp&) const = default;
  };
  static file_stamp stamp_of(const std::string& path);

  std::string order_;
  std::string config_;
  std::string name_;
  std::vector<std::string> paths_;
  file_stamp seen_;
};

}  // namespace vitrine::cli
