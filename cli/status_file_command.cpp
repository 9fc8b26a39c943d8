// `vitrine status --file PATH`: the file `vitrine run --json-status`
// writes, as a table or as it is. See commands.hpp.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "print_line.hpp"
#include "regular_file.hpp"
#include "render.hpp"
#include "status.hpp"

namespace vitrine::cli {

int status_command(const std::string& file, bool raw) {
  // A status file of 100,000 programs is about 25 MB.
  constexpr std::uint64_t max_status_bytes = std::uint64_t{1} << 30;
  std::string text;
  std::string error = read_regular_file(file, max_status_bytes, text);
  if (!error.empty()) {
    // Missing: perhaps no run writes it (yet); anything else is no hint.
    const bool missing = ::access(file.c_str(), F_OK) != 0;
    print_error({file, ": ", error,
                 missing
                     ? " (is `vitrine run --json-status " + file + "` running?)"
                     : ""});
    return 1;
  }
  const auto rows = rows_from_json(text, error);
  if (!rows) {
    print_error({file, ": ", error});
    return 1;
  }
  if (raw) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    if (const auto sups = supervisors_from_json(text, error))
      for (const auto& sup : *sups)
        print_line(stdout, {render_supervisor(sup)});
    const std::string table = render_table(*rows, clock_pair::now().unix_ms());
    std::fwrite(table.data(), 1, table.size(), stdout);
  }
  return 0;
}

}  // namespace vitrine::cli
