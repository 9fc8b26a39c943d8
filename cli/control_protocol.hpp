// control_protocol: the requests and replies of a running `vitrine run`'s
// control socket (docs/cli.md, "Control socket"): pure encoding and
// validating parsing, no I/O, so a fuzz target can drive the parser.
//
// Wire format (version 1): one JSON object per connection each way, on one
// line ending in '\n'. A request is at most max_request_bytes; anything
// else (not JSON, not an object, a missing or mistyped field, an unknown
// field or command, another version, too many names) is refused with an
// error reply, never a crash.
//
//   request: {"version":1,"command":"restart","names":["web"],
//             "wait":true,"timeout_ms":30000,"deadline_ms":123456789}
//            ("signal" also takes "signal": 1..64; "reload" takes no names)
//   reply:   {"version":1,"ok":false,"error":"...","expired":false,
//             "results":[{"name":"web","kind":"process","ok":true,
//              "status":"running","pid":42,"error":"","timed_out":false}],
//             "warnings":["run.toml:4:1: ...: warning: ..."],
//             "notes":["reload: added 1 (web)", ...]}
//            ("warnings": a reload's, on the new file; "notes": an
//            applied reload's summary; both optional)
//
// "deadline_ms" (optional) is an absolute CLOCK_MONOTONIC time in ms: the
// clock is system-wide, so a client and the run on one machine agree on
// it. A request read at or after its deadline is not carried out; its reply
// has "expired": true. No wait of the run outlasts the deadline.
//
// Threads: pure functions; any thread. Cost: one JSON parse or dump.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitrine::cli::control {

inline constexpr int protocol_version = 1;
inline constexpr std::size_t max_names = 4096;
inline constexpr std::size_t max_name_bytes = 255;
/// The most a name can take in a request: every byte a control character
/// written as a JSON escape (`\u0001`: 6 bytes), its quotes and a comma.
inline constexpr std::size_t max_encoded_name_bytes = 6 * max_name_bytes + 3;
/// The largest request a server reads: max_names names that all need the
/// most escaping, and room for the other fields (6,283,264 bytes).
inline constexpr std::size_t max_request_bytes =
    max_names * max_encoded_name_bytes + 4096;
/// The largest reply a client reads.
inline constexpr std::size_t max_reply_bytes = 16 * 1024 * 1024;
/// Why a run cannot hold `name` (1 to max_name_bytes bytes), or "".
std::string name_problem(std::string_view name);
/// The largest deadline_ms accepted (2^53 - 1: exact in any JSON reader).
inline constexpr std::uint64_t max_deadline_ms = (std::uint64_t{1} << 53) - 1;
/// The longest wait a request may ask for: one hour.
inline constexpr std::uint32_t max_timeout_ms = 3'600'000;
inline constexpr std::uint32_t default_timeout_ms = 30'000;

enum class verb { start, stop, restart, signal, reload };

/// "start", "stop", "restart", "signal", "reload".
std::string_view to_string(verb v) noexcept;
std::optional<verb> verb_from_string(std::string_view text) noexcept;

struct request {
  verb command = verb::start;
  std::vector<std::string> names;  ///< processes or supervisors, >= 1
  int signal = 0;                  ///< verb::signal only
  bool wait = true;                ///< wait until the effect is published
  std::uint32_t timeout_ms = default_timeout_ms;
  /// CLOCK_MONOTONIC ms after which the run must not act on the request
  /// (nullopt: none). See monotonic_now_ms().
  std::optional<std::uint64_t> deadline_ms;
};

/// The outcome for one name.
struct result {
  std::string name;
  std::string kind;        ///< "process" | "supervisor"
  bool ok = false;         ///< the effect happened (or was sent, without wait)
  std::string status;      ///< the published status when the reply was made
  pid_t pid = 0;           ///< processes: the pid then (0: none)
  std::string error;       ///< why not ok ("" when ok)
  bool timed_out = false;  ///< the wait ended at the request's timeout
};

struct reply {
  bool ok = false;
  std::string error;     ///< the request as a whole failed, or ""
  bool expired = false;  ///< read past its deadline: nothing was done
  std::vector<result> results;
  /// A reload's warnings on the new file, one line each (without '\n'),
  /// as `vitrine check` prints them; they refuse nothing.
  std::vector<std::string> warnings;
  /// An applied reload's summary, the `reload:` lines the run prints
  /// (what was added, removed, changed; what a reload does not apply).
  std::vector<std::string> notes;
};

/// CLOCK_MONOTONIC now, in ms: the clock of request::deadline_ms.
std::uint64_t monotonic_now_ms() noexcept;

/// Whether `r` has a deadline and `now_ms` reached it.
inline bool expired(const request& r, std::uint64_t now_ms) noexcept {
  return r.deadline_ms && now_ms >= *r.deadline_ms;
}

/// One line: the JSON of `r` and '\n'.
std::string encode(const request& r);
std::string encode(const reply& r);

/// Validates and decodes a request (the bytes up to, and without, the
/// '\n'). nullopt with `error` set for anything not a valid version-1
/// request.
std::optional<request> parse_request(std::string_view bytes,
                                     std::string& error);
/// Decodes a reply (client side). nullopt with `error` on bad input.
std::optional<reply> parse_reply(std::string_view bytes, std::string& error);

/// An error reply: {"version":1,"ok":false,"error":TEXT,"results":[]}.
std::string encode_error(std::string_view text);

}  // namespace vitrine::cli::control
