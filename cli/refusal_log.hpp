// refusal_log: the lines `vitrine node` writes to stderr about peers its
// port closed (serve_options::on_refused): at most one a second, the next
// one counting those left out meanwhile by kind of reason (the first of
// each, up to four kinds), so that a flood of bad peers cannot flood the
// log and the line still says what they did; those left out after the
// last line are summed up a spacing after it (flush(), from the run loop,
// which wake_fd() wakes when one is left out).
//
// Threads: report() is called on the node's relay thread, flush() on the
// run loop's (any thread is fine: a mutex serialises them). Cost: a lock
// and a clock read per call; a write(2) of one line at most once a second,
// and one to wake_fd() when a line's first connection is left out.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

class refusal_log {
 public:
  using clock = std::chrono::steady_clock;

  /// Writes its lines to `fd`. Without an eventfd (none could be made),
  /// wake_fd() is -1.
  explicit refusal_log(int fd,
                       clock::duration spacing = std::chrono::seconds{1});

  void report(std::string_view peer, std::string_view why);

  /// An eventfd that becomes readable when report() leaves the first
  /// connection out since the last line: a loop that sleeps until
  /// something happens polls it, then waits summary_due_in() and calls
  /// flush(), which drains it. Else a burst's end went unsaid until the
  /// next refusal or wake-up.
  int wake_fd() const noexcept { return wake_.get(); }

  /// How long until the connections left out since the last line are to
  /// be summed up by flush(); negative when none are left out.
  std::chrono::milliseconds summary_due_in();
  /// Writes the line summing up those left out once the spacing since the
  /// last line has passed (a burst that ends is told at its end, not at
  /// the next refusal); nothing otherwise.
  void flush();

  /// Connections left out of the log since its last line, by kind of
  /// reason (the reason up to its first digit: sizes and numbers vary).
  struct left_out_kind {
    std::string first_why;  ///< the first such reason
    std::uint64_t count = 0;
    bool all_alike = true;  ///< every one's reason was first_why
  };
  static constexpr std::size_t max_kinds = 4;

  /// The line report() writes (without the time prefix); `other_reasons`
  /// counts those left out whose kind did not fit in `kinds`.
  static std::string line(std::string_view peer, std::string_view why,
                          const std::vector<left_out_kind>& kinds = {},
                          std::uint64_t other_reasons = 0);
  /// The line flush() writes (without the time prefix).
  static std::string summary_line(const std::vector<left_out_kind>& kinds,
                                  std::uint64_t other_reasons);

 private:
  /// Writes `text` after the time; under mutex_, which keeps lines whole
  /// and in order.
  void write_line(const std::string& text);

  const int fd_;
  const clock::duration spacing_;
  const os::unique_fd wake_;
  std::mutex mutex_;
  clock::time_point last_written_{};     // under mutex_
  std::vector<left_out_kind> left_out_;  // under mutex_
  std::uint64_t other_reasons_ = 0;      // under mutex_
  bool written_ = false;                 // under mutex_
};

}  // namespace vitrine::cli
