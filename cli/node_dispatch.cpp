// is_remote_command(): which commands `vitrine` hands to vitrine-run
// (node_commands.hpp). No CAF here: `vitrine` links this file.
#include <string_view>

#include "node_commands.hpp"

namespace vitrine::cli {

bool is_remote_command(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string_view first = argv[1];
  for (const auto name : remote_only_commands)
    if (first == name) return true;
  if (first != "status" && first != "ctl") return false;
  for (int i = 2; i < argc; ++i)
    if (std::string_view{argv[i]} == "--node" ||
        std::string_view{argv[i]}.starts_with("--node="))
      return true;
  return false;
}

}  // namespace vitrine::cli
