// vitrine: supervise the programs a TOML file describes (docs/cli.md).
// `run` execs vitrine-run (the half that links CAF); the other commands
// run here, without loading CAF.
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
#include "config.hpp"
#include "logs_command.hpp"
#include "node_commands.hpp"
#include "regular_file.hpp"
#include "render.hpp"
#include "run_subcommand.hpp"
#include "status.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

int check_command(const std::string& file) {
  const auto result = load_config_file(file);
  for (const auto& problem : result.problems)
    std::cerr << describe(problem) << "\n";
  if (!result.ok()) {
    std::cerr << result.problems.size()
              << (result.problems.size() == 1 ? " problem\n" : " problems\n");
    return 1;
  }
  std::cout << "ok: " << result.value.program_count
            << (result.value.program_count == 1 ? " program" : " programs");
  if (result.value.group_count)
    std::cout << " in " << result.value.group_count + 1 << " supervisors";
  std::cout << "\n";
  return 0;
}

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

/// "unknown command 'frobnicate' (one of run, check, ...)" when the first
/// argument is neither an option nor a subcommand of `app`, else "".
/// CLI11 would only say that a subcommand is required.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  std::string names;
  for (const auto* sub :
       app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return {};
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return "unknown command '" + vitrine::cli::terminal_safe(argv[1]) +
         "' (one of " + names + ")";
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

  run_options run;  // checked here, run by vitrine-run (run_subcommand.hpp)
  auto* run_cmd = add_run_subcommand(app, run);

  std::string check_file;
  auto* check_cmd =
      app.add_subcommand("check", "validate FILE and report every problem");
  check_cmd->add_option("file", check_file, "configuration (TOML)")->required();

  client_subcommands clients{app};  // status, ctl, reload

  logs_options logs;
  auto* logs_cmd = app.add_subcommand(
      "logs", "show the captured output of program NAME of a running vitrine");
  logs_cmd->add_option("name", logs.name, "program name")->required();
  logs_cmd->add_flag("-f,--follow", logs.follow,
                     "keep printing what it writes (across rotation) until "
                     "Ctrl-C");
  logs_cmd->add_option("-n,--lines", logs.lines, "print the last N lines")
      ->capture_default_str();
  logs_cmd
      ->add_option("--state-dir", logs.state_dir,
                   "the run's state directory (default: the only one under "
                   "$XDG_RUNTIME_DIR/vitrine)")
      ->check(non_empty_path);

  if (is_remote_command(argc, argv)) return exec_run(argv);
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
    if (*run_cmd) return exec_run(argv);
    if (*check_cmd) return check_command(check_file);
    if (clients.parsed()) return clients.run();
    if (*logs_cmd) return logs_command(logs);
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
