#include "vitrine/core/signal_names.hpp"

#include <signal.h>

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

// "SIGRTMIN+n" names, built once (SIGRTMIN is only known at run time).
struct rt_names {
  std::array<std::array<char, 16>, 33> text{};
  rt_names() {
    for (std::size_t i = 0; i < text.size(); ++i)
      std::snprintf(text[i].data(), text[i].size(), "SIGRTMIN+%zu", i);
  }
};

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

}  // namespace vitrine::core
