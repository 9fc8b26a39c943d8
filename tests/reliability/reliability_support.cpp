#include "reliability_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <sstream>
#include <thread>

#include "support/files.hpp"

namespace vitrine::reliability {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

std::optional<proc_info> read_stat(pid_t pid) {
  const auto text = test::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (text.empty()) return std::nullopt;
  // "pid (comm) S ppid pgrp ..."; comm may hold spaces and parentheses.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {};
  proc_info p;
  p.pid = pid;
  p.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest{text.substr(close + 1)};
  rest >> p.state >> p.ppid >> p.pgrp;
  if (!rest) return std::nullopt;
  return p;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && pid > 0)
      pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

}  // namespace

unsigned stress_scale() {
  const char* text = std::getenv("VITRINE_STRESS_SCALE");
  if (text == nullptr) return 1;
  const long value = std::strtol(text, nullptr, 10);
  return value > 0 ? static_cast<unsigned>(value) : 1;
}

seconds scaled_seconds(const char* env, seconds fallback, seconds floor) {
  seconds value = fallback;
  if (const char* text = std::getenv(env)) {
    const long n = std::strtol(text, nullptr, 10);
    if (n > 0) value = seconds{n};
  }
  value /= stress_scale();
  return value < floor ? floor : value;
}

bool heap_measurable() {
  return !sanitized;
}

std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

std::vector<proc_info> all_processes() {
  std::vector<proc_info> out;
  for (pid_t pid : all_pids())
    if (auto p = read_stat(pid)) out.push_back(std::move(*p));
  return out;
}

std::string describe(const proc_info& p) {
  std::ostringstream out;
  out << "pid " << p.pid << " (" << p.comm << ") state " << p.state << " ppid "
      << p.ppid << " pgrp " << p.pgrp;
  return out.str();
}

std::vector<proc_info> leftovers(const std::unordered_set<pid_t>& our_groups) {
  const pid_t self = ::getpid();
  std::vector<proc_info> out;
  for (const auto& p : all_processes()) {
    if (p.pid == self) continue;
    // The runtime's guardian process (os/guardian.hpp) is a child by design.
    if (p.ppid == self && p.comm == "vitrine-guard") continue;
    if (p.ppid == self) {
      out.push_back(p);
      continue;
    }
    if (p.state == 'Z' || our_groups.count(p.pgrp) == 0) continue;
    // A member of a group whose number we used. Ours only if the number
    // has not been reused by a stranger's group leader (see the header).
    const auto leader = read_stat(p.pgrp);
    const bool reused = leader && leader->state != 'Z' && leader->ppid != self;
    if (!reused) out.push_back(p);
  }
  return out;
}

std::vector<proc_info> processes_with_env(const std::string& needle) {
  const pid_t self = ::getpid();
  std::vector<proc_info> out;
  for (pid_t pid : all_pids()) {
    if (pid == self) continue;
    const auto env =
        test::read_file("/proc/" + std::to_string(pid) + "/environ");
    if (env.empty()) continue;
    // NUL-separated "KEY=value" entries.
    std::size_t begin = 0;
    bool found = false;
    while (begin < env.size() && !found) {
      std::size_t end = env.find('\0', begin);
      if (end == std::string::npos) end = env.size();
      found = env.compare(begin, end - begin, needle) == 0;
      begin = end + 1;
    }
    if (!found) continue;
    auto p = read_stat(pid);
    if (p && p->state != 'Z') out.push_back(std::move(*p));
  }
  return out;
}

int run_in_child(const std::function<int()>& body, ms limit) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -2;
  if (pid == 0) {
    int code = 120;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "run_in_child: exception: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "run_in_child: unknown exception\n");
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -3;
    }
    if (r < 0 && errno != EINTR) return -4;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return -1;
    }
    std::this_thread::sleep_for(ms{5});
  }
}

}  // namespace vitrine::reliability
