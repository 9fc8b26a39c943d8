#include "support/leftovers.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "support/files.hpp"

namespace vitrine::test {

namespace {

using clock = std::chrono::steady_clock;

// Gone (unreadable) counts as a zombie: in either case it is not alive.
bool is_zombie(const char* pid) {
  const std::string text = read_file(std::string("/proc/") + pid + "/stat");
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
    const std::string cmdline =
        read_file(std::string("/proc/") + entry->d_name + "/cmdline");
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
