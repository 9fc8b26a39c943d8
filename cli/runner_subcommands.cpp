#include "runner_subcommands.hpp"

#include <algorithm>
#include <iostream>
#include <memory>
#include <string_view>
#include <utility>

#include "control_protocol.hpp"
#include "exec_beside.hpp"
#include "print_line.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"
#include "unknown_command.hpp"
#include "usage_text.hpp"

namespace vitrine::cli {

void add_version_flag(CLI::App& app) {
  app.set_version_flag("--version", "vitrine " VITRINE_VERSION);
}

void refuse_flag_values(CLI::App& app) {
  app.option_defaults()->disable_flag_override();
}

std::string non_empty_path(const std::string& value) {
  return value.empty() ? "the path must not be empty" : "";
}

int usage_error(CLI::App& app, const CLI::ParseError& error,
                std::span<const char* const> argv) {
  app.failure_message([argv](const CLI::App* failed, const CLI::Error& e) {
    // The message may echo an argument as typed (control bytes too).
    return "vitrine: " + terminal_safe(usage_text(*failed, e, argv)) + "\n" +
           std::string{usage_hint} + "\n";
  });
  // CLI11 prints the version as soon as it reads --version and ignores
  // what follows it (`--version extra`), or a value given it
  // (`--version=`).
  if (dynamic_cast<const CLI::CallForVersion*>(&error) != nullptr &&
      (argv.size() != 2 || std::string_view{argv[1]} != "--version"))
    return usage_error("--version takes no other argument");
  if (app.exit(error) != 0) return 2;
  // --help or --version, printed on stdout: a failed write is an error as
  // for every command (docs/cli.md).
  const bool version = dynamic_cast<const CLI::CallForVersion*>(&error);
  return finish_stdout(version ? "--version" : "--help", 0);
}

int usage_error(const std::string& text) {
  std::cerr << "vitrine: " << text << "\n" << usage_hint << "\n";
  return 2;
}

namespace {

/// What `name` is to `app` and the commands below it: an option that takes
/// a value (in any of them), else a flag, else nothing.
enum class option_kind { none, flag, takes_value };

option_kind kind_of(const CLI::App& app, const std::string& name) {
  option_kind kind = option_kind::none;
  if (const auto* option = app.get_option_no_throw(name))
    kind = option->get_items_expected_max() > 0 ? option_kind::takes_value
                                                : option_kind::flag;
  for (const auto* command :
       app.get_subcommands([](const CLI::App*) { return true; })) {
    if (kind == option_kind::takes_value) break;
    kind = std::max(kind, kind_of(*command, name));
  }
  return kind;
}

/// A value CLI11 refuses for every flag (refuse_flag_values()): it takes
/// "", "{}" and "true" as no value at all.
constexpr std::string_view refused_flag_value = "false";

}  // namespace

spelled_out_values::spelled_out_values(const CLI::App& app, int argc,
                                       char** argv) {
  bool options_end = false;
  for (int i = 0; i < argc; ++i) {
    std::string word = argv[i];
    options_end = options_end || (i > 0 && word == "--");
    const auto equals = word.find('=');
    if (options_end || i == 0 || !word.starts_with("--") || equals < 3 ||
        equals == word.npos) {
      words_.push_back(std::move(word));
      continue;
    }
    const std::string name = word.substr(0, equals);
    const auto kind = kind_of(app, name);
    if (kind == option_kind::takes_value && equals == word.size() - 1) {
      words_.push_back(name);
      words_.emplace_back();
    } else if (kind == option_kind::flag) {
      words_.push_back(name + "=" + std::string{refused_flag_value});
    } else {
      words_.push_back(std::move(word));
    }
  }
  for (auto& word : words_) argv_.push_back(word.data());
  argv_.push_back(nullptr);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& hint) {
  spelled_out_values line{app, argc, argv};
  if (auto error = unknown_command(app, line.argc(), line.argv(), hint);
      !error.empty())
    return usage_error(error);
  if (auto error = dashed_signal(line.argc(), line.argv()); !error.empty())
    return usage_error(error);
  try {
    app.parse(line.argc(), line.argv());
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e,
                       {line.argv(), static_cast<std::size_t>(line.argc())});
  }
  return std::nullopt;
}

