// vitrine-cli: every `vitrine` command line, parsed with CLI11 (help,
// usage errors). The `vitrine` front (main.cpp) execs it for every command
// line but a plain `status`; `run`, `check`, `logs` and the remote commands
// are checked here, then run by vitrine-run (the half that links CAF and
// toml++); `status`, `ctl` and `reload` run here, loading neither
// (docs/cli.md, "Binaries").
//
//   vitrine run FILE.toml [--plain] [--json-status PATH]
//   vitrine check FILE.toml
//   vitrine status [NAME...] [--state-dir DIR] [--json] | --file PATH [--json]
//   vitrine ctl start|stop|restart NAME... | ctl signal SIG NAME...
//   vitrine reload
//   vitrine logs NAME [-f] [-n N] [--state-dir DIR]
//   vitrine node FILE.toml --listen HOST:PORT [--insecure | --tls-*]
//       (vitrine-run)
//   vitrine status|ctl --node HOST:PORT [--tls-*] ... (vitrine-run;
//       node_commands.hpp)
//   vitrine watch --node HOST:PORT... [--tls-*] (vitrine-run;
//       watch_command.hpp)
#include <CLI/CLI.hpp>

#include <iostream>

#include "client_subcommands.hpp"
#include "node_commands.hpp"
#include "runner_subcommands.hpp"
#include "standard_fds.hpp"
#include "stdout_check.hpp"

int main(int argc, char** argv) {
  using namespace vitrine::cli;
  if (!hold_standard_fds()) return 1;
  CLI::App app{"vitrine: supervise OS processes described in a TOML file"};
  app.require_subcommand(1);
  refuse_flag_values(app);
  add_version_flag(app);
  app.footer(
      "Remote nodes (docs/distribution.md): node, watch, status --node, ctl "
      "--node; each has --help.");

  // run, check and logs: checked here, run by vitrine-run.
  runner_subcommands runner{app};
  client_subcommands clients{app};  // status, ctl, reload

  if (is_remote_command(argc, argv)) return exec_runner(argv);
  if (const auto code = parse_command_line(app, argc, argv)) return *code;
  try {
    if (runner.parsed()) return exec_runner(argv);
    if (clients.parsed())
      return finish_stdout(app.get_subcommands().front()->get_name(),
                           clients.run());
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
