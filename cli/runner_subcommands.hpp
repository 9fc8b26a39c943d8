// runner_subcommands: the command lines of the subcommands vitrine-run
// runs, shared by `vitrine-cli` (which checks them, then execs
// `vitrine-run` with the same arguments) and `vitrine-run`: `run`, which
// links the runtime and CAF, and `check` and `logs`, which read a
// configuration with toml++. The other commands (status, ctl, reload) then
// start without loading any shared library: `vitrine` and `vitrine-cli` are
// linked statically (docs/cli.md, "Binaries").
//
// Threads: main thread, before any other thread exists (exec_runner()
// replaces the process image). Cost: CLI11 option definitions;
// exec_runner() one readlink and one execv.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "commands.hpp"
#include "logs_command.hpp"

namespace vitrine::cli {

/// `--version`, printing "vitrine VERSION" (the project's version).
void add_version_flag(CLI::App& app);

/// Flags of `app` and of the commands added to it afterwards take no value:
/// CLI11 reads `--json=0` as "not --json" and `--version=1` as --version;
/// these are refused instead. Call before adding options.
void refuse_flag_values(CLI::App& app);

/// CLI11 validator: "" is not a path (`--json-status ""`).
std::string non_empty_path(const std::string& value);

/// Prints a command line's error as vitrine's other errors ("vitrine: "
/// first), then a hint to --help; returns the exit code: 0 for --help or
/// --version, 2 for an error. `argv` is the command line parsed
/// (usage_text() orders and places unexpected arguments with it).
int usage_error(CLI::App& app, const CLI::ParseError& error,
                std::span<const char* const> argv);
int usage_error(const std::string& text);

/// A command line whose `--NAME=VALUE` words CLI11 reads as typed: each
/// `--NAME=` of an option that takes a value spelled `--NAME ""` (CLI11
/// reads it as `--NAME` alone and takes the next word as its value: `run
/// --state-dir= FILE` lost its FILE), and each value given a flag spelled
/// as one that refuse_flag_values() refuses (CLI11 takes `--json=`,
/// `--json={}` and `--json=true` as `--json`). Words after `--` are left
/// as typed.
class spelled_out_values {
 public:
  spelled_out_values(const CLI::App& app, int argc, char** argv);
  spelled_out_values(const spelled_out_values&) = delete;
  spelled_out_values& operator=(const spelled_out_values&) = delete;

  int argc() const noexcept { return static_cast<int>(words_.size()); }
  /// Valid while this object lives.
  char** argv() noexcept { return argv_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> argv_;  ///< into words_, then a null
};

/// Parses `argv` into `app`, spelled out by spelled_out_values, after
/// unknown_command()'s check (`hint` added to its message): nullopt once
/// parsed, else the exit code of the usage error, --help or --version,
/// printed as usage_error() prints them.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& hint = {});

/// NAME arguments as the control commands take them (control_protocol.hpp):
/// 1 to 255 bytes each, at most control::max_names of them (`names` holds
/// them once parsed). With `verb` "signal" the first one is the signal,
/// not a name. Sets `command`'s final callback: it runs `also` first.
void check_names(CLI::App* command, CLI::Option* option,
                 const std::vector<std::string>& names,
                 const std::string* verb = nullptr,
                 std::function<void()> also = {});

/// FILE, --plain, --json-status PATH and --state-dir DIR into `run`: the
/// options `vitrine run` and `vitrine node` share.
void add_run_options(CLI::App* cmd, run_options& run);

/// `run FILE [--plain] [--json-status PATH] [--state-dir DIR]`,
/// `check FILE` and `logs NAME [-f] [-n N] [--state-dir DIR]`, added to an
/// app; the options are filled when parsed.
struct runner_subcommands {
  explicit runner_subcommands(CLI::App& app);

  /// One of the three was given on the command line.
  [[nodiscard]] bool parsed() const;

  run_options run;
  std::string check_file;
  logs_options logs;
  CLI::App* run_cmd = nullptr;
  CLI::App* check_cmd = nullptr;
  CLI::App* logs_cmd = nullptr;
};

/// Replaces this process with `vitrine-run` from this executable's
/// directory, given the same arguments; returns only on failure (1, with a
/// message on stderr). See exec_beside.hpp.
int exec_runner(char** argv);

}  // namespace vitrine::cli
