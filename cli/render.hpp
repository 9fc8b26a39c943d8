// render: the text the CLI shows for status rows: a table (terminal and
// `vitrine status`) and one line per change (plain mode).
//
// Threads: pure functions; any thread. Cost: string formatting only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "status.hpp"

namespace vitrine::cli {

/// "0s", "59s", "3m07s", "2h05m", "3d04h".
std::string format_uptime(std::chrono::milliseconds up);

/// A table with a header line: NAME STATUS PID UPTIME RESTARTS LAST EXIT,
/// each line ending in '\n' and cut to `width` columns (0 = no limit).
std::string render_table(const std::vector<status_row>& rows,
                         std::int64_t now_unix_ms, std::size_t width = 0);

/// render_table()'s column titles and the cells of `row` (escaped), for a
/// table with more columns (`vitrine watch` puts the node first) or one
/// built line by line (packed_table.hpp).
std::vector<std::string> table_header();
std::vector<std::string> table_cells(const status_row& row,
                                     std::int64_t now_unix_ms);

/// "12:00:01.234 web running pid=42 restarts=0 last_exit=exit 0", local
/// time, no newline; a spawn error is appended as error="...".
std::string render_line(const status_row& row, std::int64_t now_unix_ms);

/// "12:00:01.234", local time.
std::string format_clock(std::int64_t unix_ms);

}  // namespace vitrine::cli
