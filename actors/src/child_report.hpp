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
