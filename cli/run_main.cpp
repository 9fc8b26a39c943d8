// vitrine-run: the supervising half of `vitrine run FILE ...`, which
// `vitrine` execs with its own arguments (docs/cli.md, "Binaries"). It
// links the runtime and CAF; `vitrine` does not.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.hpp"
#include "node_commands.hpp"
#include "run_subcommand.hpp"

int main(int argc, char** argv) {
  using namespace vitrine::cli;
  if (is_remote_command(argc, argv)) return remote_main(argc, argv);
  CLI::App app{"vitrine-run: the supervisor behind `vitrine run`"};
  app.require_subcommand(1);
  run_options run;
  add_run_subcommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run_command(run);
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
}
