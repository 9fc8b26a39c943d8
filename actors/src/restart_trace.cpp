#include "vitrine/restart_trace.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>

namespace vitrine::restart_trace {
namespace {

constexpr auto points = static_cast<std::size_t>(point::count);

// Read once, at static initialisation (before any actor runs).
const bool tracing = std::getenv("VITRINE_RESTART_TRACE") != nullptr;
std::array<std::atomic<std::int64_t>, points> times{};

}  // namespace

const char* name(point p) noexcept {
  static constexpr std::array<const char*, points> names{
      "exit_seen", "exit_received",  "reaped",   "reported", "report_received",
      "granted",   "grant_received", "launched", "published"};
  return names[static_cast<std::size_t>(p)];
}

bool enabled() noexcept {
  return tracing;
}

void mark(point p) noexcept {
  if (!tracing) [[likely]]
    return;
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  times[static_cast<std::size_t>(p)].store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(),
      std::memory_order_relaxed);
}

std::int64_t last(point p) noexcept {
  return times[static_cast<std::size_t>(p)].load(std::memory_order_relaxed);
}

}  // namespace vitrine::restart_trace
