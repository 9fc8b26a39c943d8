#include "vitrine/os/signals.hpp"

#include <signal.h>
#include "sys_pidfd.hpp"
#include "vitrine/os/process_scan.hpp"
#include "vitrine/os/unique_fd.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace vitrine::os {

namespace {

struct named_signal {
  int number;
  std::string_view name;  // without the "SIG" prefix
};

constexpr std::array<named_signal, 31> standard_signals{{
    {SIGHUP, "HUP"},       {SIGINT, "INT"},       {SIGQUIT, "QUIT"},
    {SIGILL, "ILL"},       {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"},
    {SIGBUS, "BUS"},       {SIGFPE, "FPE"},       {SIGKILL, "KILL"},
    {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"},     {SIGCONT, "CONT"},
    {SIGSTOP, "STOP"},     {SIGTSTP, "TSTP"},     {SIGTTIN, "TTIN"},
    {SIGTTOU, "TTOU"},     {SIGURG, "URG"},       {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},     {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},
    {SIGWINCH, "WINCH"},   {SIGIO, "IO"},         {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
}};

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

// "SIGRTMIN+n" names, built once (SIGRTMIN is only known at run time).
struct rt_names {
  std::array<std::array<char, 16>, 33> text{};
  rt_names() {
    for (std::size_t i = 0; i < text.size(); ++i) {
      std::snprintf(text[i].data(), text[i].size(), "SIGRTMIN+%zu", i);
    }
  }
};

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
  for (const auto& s : standard_signals) {
    if (iequal(name, s.name)) return s.number;
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
  static constexpr std::array<std::string_view, 31> full{
      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",
      "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",
      "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
      "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU",   "SIGURG",  "SIGXCPU",
      "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",   "SIGPWR",
      "SIGSYS"};
  for (std::size_t i = 0; i < standard_signals.size(); ++i) {
    if (standard_signals[i].number == sig) return full[i];
  }
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    static const rt_names names;
    auto index = static_cast<std::size_t>(sig - SIGRTMIN);
    if (index < names.text.size()) return names.text[index].data();
  }
  return {};
}

}  // namespace vitrine::os
