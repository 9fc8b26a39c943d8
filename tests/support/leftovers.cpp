#include "support/leftovers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

namespace vitrine::test {

namespace {

using clock = std::chrono::steady_clock;

// The whole of /proc/<pid>/<name>, or what could be read of it. A process
// that exits while we read makes read() fail (ESRCH): that is not an error
// here (std::ifstream would throw from its streambuf), it is a process gone.
std::string read_proc_file(const char* pid, const char* name) {
  const std::string path = std::string("/proc/") + pid + "/" + name;
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Gone (unreadable) counts as a zombie: in either case it is not alive.
bool is_zombie(const char* pid) {
  const std::string text = read_proc_file(pid, "stat");
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ||
         text[paren + 2] == 'Z' || text[paren + 2] == 'X';
}

}  // namespace

std::string unique_token() {
  std::random_device device;
  return std::to_string(::getpid()) + std::to_string(device() % 1000000);
}

std::vector<pid_t> processes_with(std::string_view token) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const std::string cmdline = read_proc_file(entry->d_name, "cmdline");
    if (cmdline.find(token) == std::string::npos) continue;
    if (!is_zombie(entry->d_name)) found.push_back(std::stoi(entry->d_name));
  }
  ::closedir(proc);
  return found;
}

bool at_least(std::string_view token, std::size_t n,
              std::chrono::milliseconds limit) {
  const auto deadline = clock::now() + limit;
  while (processes_with(token).size() < n) {
    if (clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

std::chrono::milliseconds time_until_none(std::string_view token,
                                          std::chrono::milliseconds limit) {
  const auto begin = clock::now();
  while (!processes_with(token).empty()) {
    if (clock::now() - begin > limit) return std::chrono::milliseconds{-1};
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() -
                                                               begin);
}

void kill_all_with(std::string_view token) {
  for (pid_t pid : processes_with(token)) ::kill(pid, SIGKILL);
}

}  // namespace vitrine::test
