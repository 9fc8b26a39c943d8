#include "raw_spawn.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vitrine::bench {
namespace {

using clock = std::chrono::steady_clock;

pid_t spawn_sleep() {
  char arg0[] = "/bin/sleep";
  char arg1[] = "1000000";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, arg0, nullptr, nullptr, argv, environ) != 0)
    throw std::runtime_error("raw_spawn: posix_spawn failed");
  return pid;
}

int pidfd_of(pid_t pid) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) throw std::runtime_error("raw_spawn: pidfd_open failed");
  return fd;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

double raw_start_all(std::size_t count, unsigned threads) {
  std::vector<std::vector<pid_t>> pids(threads);
  std::vector<std::thread> workers;
  const auto begin = clock::now();
  for (unsigned t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      const std::size_t share = count / threads + (t < count % threads);
      pids[t].reserve(share);
      for (std::size_t i = 0; i < share; ++i) pids[t].push_back(spawn_sleep());
    });
  for (auto& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(clock::now() - begin).count();
  for (auto& some : pids)
    for (const pid_t pid : some) kill_and_reap(pid);
  return seconds;
}

std::vector<double> raw_restart_latencies(std::size_t samples,
                                          std::size_t children,
                                          std::chrono::milliseconds settle) {
  std::vector<pid_t> pids;
  pids.reserve(children);
  for (std::size_t i = 0; i < children; ++i) pids.push_back(spawn_sleep());
  std::this_thread::sleep_for(settle);
  std::vector<double> out;
  out.reserve(samples);
  for (std::size_t k = 0; k < samples; ++k) {
    pid_t& pid = pids[restart_victim(k, children)];
    const int pidfd = pidfd_of(pid);
    const auto t0 = clock::now();
    ::kill(pid, SIGKILL);
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    siginfo_t info{};
    ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED);
    ::close(pidfd);
    pid = spawn_sleep();
    out.push_back(
        std::chrono::duration<double, std::micro>(clock::now() - t0).count());
    std::this_thread::sleep_for(settle);
  }
  for (const pid_t pid : pids) kill_and_reap(pid);
  return out;
}

}  // namespace vitrine::bench
