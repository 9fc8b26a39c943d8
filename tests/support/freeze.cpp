#include "support/freeze.hpp"

#include <dirent.h>
#include <signal.h>

#include <memory>
#include <string>
#include <thread>

#include "support/files.hpp"

namespace vitrine::test {
namespace {

/// Whether every thread of `pid` is stopped; false when it is gone.
bool all_threads_stopped(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  const std::unique_ptr<DIR, int (*)(DIR*)> dir{::opendir(tasks.c_str()),
                                                ::closedir};
  if (!dir) return false;
  bool any = false;
  while (const dirent* entry = ::readdir(dir.get())) {
    if (entry->d_name[0] == '.') continue;
    const auto stat = read_file(tasks + "/" + entry->d_name + "/stat");
    const auto paren = stat.rfind(')');
    // A thread that just exited has no stat left: it need not stop.
    if (paren == std::string::npos) continue;
    if (paren + 2 >= stat.size() || stat[paren + 2] != 'T') return false;
    any = true;
  }
  return any;
}

}  // namespace

bool freeze(pid_t pid, std::chrono::milliseconds limit) {
  if (::kill(pid, SIGSTOP) != 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!all_threads_stopped(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

}  // namespace vitrine::test
