#include "vitrine/core/termination.hpp"

#include "vitrine/core/signal_names.hpp"

namespace vitrine::core {

std::string_view to_string(termination::kind how) noexcept {
  switch (how) {
    case termination::kind::none:
      return "none";
    case termination::kind::exited:
      return "exited";
    case termination::kind::signaled:
      return "signaled";
    case termination::kind::unknown:
      return "unknown";
  }
  return "none";
}

std::string describe(const termination& t) {
  switch (t.how) {
    case termination::kind::none:
      return "-";
    case termination::kind::exited:
      return "exit " + std::to_string(t.value);
    case termination::kind::signaled: {
      std::string text = "signal ";
      text += std::to_string(t.value);
      if (const auto name = signal_name(t.value); !name.empty()) {
        text += " (";
        text += name;
        text += ')';
      }
      if (t.core_dumped) text += ", core dumped";
      return text;
    }
    case termination::kind::unknown:
      return "unknown (exit status lost)";
  }
  return "-";
}

}  // namespace vitrine::core
