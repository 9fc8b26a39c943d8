#include "usage_text.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>
#include <vector>

#include "signal_argument.hpp"
#include "text_escape.hpp"
#include "unknown_command.hpp"
#include "vitrine/core/signal_names.hpp"

namespace vitrine::cli {
namespace {

using namespace std::string_view_literals;

/// "ctl restart": the words that chose `app`, without the program's name.
std::string command_words(const CLI::App& app) {
  std::string words;
  for (const CLI::App* a = &app; a->get_parent() != nullptr;
       a = a->get_parent())
    words = a->get_name() + (words.empty() ? "" : " ") + words;
  return words;
}

/// An argument as the synopses write it: "-n/--lines", "--file", or a
/// positional in capitals ("NAME...", "FILE").
std::string argument_label(const CLI::App& app, const std::string& name) {
  const CLI::Option* option = app.get_option_no_throw(name);
  if (option == nullptr) return name;
  std::string label;
  if (option->nonpositional()) {
    for (const auto& s : option->get_snames())
      label += (label.empty() ? "-" : "/-") + s;
    for (const auto& l : option->get_lnames())
      label += (label.empty() ? "--" : "/--") + l;
    return label;
  }
  const bool many = option->get_items_expected_max() > 1;
  std::string word = name;
  if (many && word.size() > 1 && word.back() == 's') word.pop_back();
  for (char& c : word)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return many ? word + "..." : word;
}

/// `text` without `prefix` and `suffix`, or nullopt when it lacks either.
std::optional<std::string> between(std::string_view text,
                                   std::string_view prefix,
                                   std::string_view suffix) {
  if (!text.starts_with(prefix) || !text.ends_with(suffix) ||
      text.size() < prefix.size() + suffix.size())
    return std::nullopt;
  text.remove_prefix(prefix.size());
  text.remove_suffix(suffix.size());
  return std::string{text};
}

/// An argument no command took, and where it is in argv.
struct unexpected_argument {
  std::string word;
  std::size_t at;
};

/// Where the rest of a cluster of short options is in argv: CLI11 took
/// `-f` of `-fx` or `-f-x` and left "-x" or "--x", words never typed.
/// Sets `word` to what was typed of it ("'x' in '-fx'", without the outer
/// quotes); argv.size() when no unused cluster ends with it.
std::size_t cluster_position(std::string& word,
                             std::span<const char* const> argv,
                             const std::vector<bool>& used) {
  const std::string_view rest =
      std::string_view{word}.substr(word.find_first_not_of('-'));
  if (!word.starts_with('-') || rest.empty()) return argv.size();
  for (std::size_t at = 1; at < argv.size(); ++at) {
    const std::string_view typed = argv[at];
    if (used[at] || typed.starts_with("--") || !typed.starts_with('-') ||
        typed.size() < rest.size() + 2 || !typed.ends_with(rest))
      continue;
    std::size_t begin = typed.size() - rest.size();
    if (typed[begin - 1] == '-' && begin - 1 > 1) --begin;
    word = std::string{typed.substr(begin)} + "' in '" + std::string{typed};
    return at;
  }
  return argv.size();
}

/// The arguments no command took, in the order typed. CLI11's own
/// message lists them in reverse, and only those of one command; the
/// commands' `remaining()` hold them in order. The first `--` among them
/// is the end-of-options mark itself, not an argument.
std::vector<unexpected_argument> unexpected_arguments(
    const CLI::App& top, std::span<const char* const> argv) {
  std::vector<unexpected_argument> found;
  std::vector<bool> used(argv.size(), false);
  bool mark_seen = false;
  for (std::string& word : top.remaining(true)) {
    if (word == "--" && !std::exchange(mark_seen, true)) continue;
    std::size_t at = 1;
    while (at < argv.size() && (used[at] || word != argv[at])) ++at;
    if (at == argv.size()) at = cluster_position(word, argv, used);
    if (at < argv.size()) used[at] = true;
    found.push_back({std::move(word), at});
  }
  std::ranges::stable_sort(found, {}, &unexpected_argument::at);
  return found;
}

/// Where the last of `command`'s words is in argv ("start" of `ctl
/// --timeout 5 start`), found word after word.
std::size_t command_position(const CLI::App& command,
                             std::span<const char* const> argv) {
  std::vector<const CLI::App*> path;
  for (const CLI::App* a = &command; a->get_parent() != nullptr;
       a = a->get_parent())
    path.push_back(a);
  std::size_t at = 0;
  for (auto a = path.rbegin(); a != path.rend(); ++a)
    while (++at < argv.size() && (*a)->get_name() != argv[at]) {
    }
  return at;
}

/// Where the first `--` is in argv (argv.size() when there is none).
std::size_t mark_position(std::span<const char* const> argv) {
  std::size_t at = 1;
  while (at < argv.size() && std::string_view{argv[at]} != "--") ++at;
  return at;
}

/// "unexpected arguments 'x', 'y'", in the order typed; first, for a
/// command that needs one of its own (`ctl --state-dir D frob`), the word
/// that is no command of it; and an option of `command` typed before its
/// name (`ctl --no-wait stop api`) is told where it goes.
std::string unexpected_text(const CLI::App& command,
                            const std::vector<unexpected_argument>& extras,
                            std::span<const char* const> argv) {
  const std::size_t mark_at = mark_position(argv);
  if (command.get_require_subcommand_min() > 0 &&
      command.get_subcommands().empty())
    for (const auto& extra : extras)
      if (extra.at < mark_at &&
          !std::string_view{argv[extra.at]}.starts_with('-'))
        return "unknown command '" + extra.word + "' (one of " +
               command_list(command) + ")";
  std::string text =
      extras.size() == 1 ? "unexpected argument " : "unexpected arguments ";
  for (std::size_t i = 0; i < extras.size(); ++i)
    text += (i == 0 ? "'" : ", '") + extras[i].word + "'";
  const std::size_t command_at = command_position(command, argv);
  for (const auto& extra : extras) {
    if (extra.at >= command_at || !extra.word.starts_with('-')) continue;
    const std::string name = extra.word.substr(0, extra.word.find('='));
    const CLI::Option* option = command.get_option_no_throw(name);
    if (option == nullptr || !option->nonpositional()) continue;
    const std::string hint = argument_label(command, name) +
                             " is an option of '" + command_words(command) +
                             "': give it after '" + command.get_name() + "'";
    return extras.size() == 1 ? hint : text + " (" + hint + ")";
  }
  return text;
}

/// CLI11's message rewritten; the command's words are added by the caller.
std::string rewrite(const CLI::App& app, const CLI::Error& error) {
  const std::string what = error.what();
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr) {
    if (what == "A subcommand is required")
      return "give a command: one of " + command_list(app);
    if (auto name = between(what, "", " is required")) {
      const CLI::Option* option = app.get_option_no_throw(*name);
      if (option != nullptr && !option->nonpositional())
        return "missing " + argument_label(app, *name);
      return argument_label(app, *name) + " is required";
    }
    return what;
  }
  if (auto excluded = what.find(" excludes ");
      excluded != what.npos &&
      dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr)
    return argument_label(app, what.substr(0, excluded)) +
           " cannot be given with " +
           argument_label(app, what.substr(excluded + " excludes "sv.size()));
  if (auto flag = between(what, "", " was given a disallowed flag override"))
    return argument_label(app, "--" + *flag) + " takes no value";
  if (auto value = between(what, "Could not convert: ", "")) {
    const auto equals = value->find(" = ");
    if (equals != value->npos)
      return argument_label(app, value->substr(0, equals)) + ": '" +
             value->substr(equals + 3) + "' is not a valid value";
  }
  // "NAME: At Most 1 required but received 2" and the validators' "NAME:
  // problem": the argument as the synopses write it.
  const auto colon = what.find(": ");
  if (colon == what.npos) return what;
  const std::string name = what.substr(0, colon);
  std::string rest = what.substr(colon + 2);
  if (auto count = between(rest, "At Most 1 required but received ", ""))
    rest = "given " + *count + " times: give it once";
  else if (rest.ends_with(" missing") && rest.find(" required ") != rest.npos)
    rest = "missing its value";
  return argument_label(app, name) + ": " + rest;
}

}  // namespace

