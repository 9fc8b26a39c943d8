// client_subcommands: the command-line side of the commands that talk to a
// running `vitrine run` (`status`, `ctl`, `reload`; docs/cli.md): their
// CLI11 definitions and the dispatch to table_status_command(),
// status_command() and ctl_command().
//
// Threads: main thread, during and after argument parsing. Cost: CLI11
// option objects only.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace vitrine::cli {

class client_subcommands {
 public:
  /// Adds `status`, `ctl` (start, stop, restart, signal) and `reload` to
  /// `app`, which must outlive this object.
  explicit client_subcommands(CLI::App& app);
  client_subcommands(const client_subcommands&) = delete;
  client_subcommands& operator=(const client_subcommands&) = delete;

  /// One of them was given on the command line (after app.parse()).
  bool parsed() const;
  /// Runs it; returns the exit code.
  int run();

  /// What run() runs for `status` without --file; nullptr for any other
  /// command.
  const table_status_options* table_status() const;
  /// What run() runs for `ctl` or `reload`; nullopt for any other command,
  /// or with `problem` set when an option of `ctl` was given both before
  /// and after the verb.
  std::optional<ctl_options> ctl_request(std::string& problem) const;

 private:
  CLI::App* status_ = nullptr;
  CLI::App* ctl_ = nullptr;
  CLI::App* reload_ = nullptr;
  std::string status_file_;
  table_status_options status_options_;
  ctl_options ctl_options_;
  /// `ctl`'s options given before the verb, and the verbs' own (the same
  /// option on both sides is refused: which should win?).
  std::vector<std::pair<CLI::Option*, std::vector<CLI::Option*>>> ctl_sides_;
};

}  // namespace vitrine::cli
