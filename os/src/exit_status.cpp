#include "vitrine/os/exit_status.hpp"

#include "vitrine/os/signals.hpp"

namespace vitrine::os {

std::string describe(const exit_status& status) {
  if (status.unknown) {
    return "unknown (exit status lost: child reaped elsewhere)";
  }
  if (status.how == exit_status::kind::exited) {
    return "exit " + std::to_string(status.code);
  }
  std::string result = "killed by ";
  if (auto name = signal_name(status.code); !name.empty()) {
    result += name;
  } else {
    result += "signal " + std::to_string(status.code);
  }
  if (status.core_dumped) result += " (core dumped)";
  return result;
}

}  // namespace vitrine::os
