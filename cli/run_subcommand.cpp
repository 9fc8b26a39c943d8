#include "run_subcommand.hpp"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace vitrine::cli {

std::string non_empty_path(const std::string& value) {
  return value.empty() ? "the path must not be empty" : "";
}

CLI::App* add_run_subcommand(CLI::App& app, run_options& options) {
  auto* run = app.add_subcommand(
      "run",
      "supervise the programs of FILE in the foreground until "
      "SIGINT/SIGTERM/SIGQUIT (SIGHUP reloads FILE)");
  run->add_option("file", options.file, "configuration (TOML)")->required();
  run->add_flag("--plain", options.plain,
                "print one line per change instead of a live table");
  run->add_option("--json-status", options.json_status,
                  "keep PATH rewritten (atomically) with a JSON array of "
                  "process states")
      ->check(non_empty_path);
  run->add_option("--state-dir", options.state_dir,
                  "state directory (status table, control socket); "
                  "default $XDG_RUNTIME_DIR/vitrine/NAME")
      ->check(non_empty_path);
  return run;
}

int exec_run(char** argv) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "vitrine: cannot find its own executable: "
              << std::strerror(errno) << "\n";
    return 1;
  }
  std::string path{self, static_cast<std::size_t>(n)};
  path = path.substr(0, path.rfind('/') + 1) + "vitrine-run";
  ::execv(path.c_str(), argv);
  std::cerr << "vitrine: cannot run " << path << ": " << std::strerror(errno)
            << " (it is installed beside vitrine)\n";
  return 1;
}

}  // namespace vitrine::cli
