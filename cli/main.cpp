// vitrine: the command an operator types (docs/cli.md). This front runs a
// plain `vitrine status`, `ctl` or `reload` itself (plain_command_line.hpp)
// and execs `vitrine-cli` from its directory, with the same arguments, for
// every other command line. It links neither CLI11, iostream nor
// std::filesystem: their start-up (option tables; the locale and the
// standard streams, which std::filesystem pulled in too) cost each of
// these commands about 0.9 ms ("Binaries" in docs/cli.md has the
// measurements).
#include <exception>

#include "commands.hpp"
#include "exec_beside.hpp"
#include "plain_command_line.hpp"
#include "print_line.hpp"
#include "standard_fds.hpp"
#include "stdout_check.hpp"

namespace {

/// The exit code of a command the front runs; a failed write to stdout
/// makes a success 1, as in vitrine-cli (stdout_check.hpp).
template <typename Command>
int run_here(const char* name, Command&& command) {
  try {
    return vitrine::cli::finish_stdout(name, command());
  } catch (const std::exception& e) {
    vitrine::cli::print_error({e.what()});  // may name a path
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vitrine::cli;
  if (!hold_standard_fds()) return 1;
  if (const auto options = plain_status_line(argc, argv))
    return run_here("status", [&] { return table_status_command(*options); });
  if (const auto options = plain_ctl_line(argc, argv))
    return run_here(argv[1], [&] { return ctl_command(*options); });
  return exec_beside("vitrine-cli", argv);
}
