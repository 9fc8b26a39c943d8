// run_queue_wait: how long some processes' threads were runnable but not
// running (waiting for a CPU), from the kernel's per-thread schedstat
// (/proc/PID/task/TID/schedstat, second field: run_delay in ns; needs
// CONFIG_SCHED_INFO). Benchmark support: remote_bench.cpp reads it after
// each propagation sample to measure, in the same run, how much of a slow
// sample was spent queued behind other work.
//
// Threads: one owner thread. Costs: one open file per thread, kept; a
// total() is one pread and a parse per thread (a few microseconds for the
// ~20 threads of a node and a controller). Threads created after the
// constructor are not counted.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

namespace vitrine::bench {

class run_queue_wait {
 public:
  /// Opens the schedstat of every thread the processes `pids` have now.
  explicit run_queue_wait(std::initializer_list<pid_t> pids) {
    for (const pid_t pid : pids) {
      const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
      DIR* dir = ::opendir(tasks.c_str());
      if (dir == nullptr) continue;
      while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        std::string path = tasks;
        path += '/';
        path += entry->d_name;
        path += "/schedstat";
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) fds_.push_back(fd);
      }
      ::closedir(dir);
    }
  }
  ~run_queue_wait() {
    for (const int fd : fds_) ::close(fd);
  }
  run_queue_wait(const run_queue_wait&) = delete;
  run_queue_wait& operator=(const run_queue_wait&) = delete;

  /// Whether any thread's schedstat could be opened.
  bool available() const noexcept { return !fds_.empty(); }

  /// The threads' run_delay, summed, in ns (a thread that has exited since
  /// counts nothing).
  std::uint64_t total_ns() const {
    std::uint64_t sum = 0;
    char text[96];
    for (const int fd : fds_) {
      const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
      if (n <= 0) continue;
      text[n] = '\0';
      char* end = nullptr;
      std::strtoull(text, &end, 10);  // time spent running
      sum += std::strtoull(end, nullptr, 10);
    }
    return sum;
  }

 private:
  std::vector<int> fds_;
};

}  // namespace vitrine::bench
