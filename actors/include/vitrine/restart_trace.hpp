// restart_trace: timestamps of each hop of a crash -> restarted path (the
// I/O thread sees the exit, the process actor reaps it and reports, the
// supervisor grants the restart, the process actor spawns and publishes),
// for the end-to-end benchmark to show where a restart's time goes.
//
// Off unless the environment has VITRINE_RESTART_TRACE set when the first
// mark is made: then each mark() costs one relaxed load of a flag. On, it
// costs a clock read and a relaxed store. It keeps the last time of each
// point only, so it describes one restart at a time (the benchmark kills
// one child, waits for its restart, then reads last()). Any thread.
#pragma once

#include <cstdint>

namespace vitrine::restart_trace {

enum class point : unsigned {
  exit_seen,        ///< the I/O thread: the child's pidfd is readable
  exit_received,    ///< the process actor runs the exit message
  reaped,           ///< ... has reaped the child
  reported,         ///< ... has published the exit and sent its report
  report_received,  ///< the supervisor runs the report
  granted,          ///< ... has sent the restart grant
  grant_received,   ///< the process actor runs the grant
  launched,         ///< ... the new child has exec'd (clone returned)
  published,        ///< ... publishes a state (the last: `running`)
  count
};

/// The name of a point, for reports ("exit_seen", ...).
const char* name(point p) noexcept;
/// Whether marks are recorded (VITRINE_RESTART_TRACE was set).
bool enabled() noexcept;
/// Records now (steady_clock, ns) as point p's last time, when enabled.
void mark(point p) noexcept;
/// Point p's last recorded time in steady_clock ns since its epoch (0:
/// never).
std::int64_t last(point p) noexcept;

}  // namespace vitrine::restart_trace
