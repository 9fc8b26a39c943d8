#include "signal_argument.hpp"

#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"

namespace vitrine::cli {

std::string unknown_signal_text(std::string_view text) {
  if (text.size() > 1 && text[0] == '-' &&
      core::signal_from_name(text.substr(1))) {
    const std::string name{text.substr(1)};  // a signal's name: printable
    return "ctl signal: '-" + name +
           "': write the signal without '-' (`ctl signal " + name +
           " NAME...`)";
  }
  return "ctl signal: unknown signal '" + terminal_safe(text) +
         "' (TERM, SIGUSR1, 10...)";
}

}  // namespace vitrine::cli
