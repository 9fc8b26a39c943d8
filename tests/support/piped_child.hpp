// piped_child: a helper program started by a test with its stdout on a pipe,
// so the test can wait for a line it prints ("ready") with a deadline. It is
// SIGKILLed and reaped at scope exit unless the test reaped it already.
// One thread; spawning throws std::runtime_error on failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitrine::test {

class piped_child {
 public:
  /// Starts argv[0] with our environment plus `extra_env` ("NAME=value").
  explicit piped_child(std::vector<std::string> argv,
                       std::vector<std::string> extra_env = {});
  ~piped_child();
  piped_child(const piped_child&) = delete;
  piped_child& operator=(const piped_child&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Reads its stdout until `marker` appears; returns everything read, or
  /// nothing if it died or `limit` passed first.
  std::optional<std::string> read_until(std::string_view marker,
                                        std::chrono::milliseconds limit);

  /// Waits for it to exit (after the test killed it).
  void reap();

 private:
  pid_t pid_ = 0;
  int out_ = -1;
};

}  // namespace vitrine::test