namespace {

/// CLI11's formatter, without the "[]" a hidden positional leaves in the
/// usage line (its name is hidden, its brackets are not).
class usage_without_hidden : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    if (const auto at = usage.find(" []"); at != usage.npos) usage.erase(at, 3);
    return usage;
  }
};

}  // namespace

void check_names(CLI::App* command, CLI::Option* option,
                 const std::vector<std::string>& names, const std::string* verb,
                 std::function<void()> also) {
  option->check(
      [](const std::string& name) { return control::name_problem(name); });
  // CLI11 2.1 hands a `--` that comes after the first NAME to the parent
  // command, which then refuses every word after it (`ctl stop a -- b`).
  // A hidden positional that is never satisfied keeps the `--` here, and
  // the words after it go to NAME... as POSIX has it; NAME... takes any
  // number, so nothing ever reaches this one.
  command
      ->add_option_function<std::vector<std::string>>(
          "names_after_double_dash",
          [](const std::vector<std::string>&) {
            throw CLI::ValidationError("NAME...", "an argument was lost");
          })
      ->expected(1, 1)
      ->group("");
  command->formatter(std::make_shared<usage_without_hidden>());
  command->final_callback([&names, verb, also = std::move(also)] {
    if (also) also();
    const std::size_t count =
        names.size() - (verb && *verb == "signal" && !names.empty() ? 1 : 0);
    if (count > control::max_names)
      throw CLI::ValidationError(
          "names", "too many names (" + std::to_string(count) + "; at most " +
                       std::to_string(control::max_names) + ")");
  });
}

namespace {

/// CLI11 reads "-1" into an unsigned option as its largest value: only
/// digits are a count, and at most max_lines (more digits overflowed).
std::string line_count(const std::string& value) {
  constexpr std::string_view max_lines = "1000000000";
  const bool digits =
      !value.empty() && value.find_first_not_of("0123456789") == value.npos;
  if (!digits)
    return "'" + value + "' is not a number of lines (digits, 0 or more)";
  const auto significant =
      value.substr(std::min(value.find_first_not_of('0'), value.size()));
  if (significant.size() > max_lines.size() ||
      (significant.size() == max_lines.size() && significant > max_lines))
    return "'" + value + "': at most " + std::string{max_lines} + " lines";
  return {};
}

}  // namespace

void add_run_options(CLI::App* cmd, run_options& run) {
  cmd->add_option("file", run.file, "configuration (TOML)")
      ->required()
      ->check(non_empty_path);
  cmd->add_flag("--plain", run.plain,
                "print one line per change instead of a live table");
  cmd->add_option("--json-status", run.json_status,
                  "keep PATH rewritten (atomically) with a JSON object of "
                  "the supervisors' and processes' states")
      ->check(non_empty_path);
  cmd->add_option("--state-dir", run.state_dir,
                  "state directory (status table, control socket); "
                  "default $XDG_RUNTIME_DIR/vitrine/NAME")
      ->check(non_empty_path);
}

runner_subcommands::runner_subcommands(CLI::App& app) {
  run_cmd = app.add_subcommand(
      "run",
      "supervise the programs of FILE in the foreground until "
      "SIGINT/SIGTERM/SIGQUIT (SIGHUP reloads FILE)");
  add_run_options(run_cmd, run);

  check_cmd =
      app.add_subcommand("check", "validate FILE and report every problem");
  check_cmd->add_option("file", check_file, "configuration (TOML)")
      ->required()
      ->check(non_empty_path);

  logs_cmd = app.add_subcommand(
      "logs",
      "show the captured output of program NAME (the run may have stopped)");
  logs_cmd->add_option("name", logs.name, "program name")
      ->required()
      ->check([](const std::string& name) {
        return control::name_problem(name);  // as status and ctl take it
      });
  logs_cmd->add_flag("-f,--follow", logs.follow,
                     "keep printing what it writes (across rotation) "
                     "until Ctrl-C");
  logs_cmd->add_option("-n,--lines", logs.lines, "print the last N lines")
      ->capture_default_str()
      ->check(line_count);
  logs_cmd
      ->add_option("--state-dir", logs.state_dir,
                   "the run's state directory (default: the only one under "
                   "$XDG_RUNTIME_DIR/vitrine)")
      ->check(non_empty_path);
}

bool runner_subcommands::parsed() const {
  return *run_cmd || *check_cmd || *logs_cmd;
}

int exec_runner(char** argv) {
  return exec_beside("vitrine-run", argv);
}

}  // namespace vitrine::cli
