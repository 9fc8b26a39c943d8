#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include "vitrine/os/process_scan.hpp"

namespace vitrine::os::test {

const char* helper() {
  return VITRINE_CHILD_HELPER;
}

bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::function<void(termination)> exit_log::recorder(pid_t pid) {
  return [this, pid](termination s) {
    // Notify under the lock: a waiter may destroy the log right after.
    std::lock_guard<std::mutex> lock(mutex_);
    seen_[pid].push_back(s);
    ++total_;
    cv_.notify_all();
  };
}

std::optional<termination> exit_log::wait_for(pid_t pid) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, deadline, [&] { return !seen_[pid].empty(); })) {
    return std::nullopt;
  }
  return seen_[pid].front();
}

bool exit_log::wait_for_total(std::size_t n) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, 3 * deadline, [&] { return total_ >= n; });
}

std::size_t exit_log::count(pid_t pid) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = seen_.find(pid);
  return it == seen_.end() ? 0 : it->second.size();
}

std::size_t exit_log::total() {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

std::vector<termination> exit_log::all(pid_t pid) {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_[pid];
}

std::optional<std::string> read_file_when_present(const std::string& path) {
  if (!wait_until([&] { return std::filesystem::exists(path); })) {
    return std::nullopt;
  }
  return read_file(path);
}

std::map<std::string, std::string> read_report(const std::string& path) {
  std::map<std::string, std::string> result;
  auto text = read_file_when_present(path);
  REQUIRE(text);
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (line.rfind("env:", 0) == 0) eq = line.find('=', 4);
    if (eq == std::string::npos) continue;
    result[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return result;
}

launched_child launch_ok(const launch_options& options) {
  auto result = launch(options);
  if (auto* err = std::get_if<launch_error>(&result)) {
    FAIL("launch failed: " << err->what);
  }
  return std::move(std::get<launched_child>(result));
}

launch_options reporting_child(const temp_dir& dir) {
  launch_options o;
  o.argv = {helper(), "report", dir.file("r")};
  o.notify_fd = 7;
  o.stdout_target.mode = stdio_target::kind::capture;
  o.stderr_target = {stdio_target::kind::append_file, dir.file("err")};
  return o;
}

int launch_from_threads(io_service& io, exit_log& log, int threads,
                        int per_thread, const std::vector<std::string>& argv) {
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        launch_options o;
        o.argv = argv;
        o.death_signal = 0;  // these threads end before their children
        o.stdout_target.mode = stdio_target::kind::capture;
        auto r = launch(o);
        auto* child = std::get_if<launched_child>(&r);
        if (child == nullptr) {
          ++failures;
          continue;
        }
        io.capture(std::move(child->stdout_pipe), nullptr);
        io.watch_exit(*child, log.recorder(child->pid));
      }
    });
  }
  for (auto& t : pool) t.join();
  return failures;
}

// The shared /dev/null is the process's from its first launch on: counted
// before, not a leak of the test's launches.
leak_guard::leak_guard() : fds_((shared_dev_null(), count_open_fds())) {}

void leak_guard::check() const {
  bool fds_back = wait_until([&] { return count_open_fds() == fds_; });
  bool children_gone =
      wait_until([] { return children_of(::getpid()).empty(); });
  INFO("open fds now " << count_open_fds() << ", before " << fds_);
  CHECK(fds_back);
  for (const auto& c : children_of(::getpid())) {
    INFO("left-over child " << c.pid << " state " << c.state);
    CHECK(false);
  }
  CHECK(children_gone);
}

}  // namespace vitrine::os::test
