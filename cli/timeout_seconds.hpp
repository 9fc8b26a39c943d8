// timeout_seconds: the value of a `--timeout` option (seconds), read the
// same way by the `vitrine` front (plain_command_line.hpp) and by CLI11's
// check in `vitrine-cli` and `vitrine-run`, so that a value is taken or
// refused alike, with one message. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vitrine::cli {

/// The largest --timeout, in seconds (control::max_timeout_ms).
inline constexpr unsigned max_timeout_s = 3600;

/// Seconds written as digits with at most one '.' inside and at most three
/// decimals ("30", "0.5", "2.25"), from 0.001 (one millisecond, the
/// resolution the control protocol carries) to max_timeout_s; nullopt for
/// any other text (signs, exponents, hex, spaces, "", 0, 1e-9).
std::optional<double> timeout_seconds(std::string_view text);

/// "" when timeout_seconds() takes `text`, else what is wrong with it
/// (CLI11 prints it after the option's name).
std::string timeout_problem(const std::string& text);

}  // namespace vitrine::cli
