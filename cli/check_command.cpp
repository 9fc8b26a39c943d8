// `vitrine check FILE` (commands.hpp), run by vitrine-run: it reads the
// configuration with toml++, which the `vitrine` client does not load.
#include <iostream>

#include "commands.hpp"
#include "config.hpp"

namespace vitrine::cli {

int check_command(const std::string& file) {
  const auto result = load_config_file(file);
  print_problems(result, std::cerr);
  if (!result.ok()) return 1;
  std::cout << "ok: " << result.value.program_count
            << (result.value.program_count == 1 ? " program" : " programs");
  if (result.value.group_count)
    std::cout << " in " << result.value.group_count + 1 << " supervisors";
  if (const auto n = result.warnings.size(); n != 0)
    std::cout << " (" << n << (n == 1 ? " warning" : " warnings") << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace vitrine::cli
