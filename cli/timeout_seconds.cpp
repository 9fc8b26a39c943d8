#include "timeout_seconds.hpp"

#include <cstdlib>

namespace vitrine::cli {

std::optional<double> timeout_seconds(std::string_view text) {
  std::size_t digits = 0, decimals = 0;
  bool dot = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
      decimals += dot ? 1 : 0;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || decimals > 3 || text.front() == '.' || text.back() == '.')
    return std::nullopt;
  // As CLI11 converts a double (strtold, then to double), so that both
  // readings give the same value.
  const std::string copy{text};
  const auto seconds = static_cast<double>(std::strtold(copy.c_str(), nullptr));
  if (!(seconds >= 0.001 && seconds <= max_timeout_s)) return std::nullopt;
  return seconds;
}

std::string timeout_problem(const std::string& text) {
  if (timeout_seconds(text)) return {};
  return "'" + text + "' is not a number of seconds from 0.001 to " +
         std::to_string(max_timeout_s) +
         " (digits, at most one '.' and three decimals)";
}

}  // namespace vitrine::cli
