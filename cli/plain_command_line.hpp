// plain_command_line: the command lines that the `vitrine` front runs
// itself, read without CLI11 (docs/cli.md, "Binaries"):
//
//   status [NAME...] [--state-dir DIR] [--json]
//   ctl [--state-dir DIR] [--timeout S] start|stop|restart NAME...
//       [--state-dir DIR] [--timeout S] [--no-wait]
//   ctl [--state-dir DIR] [--timeout S] signal SIG NAME...
//       [--state-dir DIR] [--timeout S]
//   reload [--state-dir DIR] [--timeout S]
//
// options in any order among the names, `--state-dir=DIR` and
// `--timeout=S` too. Only plain forms are taken: anything else (--help,
// --file, --node, an option given twice, a bad name, a --timeout that
// timeout_seconds() refuses, an option it does not know) is left to
// `vitrine-cli`, whose CLI11 parser prints the help or the exact usage error.
// tests/cli/plain_command_line_test.cpp checks that each line taken here
// means the same to CLI11.
//
// Threads: any. Cost: one pass over argv.
#pragma once

#include <optional>

#include "commands.hpp"

namespace vitrine::cli {

/// The options of `argv` when it is a plain `vitrine status` command line;
/// nullopt for any other.
std::optional<table_status_options> plain_status_line(int argc,
                                                      const char* const* argv);

/// The options of `argv` when it is a plain `vitrine ctl` or `vitrine
/// reload` command line (`command` set to the verb, or "reload"); nullopt
/// for any other.
std::optional<ctl_options> plain_ctl_line(int argc, const char* const* argv);

}  // namespace vitrine::cli
