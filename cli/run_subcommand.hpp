// run_subcommand: the `run` subcommand's command line, shared by `vitrine`
// (which checks it, then execs `vitrine-run` with the same arguments) and
// `vitrine-run` (which supervises). Two binaries so that every other
// command starts without loading CAF (docs/cli.md, "Binaries").
//
// Threads: main thread, before any other thread exists (exec_run() replaces
// the process image). Cost: CLI11 option definitions; exec_run() one
// readlink and one execv.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "commands.hpp"

namespace vitrine::cli {

/// CLI11 validator: "" is not a path (`--json-status ""`).
std::string non_empty_path(const std::string& value);

/// Adds `run FILE [--plain] [--json-status PATH] [--state-dir DIR]` to
/// `app`, filling `options` when parsed.
CLI::App* add_run_subcommand(CLI::App& app, run_options& options);

/// Replaces this process with `vitrine-run` from this executable's
/// directory, given the same arguments; returns only on failure (1, with a
/// message on stderr).
int exec_run(char** argv);

}  // namespace vitrine::cli
