#include "plain_command_line.hpp"

#include <string_view>

#include "control_protocol.hpp"
#include "timeout_seconds.hpp"

namespace vitrine::cli {
namespace {

using namespace std::string_view_literals;

/// The arguments after the command, read one at a time.
class arguments {
 public:
  arguments(int argc, const char* const* argv, int first)
      : argc_(argc), argv_(argv), next_(first) {}

  [[nodiscard]] bool done() const noexcept { return next_ >= argc_; }
  std::string_view take() noexcept { return argv_[next_++]; }

  /// When `arg` is `name` (its value the next argument) or `name=VALUE`:
  /// true, with the value in `value` (nullopt when there is none).
  bool option(std::string_view arg, std::string_view name,
              std::optional<std::string_view>& value) noexcept {
    if (arg == name) {
      value = done() ? std::nullopt : std::optional{take()};
      return true;
    }
    if (arg.size() > name.size() && arg.starts_with(name) &&
        arg[name.size()] == '=') {
      value = arg.substr(name.size() + 1);
      return true;
    }
    return false;
  }

 private:
  int argc_;
  const char* const* argv_;
  int next_;
};

/// A value CLI11 takes as given: not empty (non_empty_path refuses "") and
/// not option-like.
bool plain_value(const std::optional<std::string_view>& value) noexcept {
  return value && !value->empty() && value->front() != '-';
}

/// NAME as CLI11 takes it as a positional: not option-like, and valid as
/// check_names() requires (control::name_problem()).
bool plain_name(std::string_view arg) {
  return !arg.starts_with('-') && control::name_problem(arg).empty();
}

/// `--state-dir DIR` or `--timeout S` into `options`, once each; false for
/// a value that is not plain or an option given twice.
bool take_shared_option(std::string_view name,
                        const std::optional<std::string_view>& value,
                        bool& given, ctl_options& options) {
  if (given || !plain_value(value)) return false;
  given = true;
  if (name == "--state-dir") {
    options.state_dir = *value;
    return true;
  }
  const auto seconds = timeout_seconds(*value);
  if (seconds) options.timeout_s = *seconds;
  return seconds.has_value();
}

}  // namespace

std::optional<table_status_options> plain_status_line(int argc,
                                                      const char* const* argv) {
  if (argc < 2 || argv[1] != "status"sv) return std::nullopt;
  table_status_options options;
  bool state_dir_given = false;
  arguments args{argc, argv, 2};
  while (!args.done()) {
    const std::string_view arg = args.take();
    std::optional<std::string_view> value;
    if (arg == "--json") {
      if (options.json) return std::nullopt;
      options.json = true;
    } else if (args.option(arg, "--state-dir", value)) {
      if (state_dir_given || !plain_value(value)) return std::nullopt;
      options.state_dir = *value;
      state_dir_given = true;
    } else if (plain_name(arg)) {
      options.names.emplace_back(arg);
    } else {
      return std::nullopt;
    }
  }
  if (options.names.size() > control::max_names) return std::nullopt;
  return options;
}

std::optional<ctl_options> plain_ctl_line(int argc, const char* const* argv) {
  if (argc < 2) return std::nullopt;
  const std::string_view command = argv[1];
  if (command != "ctl" && command != "reload") return std::nullopt;
  ctl_options options;
  arguments args{argc, argv, 2};
  // Before the verb (ctl) and after it: each once on one side.
  bool state_dir_given = false, timeout_given = false;
  const auto shared_option = [&](std::string_view arg) -> std::optional<bool> {
    std::optional<std::string_view> value;
    if (args.option(arg, "--state-dir", value))
      return take_shared_option("--state-dir", value, state_dir_given, options);
    if (args.option(arg, "--timeout", value))
      return take_shared_option("--timeout", value, timeout_given, options);
    return std::nullopt;  // not one of them
  };
  if (command == "reload") {
    options.command = "reload";
    while (!args.done())
      if (shared_option(args.take()) != true) return std::nullopt;
    return options;
  }
  // ctl: the options before the verb, then the verb.
  std::string_view verb;
  while (verb.empty()) {
    if (args.done()) return std::nullopt;
    const std::string_view arg = args.take();
    if (const auto taken = shared_option(arg)) {
      if (!*taken) return std::nullopt;
    } else if (arg == "start" || arg == "stop" || arg == "restart" ||
               arg == "signal") {
      verb = arg;
    } else {
      return std::nullopt;
    }
  }
  options.command = verb;
  const bool signal = verb == "signal";
  bool signal_given = false;
  while (!args.done()) {
    const std::string_view arg = args.take();
    if (const auto taken = shared_option(arg)) {
      if (!*taken) return std::nullopt;
    } else if (arg == "--no-wait" && !signal) {
      if (options.no_wait) return std::nullopt;
      options.no_wait = true;
    } else if (signal && !signal_given && !arg.starts_with('-')) {
      options.signal = arg;  // checked by ctl_command(), as after CLI11
      signal_given = true;
    } else if (plain_name(arg)) {
      options.names.emplace_back(arg);
    } else {
      return std::nullopt;
    }
  }
  if (options.names.empty() || options.names.size() > control::max_names)
    return std::nullopt;
  return options;
}

}  // namespace vitrine::cli
