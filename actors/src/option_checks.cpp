#include "option_checks.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace vitrine::detail {
namespace {

using std::chrono::milliseconds;

/// Periods and timeouts longer than this are refused: nothing vitrine
/// waits for periodically needs more, and CAF adds them to its clock in
/// nanoseconds.
constexpr milliseconds longest_period = std::chrono::hours{24};

/// The most scheduler threads a runtime starts (CAF starts them all at
/// once; 100,000 aborted a tester's process).
constexpr unsigned most_scheduler_threads = 1024;

[[noreturn]] void refuse(std::string_view prefix, std::string_view field,
                         const std::string& why) {
  throw std::invalid_argument("vitrine: " + std::string{prefix} + "." +
                              std::string{field} + " " + why);
}

/// From 1 ms to longest_period.
void check_period(std::string_view prefix, std::string_view field,
                  milliseconds value) {
  const std::string is = " (it is " + std::to_string(value.count()) + " ms)";
  if (value <= milliseconds{0})
    refuse(prefix, field, "must be greater than 0" + is);
  if (value > longest_period)
    refuse(prefix, field,
           "must be at most " + std::to_string(longest_period.count()) +
               " ms (a day)" + is);
}

}  // namespace

void check_runtime_options(const runtime_options& options) {
  constexpr std::string_view prefix = "runtime_options";
  if (options.root_period.count() <= 0)
    refuse(prefix, "root_period", "must be greater than 0");
  check_period(prefix, "status_heartbeat", options.status_heartbeat);
  if (options.scheduler_idle_steal > longest_period)
    refuse(prefix, "scheduler_idle_steal",
           "must be at most " + std::to_string(longest_period.count()) +
               " ms (a day)");
  if (options.scheduler_threads > most_scheduler_threads)
    refuse(prefix, "scheduler_threads",
           "must be at most " + std::to_string(most_scheduler_threads) +
               " (0: one per core; it is " +
               std::to_string(options.scheduler_threads) + ")");
  if (options.remoting.enabled)
    check_remoting_options(options.remoting, "runtime_options.remoting");
}

void check_remoting_options(const remoting_options& options,
                            std::string_view prefix) {
  check_period(prefix, "heartbeat_interval", options.heartbeat_interval);
  check_period(prefix, "connection_timeout", options.connection_timeout);
}

void check_connect_options(const connect_options& options) {
  constexpr std::string_view prefix = "connect_options";
  check_period(prefix, "attempt_timeout", options.attempt_timeout);
  check_period(prefix, "command_timeout", options.command_timeout);
  check_period(prefix, "backoff_min", options.backoff_min);
  check_period(prefix, "backoff_max", options.backoff_max);
  if (options.backoff_max < options.backoff_min)
    refuse(prefix, "backoff_max",
           "must not be below backoff_min (" +
               std::to_string(options.backoff_max.count()) + " < " +
               std::to_string(options.backoff_min.count()) + " ms)");
}

}  // namespace vitrine::detail
