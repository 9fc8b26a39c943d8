#include "unknown_command.hpp"

#include "node_commands.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

std::string command_list(const CLI::App& app) {
  std::string names;
  bool remote_listed = false;
  for (const auto* sub :
       app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
    remote_listed = remote_listed || sub->get_name() == remote_only_commands[0];
  }
  if (app.get_parent() == nullptr && !remote_listed)
    for (const std::string_view name : remote_only_commands)
      names.append(", ").append(name);
  return names;
}

std::string unknown_command(const CLI::App& app, int argc, char** argv,
                            const std::string& hint) {
  if (argc < 2) return {};
  if (argv[1][0] == '-') {
    // An option before any command: only --help and --version are the
    // top's (CLI11 reported another as a missing command).
    const std::string_view word = argv[1];
    const std::string name{word.substr(0, word.find('='))};
    if (name == "--" || app.get_option_no_throw(name) != nullptr) return {};
    return "unknown option '" + terminal_safe(word) +
           "': options come after the command (one of " + command_list(app) +
           "), or --help, --version";
  }
  const CLI::App* command = nullptr;
  for (const auto* sub :
       app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[1]) command = sub;
  if (command == nullptr)
    return "unknown command '" + terminal_safe(argv[1]) + "' (one of " +
           command_list(app) + ")" + hint;
  if (command->get_require_subcommand_min() == 0 || argc < 3 ||
      argv[2][0] == '-')
    return {};
  for (const auto* sub :
       command->get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[2]) return {};
  return command->get_name() + ": unknown command '" + terminal_safe(argv[2]) +
         "' (one of " + command_list(*command) + ")";
}

}  // namespace vitrine::cli
