// watch_view: what `vitrine watch` prints for one refresh of several nodes
// (watch_command.hpp gathers it): a text block (the nodes, then every
// process of every node) or one line of JSON.
//
// Threads: values and pure functions; any thread. Cost: string formatting
// only (a few allocations per row).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "status.hpp"

namespace vitrine::cli {

/// One node as its mirror saw it at one instant.
struct watched_node {
  std::string endpoint;  ///< HOST:PORT as given on the command line
  std::string state;     ///< to_string(node_status): connecting, connected...
  /// Unix time of the last message from the node; nullopt: never heard.
  std::optional<std::int64_t> last_contact_ms;
  std::uint64_t synchronisations = 0;
  std::uint64_t missed_transitions = 0;
  std::vector<status_row> processes;  ///< in the order the node reported them
  /// Why the last connection attempt failed, while not connected ("": none
  /// failed, or connected now).
  std::string last_error{};
};

/// The text of one refresh, every line ending in '\n' and cut to `width`
/// columns (0 = no limit):
///   NODE            STATE      PROCESSES  LAST CONTACT
///   127.0.0.1:4100  connected  2          0s ago
///   NODE            NAME  STATUS   PID  UPTIME  RESTARTS  LAST EXIT
///   127.0.0.1:4100  web   running  42   3m07s   0         -
/// A node not connected shows its state and how long ago it was last heard
/// ("never" before the first contact), and, below the nodes, why its last
/// attempt failed ("127.0.0.1:4100: cannot connect (...)"); its processes
/// keep their last known fields with status `unknown` (no uptime: nothing
/// says they still run).
std::string render_watch(const std::vector<watched_node>& nodes,
                         std::int64_t now_unix_ms, std::size_t width = 0);

/// `text` (lines ending in '\n') cut to `lines` lines (0 = no limit): the
/// first lines - 1, then "... N more lines".
std::string fit_height(std::string text, std::size_t lines);

/// One refresh as one line of JSON (with its '\n'):
/// {"at_unix_ms": T, "nodes": [{"node", "state", "last_contact_unix_ms"
/// (null: never), "synchronisations", "missed_transitions", "last_error"
/// (null when connected or when no attempt failed), "processes":
/// [the objects of the status file, docs/cli.md]}]}.
std::string watch_json_line(const std::vector<watched_node>& nodes,
                            std::int64_t now_unix_ms);

}  // namespace vitrine::cli