std::string usage_text(const CLI::App& app, const CLI::Error& error,
                       std::span<const char* const> argv) {
  // CLI11 reports every error on the top app: the command the error is
  // about is the last one parsed.
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty())
    command = command->get_subcommands().front();
  const std::string words = command_words(*command);
  // CLI11 checks what is required before what is left over, so an unknown
  // option came out as a missing one (`watch --frob`: "--node is
  // required"), and a bad value it had read after an unknown option came
  // out alone (`ctl stop --frob --timeout x`). The arguments it could not
  // place were typed before either: they come first.
  std::string text;
  if (auto extras = unexpected_arguments(app, argv); !extras.empty())
    text = unexpected_text(*command, extras, argv);
  else
    text = rewrite(*command, error);
  return words.empty() ? text : words + ": " + text;
}

std::string dashed_signal(int argc, char** argv) {
  if (argc < 3 || argv[1] != "ctl"sv) return {};
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] != "signal"sv) continue;
    const std::string_view word = argv[i + 1];
    if (word.size() < 2 || word[0] != '-' || word[1] == '-' || word == "-h")
      return {};
    if (core::signal_from_name(word.substr(1)))
      return unknown_signal_text(word);
    return "ctl signal: '" + terminal_safe(word) +
           "': the signal comes first, without '-' (TERM, SIGUSR1, 10...)";
  }
  return {};
}

}  // namespace vitrine::cli
