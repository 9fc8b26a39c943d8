#include "vitrine/core/signal_names.hpp"

#include <signal.h>

#include <charconv>
#include <cstddef>
#include <cstdio>

namespace vitrine::core {

const std::array<named_signal, 31> standard_signals{{
    {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"},     {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},       {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"},     {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"},
    {SIGSTKFLT, "SIGSTKFLT"}, {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"},
    {SIGSTOP, "SIGSTOP"},     {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"},
    {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"},     {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"},
    {SIGWINCH, "SIGWINCH"},   {SIGIO, "SIGIO"},         {SIGPWR, "SIGPWR"},
    {SIGSYS, "SIGSYS"},
}};

namespace {

// The real-time signals' names as kill -l gives them: SIGRTMIN,
// SIGRTMIN+n, SIGRTMAX; built once (SIGRTMIN and SIGRTMAX are only known
// at run time).
struct rt_names {
  std::array<std::array<char, 16>, 33> text{};
  rt_names() {
    const auto last = static_cast<std::size_t>(SIGRTMAX - SIGRTMIN);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i == 0 || i == last)
        std::snprintf(text[i].data(), text[i].size(), "%s",
                      i == 0 ? "SIGRTMIN" : "SIGRTMAX");
      else
        std::snprintf(text[i].data(), text[i].size(), "SIGRTMIN+%zu", i);
    }
  }
};

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
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    return std::nullopt;
  return value;
}

}  // namespace

std::string_view signal_name(int sig) noexcept {
  for (const auto& s : standard_signals)
    if (s.number == sig) return s.name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    static const rt_names names;
    const auto index = static_cast<std::size_t>(sig - SIGRTMIN);
    if (index < names.text.size()) return names.text[index].data();
  }
  return {};
}

std::optional<int> signal_from_name(std::string_view name) noexcept {
  if (auto n = parse_int(name)) {
    if (*n >= 1 && *n <= SIGRTMAX) return *n;
    return std::nullopt;
  }
  if (name.size() > 3 && iequal(name.substr(0, 3), "SIG"))
    name.remove_prefix(3);
  for (const auto& s : standard_signals) {
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
  // kill(1) and bash also take RTMAX-n.
  if (name.size() > 6 && iequal(name.substr(0, 6), "RTMAX-")) {
    auto n = parse_int(name.substr(6));
    if (n && *n >= 0 && SIGRTMAX - *n >= SIGRTMIN) return SIGRTMAX - *n;
  }
  return std::nullopt;
}

}  // namespace vitrine::core
