// vitrine: supervise the programs a TOML file describes (docs/cli.md).
//
//   vitrine run FILE.toml [--plain] [--json-status PATH]
//   vitrine check FILE.toml
//   vitrine status PATH [--json]
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.hpp"
#include "config.hpp"
#include "render.hpp"
#include "status.hpp"
#include "text_escape.hpp"

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
    std::cerr << "vitrine: cannot open " << terminal_safe(file)
              << " (is `vitrine run --json-status " << terminal_safe(file)
              << "` running?)\n";
    return 1;
  }
  const std::string text{std::istreambuf_iterator<char>{in}, {}};
  std::string error;
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

/// CLI11 validator: "" is not a path (`--json-status ""`).
std::string non_empty_path(const std::string& value) {
  return value.empty() ? "the path must not be empty" : "";
}

}  // namespace

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
  run_cmd
      ->add_option("--json-status", run.json_status,
                   "keep PATH rewritten (atomically) with a JSON array of "
                   "process states")
      ->check(non_empty_path);

  std::string check_file;
  auto* check_cmd =
      app.add_subcommand("check", "validate FILE and report every problem");
  check_cmd->add_option("file", check_file, "configuration (TOML)")->required();

  std::string status_file;
  bool raw = false;
  auto* status_cmd = app.add_subcommand(
      "status", "show the status file written by `run --json-status`");
  status_cmd->add_option("file", status_file, "status file (JSON)")->required();
  status_cmd->add_flag("--json", raw, "print the JSON as is");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (*run_cmd) return run_command(run);
    if (*check_cmd) return check_command(check_file);
    if (*status_cmd) return status_command(status_file, raw);
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
