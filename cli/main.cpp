// vitrine: supervise the programs a TOML file describes (docs/cli.md).
//
//   vitrine run FILE.toml [--plain] [--json-status PATH]
//   vitrine check FILE.toml
//   vitrine status [NAME...] [--state-dir DIR] [--json] | --file PATH [--json]
//   vitrine ctl start|stop|restart NAME... [--state-dir DIR] [--no-wait]
//               [--timeout S] | ctl signal SIG NAME... [--state-dir DIR]
//   vitrine reload [--state-dir DIR]
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "config.hpp"
#include "render.hpp"
#include "status.hpp"

namespace vitrine::cli {

int check_command(const std::string& file) {
  const auto result = load_config_file(file);
  for (const auto& problem : result.problems)
    std::cerr << to_string(problem) << "\n";
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
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    std::cerr << "vitrine: cannot open " << file
              << " (is `vitrine run --json-status " << file << "` running?)\n";
    return 1;
  }
  const std::string text{std::istreambuf_iterator<char>{in}, {}};
  std::string error;
  const auto rows = rows_from_json(text, error);
  if (!rows) {
    std::cerr << "vitrine: " << file << ": " << error << "\n";
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
  CLI::App app{"vitrine: supervise OS processes described in a TOML file"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vitrine 0.1.0");

  run_options run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "supervise the programs of FILE in the foreground until "
      "SIGINT/SIGTERM/SIGHUP/SIGQUIT");
  run_cmd->add_option("file", run.file, "configuration (TOML)")->required();
  run_cmd->add_flag("--plain", run.plain,
                    "print one line per change instead of a live table");
  run_cmd->add_option("--json-status", run.json_status,
                      "keep PATH rewritten (atomically) with a JSON array of "
                      "process states");
  run_cmd->add_option("--state-dir", run.state_dir,
                      "state directory (status table, control socket); "
                      "default $XDG_RUNTIME_DIR/vitrine/NAME");

  std::string check_file;
  auto* check_cmd =
      app.add_subcommand("check", "validate FILE and report every problem");
  check_cmd->add_option("file", check_file, "configuration (TOML)")->required();

  std::string status_file;
  table_status_options status;
  auto* status_cmd = app.add_subcommand(
      "status", "show the states a running `vitrine run` publishes");
  status_cmd->add_option("names", status.names,
                         "processes or supervisors (default: all)");
  status_cmd->add_option("--state-dir", status.state_dir, "state directory");
  status_cmd->add_flag("--json", status.json, "print JSON");
  status_cmd
      ->add_option("--file", status_file,
                   "read the file written by `run --json-status` instead")
      ->excludes("names")
      ->excludes("--state-dir");

  ctl_options ctl;
  auto* ctl_cmd = app.add_subcommand(
      "ctl",
      "start, stop, restart or signal programs of a running `vitrine run`");
  ctl_cmd->require_subcommand(1);
  for (const char* verb : {"start", "stop", "restart", "signal"}) {
    auto* sub = ctl_cmd->add_subcommand(
        verb, std::string{verb} + " processes or supervisors");
    if (std::string_view{verb} == "signal")
      sub->add_option("signal", ctl.signal, "TERM, SIGUSR1, 10...")->required();
    sub->add_option("names", ctl.names, "processes or supervisors")->required();
    sub->add_option("--state-dir", ctl.state_dir, "state directory");
    if (std::string_view{verb} != "signal") {
      sub->add_flag("--no-wait", ctl.no_wait,
                    "return once the command is sent");
      sub->add_option("--timeout", ctl.timeout_s,
                      "seconds to wait for the effect (default 30)");
    }
    sub->final_callback([&ctl, verb] { ctl.command = verb; });
  }
  auto* reload_cmd = app.add_subcommand(
      "reload", "have a running `vitrine run` re-read its file");
  reload_cmd->add_option("--state-dir", ctl.state_dir, "state directory");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (*run_cmd) return run_command(run);
    if (*check_cmd) return check_command(check_file);
    if (*status_cmd && !status_file.empty())
      return status_command(status_file, status.json);
    if (*status_cmd) return table_status_command(status);
    if (*ctl_cmd) return ctl_command(ctl);
    if (*reload_cmd) {
      ctl.command = "reload";
      return ctl_command(ctl);
    }
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
