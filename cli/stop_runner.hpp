// stop_runner: carries out the stop of a `vitrine run` once, on a thread
// of its own, so that the signal loop still hears a second stop signal
// meanwhile; when no thread can be had (out of processes: `ulimit -u`, a
// pids cgroup limit), on the caller's thread, so that the stop happens all
// the same (an outside tester found the run aborting there, its programs
// left to the guardian).
//
// Threads: begin(), begun() and join() from the signal loop's thread only.
// Cost: one thread per run.
#pragma once

#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace vitrine::cli {

class stop_runner {
 public:
  explicit stop_runner(std::function<void()> stop) : stop_(std::move(stop)) {}
  stop_runner(const stop_runner&) = delete;
  stop_runner& operator=(const stop_runner&) = delete;
  ~stop_runner() { join(); }

  /// Begins the stop unless it began already. `note` is told when it runs
  /// on this thread (and so returns only once the stop is done).
  void begin(const std::function<void(const std::string&)>& note) {
    if (begun_) return;
    begun_ = true;
    try {
      thread_ = std::thread{stop_};
    } catch (const std::system_error& e) {
      note("could not start a thread for the stop (" + e.code().message() +
           "): stopping on the signal thread; a second stop signal is heard "
           "once the stop is done");
      stop_();
    }
  }
  bool begun() const noexcept { return begun_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::function<void()> stop_;
  std::thread thread_;
  bool begun_ = false;
};

}  // namespace vitrine::cli
