// status_json: the JSON object of one process row, shared by the status
// file (status.hpp, to_json) and `vitrine watch --json` (watch_view.hpp),
// so that both spell a process the same way. Internal to vitrine_cli_lib
// (its users need nlohmann-json's headers).
//
// Threads: a pure function; any thread. Cost: a few small allocations.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "status.hpp"

namespace vitrine::cli {

/// {"name", "status", "pid", "version", "restarts", "last_exit": {"kind",
/// "value", "text"}, "started_at_unix_ms", "uptime_ms", "spawn_error"}.
nlohmann::ordered_json process_json(const status_row& row,
                                    std::int64_t now_unix_ms);

}  // namespace vitrine::cli
