// node_commands: the remote commands (docs/distribution.md), run by
// vitrine-run because they link CAF's middleman; `vitrine` execs vitrine-run
// for them (is_remote_command()):
//   vitrine node FILE.toml --listen HOST:PORT [--insecure | TLS] [run's
//       options: --plain, --json-status, --state-dir] (run_command())
//   vitrine status --node HOST:PORT [NAME...] [--json] [--timeout-ms N]
//       [TLS]
//   vitrine ctl --node HOST:PORT start|stop|restart NAME... [--timeout S]
//       [--timeout-ms N] [TLS]
//   vitrine ctl --node HOST:PORT signal SIG NAME... [--timeout-ms N] [TLS]
//   vitrine watch --node HOST:PORT [--node ...] [TLS] (watch_command.hpp)
// where TLS is --tls-cert F --tls-key F --tls-ca F (all three; this side's
// certificate and key, the CA the peer's certificate must chain to).
//
// Threads: main thread, before any other starts. Costs: an actor system
// with the middleman per invocation (status and ctl: one connection, one
// snapshot, then exit).
#pragma once

#include <array>
#include <string_view>

namespace vitrine::cli {

/// The commands that exist only as remote ones (for the list of commands
/// an unknown one is answered with).
inline constexpr std::array<std::string_view, 2> remote_only_commands{"node",
                                                                      "watch"};

/// True when argv names a command vitrine-run must run (node, watch, or
/// status / ctl with --node). Looks at argv only.
bool is_remote_command(int argc, char** argv);

/// Parses and runs one of them; the exit status (2: usage).
int remote_main(int argc, char** argv);

}  // namespace vitrine::cli
