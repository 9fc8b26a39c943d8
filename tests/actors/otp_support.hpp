// Helpers of the OTP conformance suite (otp_*_test.cpp): children that
// record their own start and stop in a shared log, and readers of that log.
// Test-only.
#pragma once

#include <string>
#include <vector>

#include "test_support.hpp"

namespace vitrine::test {

// The names every otp_*_test.cpp uses.
using core::process_status;
using core::supervisor_status;
using strings = std::vector<std::string>;

/// A shared event log that the children append to themselves.
class event_log {
 public:
  /// A child that appends "start NAME" when it starts (and only then
  /// signals readiness: it is `running` once the line is written), "stop
  /// NAME" when it gets SIGTERM (then exits 0), and otherwise sleeps.
  process_spec child(const std::string& name) const;
  /// The same, but it exits with `code` right after "start NAME" when the
  /// file `trigger` exists (and removes it): a crash on demand.
  process_spec crasher(const std::string& name, const std::string& trigger,
                       int code = 1) const;

  /// Like child(), but a stop takes a while: on SIGTERM it appends "stop
  /// NAME", creates the file `on_stop` if one is named, lingers `linger`,
  /// appends "gone NAME" and exits 0.
  process_spec lingerer(const std::string& name, ms linger,
                        const std::string& on_stop = "") const;

  /// Every line so far.
  std::vector<std::string> lines() const;
  /// Lines after the first `skip` ones.
  std::vector<std::string> lines_after(std::size_t skip) const;
  /// Waits until the log holds at least `n` lines.
  bool holds(std::size_t n, ms limit = patience) const;

  std::string file(const std::string& name) const { return dir_.file(name); }
  /// Creates the (empty) file `name` beside the log.
  void touch(const std::string& name) const { dir_.write(name, ""); }

 private:
  temp_dir dir_;
  std::string path_ = dir_.file("events");
};

/// A supervisor spec over `children` with a roomy intensity.
supervisor_spec tree(std::string name, restart_strategy strategy,
                     std::vector<child_spec> children);

/// The runtime options of these tests: the root does not restart a failed
/// top-level tree unless a test says so.
runtime_options final_root();

/// When `h` last reached `status` according to its history.
clock::time_point last_time_of(const process_handle& h,
                               core::process_status status);

}  // namespace vitrine::test
