#include "refusal_log.hpp"

#include <unistd.h>

#include <cerrno>

#include "render.hpp"
#include "status.hpp"

namespace vitrine::cli {

std::string refusal_log::line(std::string_view peer, std::string_view why,
                              std::uint64_t left_out) {
  std::string text = "vitrine node: closed the connection of ";
  text.append(peer).append(": ").append(why);
  if (left_out > 0)
    text += " (and " + std::to_string(left_out) +
            (left_out == 1 ? " other" : " others") +
            " since the last such line)";
  return text;
}

void refusal_log::report(std::string_view peer, std::string_view why) {
  std::string text;
  {
    std::lock_guard lock{mutex_};
    const auto now = clock::now();
    if (written_ && now - last_written_ < spacing_) {
      ++left_out_;
      return;
    }
    written_ = true;
    last_written_ = now;
    text = format_clock(clock_pair::now().unix_ms()) + " " +
           line(peer, why, left_out_) + "\n";
    left_out_ = 0;
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
