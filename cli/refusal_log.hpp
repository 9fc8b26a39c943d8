// refusal_log: the lines `vitrine node` writes to stderr about peers its
// port closed (serve_options::on_refused): at most one a second, the next
// one counting those left out meanwhile, so that a flood of bad peers
// cannot flood the log.
//
// Threads: report() is called on the node's relay thread (any thread is
// fine: a mutex serialises them). Cost: a lock and a clock read per
// report; a write(2) of one line at most once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace vitrine::cli {

class refusal_log {
 public:
  using clock = std::chrono::steady_clock;

  explicit refusal_log(int fd,
                       clock::duration spacing = std::chrono::seconds{1})
      : fd_(fd), spacing_(spacing) {}

  void report(std::string_view peer, std::string_view why);

  /// The line report() writes (without the time prefix).
  static std::string line(std::string_view peer, std::string_view why,
                          std::uint64_t left_out);

 private:
  const int fd_;
  const clock::duration spacing_;
  std::mutex mutex_;
  clock::time_point last_written_{};  // under mutex_
  std::uint64_t left_out_ = 0;        // under mutex_
  bool written_ = false;              // under mutex_
};

}  // namespace vitrine::cli
