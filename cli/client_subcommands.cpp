#include "client_subcommands.hpp"

#include <CLI/CLI.hpp>

#include "runner_subcommands.hpp"
#include "text_escape.hpp"
#include "timeout_seconds.hpp"

namespace vitrine::cli {

client_subcommands::client_subcommands(CLI::App& app) {
  status_ = app.add_subcommand(
      "status", "show the states a running `vitrine run` publishes");
  status_->footer(
      "For a remote node: vitrine status --node HOST:PORT --help "
      "(docs/cli.md, Remote nodes)");
  check_names(status_,
              status_->add_option("names", status_options_.names,
                                  "processes or supervisors (default: all)"),
              status_options_.names);
  // An empty path (an unset shell variable) is refused, not read as "no
  // option": the default discovery could find another run.
  status_
      ->add_option("--state-dir", status_options_.state_dir, "state directory")
      ->check(non_empty_path);
  status_->add_flag("--json", status_options_.json, "print JSON");
  status_
      ->add_option("--file", status_file_,
                   "read the file written by `run --json-status` instead")
      ->check(non_empty_path)
      ->excludes("names")
      ->excludes("--state-dir");

  ctl_ = app.add_subcommand(
      "ctl",
      "start, stop, restart or signal programs of a running `vitrine run`");
  ctl_->require_subcommand(1);
  ctl_->footer(
      "For a remote node: vitrine ctl --node HOST:PORT --help "
      "(docs/cli.md, Remote nodes)");
  // Also before the verb (`ctl --state-dir DIR restart api`), as a user
  // writes them: the verb's own take the same values.
  auto* state_dir_before =
      ctl_->add_option("--state-dir", ctl_options_.state_dir, "state directory")
          ->check(non_empty_path);
  auto* timeout_before =
      ctl_->add_option("--timeout", ctl_options_.timeout_s,
                       "as the verb's --timeout (default 30)")
          ->check(timeout_problem);
  ctl_sides_ = {{state_dir_before, {}}, {timeout_before, {}}};
  for (const char* verb : {"start", "stop", "restart", "signal"}) {
    const bool signal = std::string_view{verb} == "signal";
    auto* sub = ctl_->add_subcommand(
        verb, std::string{verb} +
                  (signal ? " processes" : " processes or supervisors"));
    if (signal)
      sub->add_option("sig", ctl_options_.signal, "TERM, SIGUSR1, 10...")
          ->required();
    check_names(
        sub,
        sub->add_option("names", ctl_options_.names,
                        signal ? "processes (a supervisor has no process group)"
                               : "processes or supervisors")
            ->required(),
        ctl_options_.names, nullptr,
        [this, verb] { ctl_options_.command = verb; });
    ctl_sides_[0].second.push_back(sub->add_option("--state-dir",
                                                   ctl_options_.state_dir,
                                                   "state directory")
                                       ->check(non_empty_path));
    if (!signal)
      sub->add_flag("--no-wait", ctl_options_.no_wait,
                    "return once the command is sent");
    ctl_sides_[1].second.push_back(
        sub->add_option("--timeout", ctl_options_.timeout_s,
                        signal
                            ? "seconds the run has to read the command; it "
                              "drops it if it reads it later (default 30)"
                            : "seconds to wait for the effect; the run drops "
                              "the command if it reads it later (default 30)")
            ->check(timeout_problem));
  }

  reload_ = app.add_subcommand("reload",
                               "have a running `vitrine run` re-read its file");
  reload_->add_option("--state-dir", ctl_options_.state_dir, "state directory")
      ->check(non_empty_path);
  reload_
      ->add_option("--timeout", ctl_options_.timeout_s,
                   "seconds the reload may take to begin (the run "
                   "drops it if it reads it later; it waits that long "
                   "for programs still being added) (default 30)")
      ->check(timeout_problem);
}

bool client_subcommands::parsed() const {
  return *status_ || *ctl_ || *reload_;
}

const table_status_options* client_subcommands::table_status() const {
  return *status_ && status_file_.empty() ? &status_options_ : nullptr;
}

std::optional<ctl_options> client_subcommands::ctl_request(
    std::string& problem) const {
  if (!*ctl_ && !*reload_) return std::nullopt;
  for (const auto& [before, after] : ctl_sides_)
    if (before->count() != 0)
      for (const auto* option : after)
        if (option->count() != 0) {
          problem = "ctl: " + option->get_name() +
                    " is given both before and after the verb: give it once";
          return std::nullopt;
        }
  ctl_options options = ctl_options_;
  if (*reload_) options.command = "reload";
  return options;
}

int client_subcommands::run() {
  if (*status_ && !status_file_.empty())
    return status_command(status_file_, status_options_.json);
  if (const auto* options = table_status())
    return table_status_command(*options);
  std::string problem;
  const auto request = ctl_request(problem);
  // A usage error, said as CLI11's are (usage_text.hpp).
  if (!request) return usage_error(terminal_safe(problem));
  return ctl_command(*request);
}

}  // namespace vitrine::cli
