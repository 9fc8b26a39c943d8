// state_dir: the per-instance state directory of `vitrine run` (status
// table, control socket, lock, logs, config path). TEMPORARY STAND-IN for
// the lead's cli/state_dir.{hpp,cpp} (same interface); replaced on merge.
//
// Threads: any; a state_dir is used by one thread at a time. Cost: a few
// system calls (mkdir, lstat, open, flock).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

inline constexpr std::string_view status_table_leaf = "status";
inline constexpr std::string_view control_socket_leaf = "control";
inline constexpr std::string_view lock_leaf = "lock";
inline constexpr std::string_view logs_leaf = "logs";
inline constexpr std::string_view config_leaf = "config";

std::string default_state_dir(std::string_view instance);

class state_dir {
 public:
  static std::optional<state_dir> claim(const std::string& path,
                                        std::string& error);
  static std::optional<state_dir> open_existing(const std::string& option,
                                                std::string& error);
  const std::string& path() const noexcept { return path_; }
  std::string file(std::string_view leaf) const;
  bool owner_running() const;

 private:
  std::string path_;
  os::unique_fd lock_;
};

}  // namespace vitrine::cli
