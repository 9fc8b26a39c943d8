// live_run: a `vitrine run --plain --state-dir DIR/state` of a TOML text
// for the control tests, with waits on its shared status table and a raw
// control-socket client. Test-only; one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli_driver.hpp"
#include "vitrine/status_reader.hpp"

namespace vitrine::test {

class live_run {
 public:
  /// `shell_prefix`: as cli_process's (`exec >&-`: stdout closed);
  /// `run_args`: more options of `vitrine run`.
  explicit live_run(const std::string& toml,
                    const std::string& shell_prefix = "",
                    const std::vector<std::string>& run_args = {});

  const std::string& state() const { return state_; }
  const std::string& log() const { return log_; }
  const temp_dir& dir() const { return dir_; }
  cli_process& process() { return *process_; }

  /// Appends `[[program]] NAME` (`sleep 1000`, startsecs_ms 0) to the
  /// run's configuration file, for a reload to add.
  void append_program(const std::string& name) const;
  /// Replaces the run's configuration file with `toml`, for a reload.
  void rewrite(const std::string& toml) const;

  /// `vitrine ARGS... --state-dir STATE`.
  cli_result cli(std::vector<std::string> args) const;

  /// Waits until the table's slot `name` satisfies `pred` (fails the test
  /// after `limit`); the slot then.
  status_slot wait_slot(const std::string& name,
                        const std::function<bool(const status_slot&)>& pred,
                        std::chrono::milliseconds limit = std::chrono::seconds{
                            20}) const;
  status_slot wait_status(
      const std::string& name, const std::string& status,
      std::chrono::milliseconds limit = std::chrono::seconds{20}) const;

 private:
  temp_dir dir_;
  std::string config_, state_, log_;
  std::unique_ptr<cli_process> process_;
};

/// Two programs, a stopped one (`lazy`) and a group `backend` of two.
extern const std::string demo_config;

/// A run still adding its programs: `slow` (sleep) is `starting` for
/// `startsecs_ms`, then the run appends `added` to its file, for a reload
/// sent meanwhile.
std::unique_ptr<live_run> run_still_adding(int startsecs_ms);

bool contains(const std::string& text, const std::string& needle);

/// Connects to the control socket, sends `bytes` (nothing if empty), reads
/// the reply until the server closes.
std::string raw_exchange(const std::string& socket_path,
                         const std::string& bytes);

}  // namespace vitrine::test
