#include "render.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>

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

namespace {

void widen(std::vector<std::size_t>& widths,
           const std::vector<std::string>& line) {
  if (widths.size() < line.size()) widths.resize(line.size());
  for (std::size_t c = 0; c < line.size(); ++c)
    widths[c] = std::max(widths[c], line[c].size());
}

void append_aligned(std::string& out, const std::vector<std::string>& line,
                    const std::vector<std::size_t>& widths, std::size_t width) {
  const std::size_t begin = out.size();
  for (std::size_t c = 0; c < line.size(); ++c) {
    out += line[c];
    if (c + 1 < line.size()) out.append(widths[c] - line[c].size() + 2, ' ');
  }
  if (width && out.size() - begin > width) out.resize(begin + width);
  out += '\n';
}

std::size_t line_width(const std::vector<std::size_t>& widths) {
  std::size_t sum = 0;
  for (const std::size_t w : widths) sum += w + 2;
  return sum;
}

}  // namespace

std::string align_columns(const std::vector<std::vector<std::string>>& lines,
                          std::size_t width) {
  std::vector<std::size_t> widths;
  for (const auto& line : lines) widen(widths, line);
  std::string out;
  out.reserve(lines.size() * (line_width(widths) + 1));
  for (const auto& line : lines) append_aligned(out, line, widths, width);
  return out;
}

std::string render_table(
    std::size_t count,
    const std::function<std::vector<std::string>(std::size_t)>& cells_of,
    std::size_t width) {
  // Two passes, formatting each line's cells twice, rather than keeping
  // every line's cells: with 1,000 rows those are ~200 KiB of fresh memory,
  // whose page faults cost `vitrine status` more than the formatting.
  const auto header = table_header();
  std::vector<std::size_t> widths;
  widen(widths, header);
  for (std::size_t i = 0; i < count; ++i) widen(widths, cells_of(i));
  std::string out;
  out.reserve((count + 1) * (line_width(widths) + 1));
  append_aligned(out, header, widths, width);
  for (std::size_t i = 0; i < count; ++i)
    append_aligned(out, cells_of(i), widths, width);
  return out;
}

std::string render_table(const std::vector<status_row>& rows,
                         std::int64_t now_unix_ms, std::size_t width) {
  return render_table(
      rows.size(),
      [&](std::size_t i) { return table_cells(rows[i], now_unix_ms); }, width);
}

std::string render_line(const status_row& row, std::int64_t now_unix_ms) {
  std::string line = format_clock(now_unix_ms) + " " + row.name + " " +
                     row.status + " pid=" + std::to_string(row.pid) +
                     " restarts=" + std::to_string(row.restarts) +
                     " last_exit=" + row.last_exit;
  if (!row.spawn_error.empty()) line += " error=\"" + row.spawn_error + "\"";
  return terminal_safe(line);
}

}  // namespace vitrine::cli
