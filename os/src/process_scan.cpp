#include "vitrine/os/process_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

namespace {

std::optional<pid_t> parse_pid(std::string_view s) {
  pid_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return value;
}

// Calls fn(number) for every numeric entry of `dir`, skipping the fd of
// the DIR stream itself.
template <class F>
void for_each_number(const char* dir, F&& fn) {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return;
  const int own = ::dirfd(d);
  while (dirent* entry = ::readdir(d)) {
    auto n = parse_pid(entry->d_name);
    if (n && *n != own) fn(*n);
  }
  ::closedir(d);
}

// Same, but does not skip anything (for /proc and /proc/<pid>/task, where
// numbers are pids and tids).
template <class F>
void for_each_pid(F&& fn, const char* dir = "/proc") {
  DIR* d = ::opendir(dir);
  if (d == nullptr) return;
  while (dirent* entry = ::readdir(d)) {
    if (auto n = parse_pid(entry->d_name)) fn(*n);
  }
  ::closedir(d);
}

template <class Pred>
std::vector<proc_entry> scan(Pred&& keep) {
  std::vector<proc_entry> result;
  for_each_pid([&](pid_t pid) {
    if (auto e = read_proc_entry(pid); e && keep(*e)) result.push_back(*e);
  });
  return result;
}

/// Appends the pids listed in `path` (space-separated), if it opens.
void append_pids_from(const char* path, std::vector<pid_t>& out) {
  unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    pid_t pid = 0;
    auto [next, ec] = std::from_chars(p, end, pid);
    if (ec != std::errc{}) break;
    out.push_back(pid);
    p = next;
  }
}

}  // namespace

bool kernel_lists_children() {
  static const bool yes = [] {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/children",
                  static_cast<int>(::gettid()));
    return ::access(path, R_OK) == 0;
  }();
  return yes;
}

std::vector<pid_t> child_pids(pid_t parent) {
  // Our own through /proc/self: right even where /proc belongs to another
  // pid namespace than ours.
  char process[32] = "self";
  if (parent != ::getpid())
    std::snprintf(process, sizeof process, "%d", static_cast<int>(parent));
  std::vector<pid_t> pids;
  char dir[64];
  std::snprintf(dir, sizeof dir, "/proc/%s/task", process);
  for_each_pid(
      [&](pid_t tid) {
        char path[96];
        std::snprintf(path, sizeof path, "/proc/%s/task/%d/children", process,
                      static_cast<int>(tid));
        append_pids_from(path, pids);
      },
      dir);
  return pids;
}

std::optional<proc_entry> read_proc_entry(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[512];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<std::size_t>(n));
  // "pid (comm) S ppid pgrp ...": comm may hold spaces and ')'.
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) {
    return std::nullopt;
  }
  proc_entry e;
  e.pid = pid;
  text.remove_prefix(close + 2);
  e.state = text.front();
  int ppid = 0, pgrp = 0;
  std::string rest(text.substr(1));
  if (std::sscanf(rest.c_str(), " %d %d", &ppid, &pgrp) != 2) {
    return std::nullopt;
  }
  e.ppid = ppid;
  e.pgrp = pgrp;
  return e;
}

std::vector<proc_entry> children_of(pid_t parent) {
  if (!kernel_lists_children())
    return scan([parent](const proc_entry& e) { return e.ppid == parent; });
  std::vector<proc_entry> found;
  for (const pid_t pid : child_pids(parent))
    if (auto e = read_proc_entry(pid); e && e->ppid == parent)
      found.push_back(*e);
  return found;
}

std::vector<proc_entry> descendants_of(pid_t root) {
  std::vector<proc_entry> found;
  if (!kernel_lists_children()) {
    std::vector<proc_entry> all = scan([](const proc_entry&) { return true; });
    std::unordered_multimap<pid_t, const proc_entry*> by_parent;
    for (const auto& e : all) by_parent.emplace(e.ppid, &e);
    std::vector<pid_t> frontier{root};
    while (!frontier.empty()) {
      const pid_t parent = frontier.back();
      frontier.pop_back();
      auto [begin, end] = by_parent.equal_range(parent);
      for (auto it = begin; it != end; ++it) {
        if (it->second->pid == root) continue;
        found.push_back(*it->second);
        frontier.push_back(it->second->pid);
      }
    }
    return found;
  }
  // Walk down from root: O(descendants), not O(processes). A pid seen
  // twice (reused while we walk) is not followed again.
  std::unordered_set<pid_t> seen{root};
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& child : children_of(parent)) {
      if (!seen.insert(child.pid).second) continue;
      found.push_back(child);
      frontier.push_back(child.pid);
    }
  }
  return found;
}

std::vector<proc_entry> processes_in_group(pid_t pgid) {
  return scan([pgid](const proc_entry& e) { return e.pgrp == pgid; });
}

bool is_zombie(pid_t pid) {
  auto e = read_proc_entry(pid);
  return e && is_zombie(*e);
}

bool is_alive(pid_t pid) {
  auto e = read_proc_entry(pid);
  return e && !is_zombie(*e) && e->state != 'X';
}

std::vector<int> open_fds() {
  std::vector<int> fds;
  for_each_number("/proc/self/fd", [&](int fd) { fds.push_back(fd); });
  return fds;
}

std::size_t count_open_fds() {
  std::size_t count = 0;
  for_each_number("/proc/self/fd", [&](int) { ++count; });
  return count;
}

}  // namespace vitrine::os
