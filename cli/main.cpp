// vitrine: supervise the programs a TOML file describes (docs/cli.md).
// `run`, `check` and `logs` exec vitrine-run (the half that links CAF and
// toml++); the other commands run here, loading neither.
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
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "client_subcommands.hpp"
#include "commands.hpp"
#include "node_commands.hpp"
#include "regular_file.hpp"
#include "render.hpp"
#include "runner_subcommands.hpp"
#include "standard_fds.hpp"
#include "status.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"
#include "unknown_command.hpp"

namespace vitrine::cli {

int status_command(const std::string& file, bool raw) {
  // A status file of 100,000 programs is about 25 MB.
  constexpr std::uint64_t max_status_bytes = std::uint64_t{1} << 30;
  std::string text;
  std::string error = read_regular_file(file, max_status_bytes, text);
  if (!error.empty()) {
    std::cerr << "vitrine: " << terminal_safe(file) << ": "
              << terminal_safe(error);
    // Missing: perhaps no run writes it (yet); anything else is no hint.
    if (::access(file.c_str(), F_OK) != 0)
      std::cerr << " (is `vitrine run --json-status " << terminal_safe(file)
                << "` running?)";
    std::cerr << "\n";
    return 1;
  }
  const auto rows = rows_from_json(text, error);
  if (!rows) {
    std::cerr << "vitrine: " << terminal_safe(file) << ": "
              << terminal_safe(error) << "\n";
    return 1;
  }
  if (raw) {
    std::cout << text;
  } else {
    if (const auto sups = supervisors_from_json(text, error))
      for (const auto& sup : *sups) std::cout << render_supervisor(sup) << "\n";
    std::cout << render_table(*rows, clock_pair::now().unix_ms());
  }
  return 0;
}

}  // namespace vitrine::cli

int main(int argc, char** argv) {
  using namespace vitrine::cli;
  if (!hold_standard_fds()) {
    std::cerr << "vitrine: cannot open /dev/null for a closed stdin, stdout "
                 "or stderr\n";
    return 1;
  }
  CLI::App app{"vitrine: supervise OS processes described in a TOML file"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vitrine 0.1.0");
  app.footer(
      "Remote nodes (docs/distribution.md): node, watch, status --node, ctl "
      "--node; each has --help.");

  // run, check and logs: checked here, run by vitrine-run.
  runner_subcommands runner{app};
  client_subcommands clients{app};  // status, ctl, reload

  if (is_remote_command(argc, argv)) return exec_runner(argv);
  if (auto error = unknown_command(app, argc, argv); !error.empty())
    return usage_error(error);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
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
