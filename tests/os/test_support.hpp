// Helpers shared by the OS tests: deadlines, an exit recorder, temp dirs,
// leak checks. Test-only; not part of vitrine_os.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vitrine/core/termination.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/os/launch.hpp"

#include "support/files.hpp"

namespace vitrine::os::test {

using namespace std::chrono_literals;
using vitrine::core::termination;

inline constexpr auto deadline = std::chrono::seconds(10);

/// Path of the child_helper program.
const char* helper();

/// Polls pred every millisecond until it holds or `limit` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = deadline);

/// Records exit statuses per pid; record() may be called from any thread.
class exit_log {
 public:
  std::function<void(termination)> recorder(pid_t pid);
  /// Waits (up to the deadline) for the first status of pid.
  std::optional<termination> wait_for(pid_t pid);
  /// Waits until `n` statuses are recorded in total.
  bool wait_for_total(std::size_t n);
  std::size_t count(pid_t pid);
  std::size_t total();
  std::vector<termination> all(pid_t pid);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<pid_t, std::vector<termination>> seen_;
  std::size_t total_ = 0;
};

using vitrine::test::file_size;
using vitrine::test::read_file;
using vitrine::test::temp_dir;

std::optional<std::string> read_file_when_present(const std::string& path);
/// key=value lines of a child_helper report.
std::map<std::string, std::string> read_report(const std::string& path);

/// Launches and REQUIREs success.
launched_child launch_ok(const launch_options& options);

/// A child that writes a child_helper report (its fds, signals ...) to
/// dir/r, with every kind of fd handed to it: notify fd 7, stdout captured,
/// stderr appended to dir/err.
launch_options reporting_child(const temp_dir& dir);

/// `threads` threads each launch `per_thread` children running `argv`
/// (stdout captured, no death signal: the threads end first), handing
/// each to `io` with `log` recording its exit. Returns the failed launches.
int launch_from_threads(io_service& io, exit_log& log, int threads,
                        int per_thread, const std::vector<std::string>& argv);

/// Remembers the open fd count; check() waits until it is back and every
/// child of this process is gone (no zombie, no running child), then CHECKs.
class leak_guard {
 public:
  leak_guard();
  void check() const;

 private:
  std::size_t fds_;
};

}  // namespace vitrine::os::test
