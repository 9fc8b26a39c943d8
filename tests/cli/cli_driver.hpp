// Helpers for the CLI tests: a temporary directory, and running the built
// `vitrine` binary (VITRINE_CLI_PATH) with its output captured in a file.
// Test-only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/files.hpp"

namespace vitrine::test {

/// A started `vitrine` with stdout and stderr going to one file.
class cli_process {
 public:
  explicit cli_process(const std::vector<std::string>& args,
                       const std::string& output_path);
  ~cli_process();  // SIGKILLs and reaps it if still running
  cli_process(const cli_process&) = delete;
  cli_process& operator=(const cli_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  /// The exit code once it exits within `limit` (-signal if killed by one),
  /// nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
};

struct cli_result {
  int code = -1;
  std::string output;  ///< stdout and stderr interleaved
};

/// Runs `vitrine args...` to completion (at most 30 s).
cli_result run_cli(const std::vector<std::string>& args);

/// True once no process `pid` exists (kill(pid, 0) fails with ESRCH).
bool process_gone(pid_t pid);

}  // namespace vitrine::test
