// is_remote_command(): which commands `vitrine` hands to vitrine-run
// (node_commands.hpp). No CAF here: `vitrine` links this file.
#include <algorithm>
#include <array>
#include <string_view>

#include "node_commands.hpp"

namespace vitrine::cli {

bool is_remote_command(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string_view first = argv[1];
  for (const auto name : remote_only_commands)
    if (first == name) return true;
  if (first != "status" && first != "ctl") return false;
  // The options of status and ctl, local or remote, that take the next
  // word as their value, whatever it looks like (`--state-dir --node`).
  constexpr std::array<std::string_view, 8> with_value{
      "--state-dir", "--timeout", "--file",       "--tls-cert",
      "--tls-key",   "--tls-ca",  "--timeout-ms", "--heartbeat-ms"};
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    // After `--` every word is a NAME: a program may be named "--node".
    if (arg == "--") return false;
    if (arg == "--node" || arg.starts_with("--node=")) return true;
    if (std::find(with_value.begin(), with_value.end(), arg) !=
        with_value.end())
      ++i;
  }
  return false;
}

}  // namespace vitrine::cli
