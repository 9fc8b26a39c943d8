#include "render.hpp"

#include <time.h>

#include <cstdio>

#include "packed_table.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

std::string format_uptime(std::chrono::milliseconds up) {
  const std::int64_t s = up.count() / 1000;
  char text[32];
  if (s < 60)
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(text, sizeof text, "%lldm%02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else if (s < 86400)
    std::snprintf(text, sizeof text, "%lldh%02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else
    std::snprintf(text, sizeof text, "%lldd%02lldh",
                  static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  return text;
}

std::string format_clock(std::int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  struct tm local {};
  ::localtime_r(&seconds, &local);
  char text[32];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03d", local.tm_hour,
                local.tm_min, local.tm_sec,
                static_cast<int>(((unix_ms % 1000) + 1000) % 1000));
  return text;
}

std::vector<std::string> table_header() {
  return {"NAME", "STATUS", "PID", "UPTIME", "RESTARTS", "LAST EXIT"};
}

std::vector<std::string> table_cells(const status_row& row,
                                     std::int64_t now_unix_ms) {
  const auto up = uptime(row, now_unix_ms);
  std::string last = row.last_exit;
  if (!row.spawn_error.empty()) last += " (" + row.spawn_error + ")";
  // A status file is untrusted input: every cell is escaped.
  return {terminal_safe(row.name),
          terminal_safe(row.status),
          row.pid ? std::to_string(row.pid) : "-",
          up ? format_uptime(*up) : "-",
          std::to_string(row.restarts),
          terminal_safe(last)};
}

std::string render_table(const std::vector<status_row>& rows,
                         std::int64_t now_unix_ms, std::size_t width) {
  packed_table table{table_header()};
  for (const auto& row : rows) table.add(table_cells(row, now_unix_ms));
  return table.str(width);
}

std::string render_line(const status_row& row, std::int64_t now_unix_ms) {
  std::string line = format_clock(now_unix_ms) + " " + row.name + " " +
                     row.status + " pid=" + std::to_string(row.pid) +
                     " restarts=" + std::to_string(row.restarts) +
                     " last_exit=" + row.last_exit;
  line = terminal_safe(line);
  if (!row.spawn_error.empty())
    line += " error=" + quoted_field(row.spawn_error);
  return line;
}

}  // namespace vitrine::cli
