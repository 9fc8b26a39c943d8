// unknown_command: the error for a first word that names no command, which
// CLI11 reports only as "A subcommand is required". Used by `vitrine` and
// `vitrine-run` before they parse; main thread, no allocation unless the
// word is unknown.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace vitrine::cli {

/// "run, check, logs, ...": the commands `app` takes; at the top, also the
/// remote-only ones `app` lacks (node_commands.hpp: `vitrine-cli` execs
/// them to `vitrine-run`).
std::string command_list(const CLI::App& app);

/// "unknown command 'frobnicate' (one of run, check, ...)" when the first
/// argument is neither an option nor a subcommand of `app` (the list also
/// names the remote-only commands, node_commands.hpp), "ctl: unknown
/// command 'x' (one of start, ...)" for the word after a command that takes
/// a command of its own, "unknown option '--x': ..." for a first argument
/// that is an option the top does not take (only --help, --version), else
/// "". `hint` is appended to an unknown first
/// word's message (e.g. where that command lives instead).
std::string unknown_command(const CLI::App& app, int argc, char** argv,
                            const std::string& hint = {});

}  // namespace vitrine::cli
