// vitrine-run: the half of `vitrine` that links the runtime, CAF and
// toml++. `vitrine` execs it with its own arguments for `run`, `check`,
// `logs` and the remote commands (docs/cli.md, "Binaries").
#include <CLI/CLI.hpp>

#include <iostream>
#include <string_view>
#include <system_error>

#include "commands.hpp"
#include "logs_command.hpp"
#include "node_commands.hpp"
#include "runner_subcommands.hpp"
#include "standard_fds.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"

namespace {

/// What a failure to start says of the limit behind it: the bare errno
/// text names no limit (outside testers under `ulimit -u` and `-n`).
std::string_view limit_hint(const std::error_code& code) {
  if (code == std::errc::resource_unavailable_try_again)
    return " (out of processes or threads: ulimit -u, or a pids cgroup "
           "limit)";
  if (code == std::errc::too_many_files_open)
    return " (vitrine itself needs about 100 open files besides its "
           "programs': raise ulimit -n)";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vitrine::cli;
  if (!hold_standard_fds()) return 1;
  if (is_remote_command(argc, argv)) return remote_main(argc, argv);
  CLI::App app{"vitrine-run: the supervisor behind `vitrine run`"};
  app.require_subcommand(1);
  refuse_flag_values(app);
  add_version_flag(app);
  runner_subcommands runner{app};
  if (const auto code = parse_command_line(
          app, argc, argv, "; `vitrine` itself runs status, ctl and reload"))
    return *code;
  try {
    const int code = *runner.check_cmd  ? check_command(runner.check_file)
                     : *runner.logs_cmd ? logs_command(runner.logs)
                                        : run_command(runner.run);
    return finish_stdout(app.get_subcommands().front()->get_name(), code);
  } catch (const std::system_error& e) {
    std::cerr << "vitrine: " << terminal_safe_lines(e.what())
              << limit_hint(e.code()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << terminal_safe_lines(e.what()) << "\n";
    return 1;
  }
}
