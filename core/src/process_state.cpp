#include "vitrine/core/process_state.hpp"

namespace vitrine::core {

std::string_view to_string(process_status status) noexcept {
  switch (status) {
    case process_status::stopped:
      return "stopped";
    case process_status::starting:
      return "starting";
    case process_status::running:
      return "running";
    case process_status::backoff:
      return "backoff";
    case process_status::stopping:
      return "stopping";
    case process_status::exited:
      return "exited";
    case process_status::failed:
      return "failed";
    case process_status::unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace vitrine::core

#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::core {

std::string_view to_string(supervisor_status status) noexcept {
  switch (status) {
    case supervisor_status::starting:
      return "starting";
    case supervisor_status::running:
      return "running";
    case supervisor_status::restarting:
      return "restarting";
    case supervisor_status::shutting_down:
      return "shutting_down";
    case supervisor_status::stopped:
      return "stopped";
    case supervisor_status::failed:
      return "failed";
  }
  return "unknown";
}

std::string supervisor_failure::describe() const {
  if (child_gave_up)
    return "child '" + child + "' (" + exit +
           ") failed for good, and its siblings depend on it";
  // A supervisor that restarts nothing (the runtime's root, above the
  // top): no window to speak of.
  if (intensity == 0)
    return "child '" + child + "' (" + exit +
           "): not restarted, intensity 0 allows no restart";
  // The count includes the restart that was refused (as OTP counts): the
  // wording says it was not made.
  return "child '" + child + "' (" + exit + "): restarting it would make " +
         std::to_string(restarts_in_window) + " restart" +
         (restarts_in_window == 1 ? "" : "s") + " within " +
         std::to_string(period.count()) + " ms, above intensity " +
         std::to_string(intensity);
}

}  // namespace vitrine::core
