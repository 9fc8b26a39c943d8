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
#include <CLI/CLI.hpp>

#include <iostream>

#include "client_subcommands.hpp"
#include "commands.hpp"
#include "node_commands.hpp"
#include "regular_file.hpp"
#include "render.hpp"
#include "runner_subcommands.hpp"
#include "status.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

int status_command(const std::string& file, bool raw) {
  // A status file of 100,000 programs is about 25 MB.
  constexpr std::uint64_t max_status_bytes = std::uint64_t{1} << 30;
  std::string text;
  std::string error = read_regular_file(file, max_status_bytes, text);
  if (!error.empty()) {
    std::cerr << "vitrine: " << terminal_safe(file) << ": "
              << terminal_safe(error) << " (is `vitrine run --json-status "
              << terminal_safe(file) << "` running?)\n";
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

namespace {

/// The names of `app`'s subcommands, "a, b, c".
std::string subcommand_names(const CLI::App& app) {
  std::string names;
  for (const auto* sub :
       app.get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

/// "unknown command 'frobnicate' (one of run, check, ...)" when the first
/// argument is neither an option nor a subcommand of `app`, "unknown ctl
/// command 'x' (one of start, ...)" for the word after a command that takes
/// a command of its own, else "". CLI11 would only say that a subcommand
/// is required.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  const CLI::App* command = nullptr;
  for (const auto* sub :
       app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[1]) command = sub;
  if (command == nullptr) {
    std::string names = subcommand_names(app);
    for (const auto name : vitrine::cli::remote_only_commands)
      names.append(", ").append(name);
    return "unknown command '" + vitrine::cli::terminal_safe(argv[1]) +
           "' (one of " + names + ")";
  }
  if (command->get_require_subcommand_min() == 0 || argc < 3 ||
      argv[2][0] == '-')
    return {};
  for (const auto* sub :
       command->get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[2]) return {};
  return "unknown " + command->get_name() + " command '" +
         vitrine::cli::terminal_safe(argv[2]) + "' (one of " +
         subcommand_names(*command) + ")";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vitrine::cli;
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
  if (auto error = unknown_command(app, argc, argv); !error.empty()) {
    std::cerr << error << "\nRun with --help for more information.\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (runner.parsed()) return exec_runner(argv);
    if (clients.parsed()) return clients.run();
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
