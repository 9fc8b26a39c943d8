// child_report: what a child (process or supervisor actor) tells its
// supervisor after it ended. Internal to the actors/ library.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace vitrine::detail {

struct child_report {
  bool restart_wanted = false;
  /// A process its policy would restart went `failed` instead (more quick
  /// failures than startretries, past its restart limit, or a spawn error
  /// no retry can fix): a one_for_all or rest_for_one supervisor cannot
  /// run its other children without it.
  bool gave_up = false;
  /// The child's state version when it reported: a report not newer than
  /// the version from before the supervisor's last start of it is stale.
  std::uint64_t version = 0;
  /// How it ended: "exit 1", "signal 9 (SIGKILL)", or a supervisor's
  /// failure.
  std::string exit;
  /// The backoff delay it waits before its restart, from when it reported.
  std::chrono::milliseconds delay{0};
};

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::detail::child_report)
