#include "vitrine/os/signals.hpp"

#include <signal.h>
#include "sys_pidfd.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/unique_fd.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace vitrine::os {

namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::optional<int> parse_int(std::string_view s) noexcept {
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

int signal_group(pid_t pgid, int sig) noexcept {
  if (pgid <= 1) return EINVAL;
  return ::kill(-pgid, sig) == 0 ? 0 : errno;
}

int signal_pidfd(int pidfd, int sig) noexcept {
  return ::pidfd_send_signal(pidfd, sig, nullptr, 0) == 0 ? 0 : errno;
}

int signal_leader_group(int leader_pidfd, pid_t pgid, int sig) noexcept {
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
  constexpr unsigned int PIDFD_SIGNAL_PROCESS_GROUP = 1u << 2;  // Linux 6.9
#endif
  if (::pidfd_send_signal(leader_pidfd, sig, nullptr,
                          PIDFD_SIGNAL_PROCESS_GROUP) == 0)
    return 0;
  if (errno != EINVAL) return errno;
  // Older kernel: the caller guarantees the leader is not reaped yet, so
  // the group id cannot have been reused.
  return signal_group(pgid, sig);
}

std::size_t signal_escaped_descendants(pid_t leader, int sig) {
  std::size_t signalled = 0;
  for (const auto& d : descendants_of(leader)) {
    if (d.pgrp == leader || is_zombie(d)) continue;
    unique_fd fd{static_cast<int>(::pidfd_open(d.pid, 0))};
    if (!fd) continue;
    // Still the process we scanned: same pid with the same parent now that
    // the pidfd pins it.
    const auto now = read_proc_entry(d.pid);
    if (!now || now->ppid != d.ppid) continue;
    if (signal_pidfd(fd.get(), sig) == 0) ++signalled;
  }
  return signalled;
}

std::optional<int> signal_from_name(std::string_view name) noexcept {
  if (auto n = parse_int(name)) {
    if (*n >= 1 && *n <= SIGRTMAX) return *n;
    return std::nullopt;
  }
  if (name.size() > 3 && iequal(name.substr(0, 3), "SIG"))
    name.remove_prefix(3);
  for (const auto& s : core::standard_signals) {
    if (iequal(name, s.name.substr(3))) return s.number;
  }
  if (iequal(name, "IOT")) return SIGABRT;
  if (iequal(name, "POLL")) return SIGIO;
  if (iequal(name, "RTMIN")) return SIGRTMIN;
  if (iequal(name, "RTMAX")) return SIGRTMAX;
  if (name.size() > 6 && iequal(name.substr(0, 6), "RTMIN+")) {
    auto n = parse_int(name.substr(6));
    if (n && *n >= 0 && SIGRTMIN + *n <= SIGRTMAX) return SIGRTMIN + *n;
  }
  return std::nullopt;
}

std::string_view signal_name(int sig) noexcept {
  return core::signal_name(sig);
}

}  // namespace vitrine::os
