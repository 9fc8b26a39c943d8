// Helpers for the CLI tests: a temporary directory, and running the built
// `vitrine` binary (VITRINE_CLI_PATH) with its output captured in a file.
// Test-only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vitrine::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }
  /// Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

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
