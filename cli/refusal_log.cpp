#include "refusal_log.hpp"

#include <sys/eventfd.h>
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

namespace {

/// "3 such as a 1; 1 b; 2 for other reasons", and their sum in `total`.
std::string counted(const std::vector<refusal_log::left_out_kind>& kinds,
                    std::uint64_t other_reasons, std::uint64_t& total) {
  total = other_reasons;
  std::string text;
  const char* separator = "";
  for (const auto& kind : kinds) {
    total += kind.count;
    text.append(separator).append(std::to_string(kind.count)).append(" ");
    if (!kind.all_alike) text += "such as ";
    text += kind.first_why;
    separator = "; ";
  }
  if (other_reasons > 0)
    text.append(separator)
        .append(std::to_string(other_reasons))
        .append(" for other reasons");
  return text;
}

}  // namespace

refusal_log::refusal_log(int fd, clock::duration spacing)
    : fd_(fd),
      spacing_(spacing),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

std::string refusal_log::line(std::string_view peer, std::string_view why,
                              const std::vector<left_out_kind>& kinds,
                              std::uint64_t other_reasons) {
  std::string text = "vitrine node: closed the connection of ";
  text.append(peer).append(": ").append(why);
  std::uint64_t left_out = 0;
  const auto what = counted(kinds, other_reasons, left_out);
  if (left_out == 0) return text;
  return text + " (and " + std::to_string(left_out) +
         (left_out == 1 ? " other" : " others") +
         " since the last such line: " + what + ")";
}

std::string refusal_log::summary_line(const std::vector<left_out_kind>& kinds,
                                      std::uint64_t other_reasons) {
  std::uint64_t left_out = 0;
  const auto what = counted(kinds, other_reasons, left_out);
  return "vitrine node: closed " + std::to_string(left_out) +
         (left_out == 1 ? " other connection" : " other connections") +
         " since the last such line: " + what;
}

void refusal_log::write_line(const std::string& line_text) {
  const std::string text =
      format_clock(clock_pair::now().unix_ms()) + " " + line_text + "\n";
  // One write: a line is not interleaved with the run's own lines.
  for (std::string_view rest{text}; !rest.empty();) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::chrono::milliseconds refusal_log::summary_due_in() {
  std::lock_guard lock{mutex_};
  if (left_out_.empty() && other_reasons_ == 0)
    return std::chrono::milliseconds{-1};
  const auto left = last_written_ + spacing_ - clock::now();
  return std::max(std::chrono::milliseconds{0},
                  std::chrono::ceil<std::chrono::milliseconds>(left));
}

void refusal_log::flush() {
  std::lock_guard lock{mutex_};
  if (wake_) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto drained =
        ::read(wake_.get(), &count, sizeof count);
  }
  if ((left_out_.empty() && other_reasons_ == 0) ||
      clock::now() - last_written_ < spacing_)
    return;
  last_written_ = clock::now();
  write_line(summary_line(left_out_, other_reasons_));
  left_out_.clear();
  other_reasons_ = 0;
}

void refusal_log::report(std::string_view peer, std::string_view why) {
  std::lock_guard lock{mutex_};
  const auto now = clock::now();
  if (written_ && now - last_written_ < spacing_) {
    if (wake_ && left_out_.empty() && other_reasons_ == 0) {
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto woke = ::write(wake_.get(), &one, sizeof one);
    }
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
  write_line(line(peer, why, left_out_, other_reasons_));
  left_out_.clear();
  other_reasons_ = 0;
}

}  // namespace vitrine::cli
