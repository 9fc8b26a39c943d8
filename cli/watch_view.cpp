// The text and JSON of one `vitrine watch` refresh (watch_view.hpp).
#include "watch_view.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "packed_table.hpp"
#include "render.hpp"
#include "status_json.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {
namespace {

/// A lost node's process: its last known fields, but no uptime (nothing
/// says it still runs).
bool unknown(const status_row& row) {
  return row.status == core::to_string(core::process_status::unknown);
}

std::string contact_cell(const watched_node& node, std::int64_t now_unix_ms) {
  if (!node.last_contact_ms) return "never";
  const auto ago = std::chrono::milliseconds{
      std::max<std::int64_t>(0, now_unix_ms - *node.last_contact_ms)};
  return format_uptime(ago) + " ago";
}

}  // namespace

std::string render_watch(const std::vector<watched_node>& nodes,
                         std::int64_t now_unix_ms, std::size_t width) {
  packed_table node_table{{"NODE", "STATE", "PROCESSES", "LAST CONTACT"}};
  std::vector<std::string> titles = table_header();
  titles.insert(titles.begin(), "NODE");
  packed_table process_table{titles};
  for (const auto& node : nodes) {
    const std::string endpoint = terminal_safe(node.endpoint);
    node_table.add({endpoint, node.state, std::to_string(node.processes.size()),
                    contact_cell(node, now_unix_ms)});
    for (const auto& row : node.processes) {
      std::vector<std::string> line{endpoint};
      auto cells = table_cells(row, now_unix_ms);
      // The UPTIME column. (assign(1, '-'): GCC 12 at -O3 takes `= "-"`
      // for an overlapping copy, -Wrestrict's false positive, bug 105329.)
      if (unknown(row)) cells.at(3).assign(1, '-');
      line.insert(line.end(), cells.begin(), cells.end());
      process_table.add(line);
    }
  }
  std::string reasons;
  for (const auto& node : nodes) {
    if (node.last_error.empty()) continue;
    std::string reason =
        terminal_safe(node.endpoint) + ": " + terminal_safe(node.last_error);
    if (width && reason.size() > width) reason.resize(width);
    reasons += reason + "\n";
  }
  return node_table.str(width) + reasons + process_table.str(width);
}

std::string fit_height(std::string text, std::size_t lines) {
  const auto total =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  if (lines == 0 || total <= lines) return text;
  std::size_t end = 0;
  for (std::size_t kept = 0; kept + 1 < lines; ++kept)
    end = text.find('\n', end) + 1;
  text.resize(end);
  return text + "... " + std::to_string(total - (lines - 1)) + " more lines\n";
}

std::string watch_json_line(const std::vector<watched_node>& nodes,
                            std::int64_t now_unix_ms) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& node : nodes) {
    nlohmann::ordered_json item;
    item["node"] = node.endpoint;
    item["state"] = node.state;
    if (node.last_contact_ms)
      item["last_contact_unix_ms"] = *node.last_contact_ms;
    else
      item["last_contact_unix_ms"] = nullptr;
    item["synchronisations"] = node.synchronisations;
    item["missed_transitions"] = node.missed_transitions;
    if (node.last_error.empty())
      item["last_error"] = nullptr;
    else
      item["last_error"] = node.last_error;
    auto processes = nlohmann::ordered_json::array();
    for (const auto& row : node.processes) {
      processes.push_back(process_json(row, now_unix_ms));
      if (unknown(row)) processes.back()["uptime_ms"] = 0;
    }
    item["processes"] = std::move(processes);
    list.push_back(std::move(item));
  }
  nlohmann::ordered_json doc;
  doc["at_unix_ms"] = now_unix_ms;
  doc["nodes"] = std::move(list);
  // A node's process names are not ours: invalid UTF-8 is replaced rather
  // than thrown on.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace vitrine::cli
