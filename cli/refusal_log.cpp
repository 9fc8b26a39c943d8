#include "refusal_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "render.hpp"
#include "status.hpp"

namespace vitrine::cli {

namespace {

/// What sorts reasons into kinds: the text before its first digit.
std::string_view kind_of(std::string_view why) {
  const auto digit = why.find_first_of("0123456789");
  return why.substr(0, digit == std::string_view::npos ? why.size() : digit);
}

}  // namespace

std::string refusal_log::line(std::string_view peer, std::string_view why,
                              const std::vector<left_out_kind>& kinds,
                              std::uint64_t other_reasons) {
  std::string text = "vitrine node: closed the connection of ";
  text.append(peer).append(": ").append(why);
  std::uint64_t left_out = other_reasons;
  for (const auto& kind : kinds) left_out += kind.count;
  if (left_out == 0) return text;
  text += " (and " + std::to_string(left_out) +
          (left_out == 1 ? " other" : " others") +
          " since the last such line: ";
  const char* separator = "";
  for (const auto& kind : kinds) {
    text.append(separator).append(std::to_string(kind.count)).append(" ");
    if (!kind.all_alike) text += "such as ";
    text += kind.first_why;
    separator = "; ";
  }
  if (other_reasons > 0)
    text.append(separator)
        .append(std::to_string(other_reasons))
        .append(" for other reasons");
  return text + ")";
}

void refusal_log::report(std::string_view peer, std::string_view why) {
  std::string text;
  {
    std::lock_guard lock{mutex_};
    const auto now = clock::now();
    if (written_ && now - last_written_ < spacing_) {
      const auto kind = std::find_if(
          left_out_.begin(), left_out_.end(), [&](const left_out_kind& k) {
            return kind_of(k.first_why) == kind_of(why);
          });
      if (kind != left_out_.end()) {
        ++kind->count;
        kind->all_alike = kind->all_alike && kind->first_why == why;
      } else if (left_out_.size() < max_kinds) {
        left_out_.push_back({std::string{why}, 1, true});
      } else {
        ++other_reasons_;
      }
      return;
    }
    written_ = true;
    last_written_ = now;
    text = format_clock(clock_pair::now().unix_ms()) + " " +
           line(peer, why, left_out_, other_reasons_) + "\n";
    left_out_.clear();
    other_reasons_ = 0;
  }
  // One write: a line is not interleaved with the run's own lines.
  for (std::string_view rest{text}; !rest.empty();) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace vitrine::cli
