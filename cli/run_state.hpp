// run_state: how `vitrine run` takes its state directory (state_dir.hpp):
// the directory given by --state-dir, else default_state_dir() of the top
// supervisor's name, claimed (locked) for this run, with the config leaf
// naming the configuration file.
//
// Threads: claim_run_state_dir() from the run's main thread, once, before
// the runtime starts; a run_leaves from any thread (a mutex guards it).
// Cost: the claim's few system calls and one small file write; each leaf
// written is one small file written and renamed.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "state_dir.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::cli {

/// Claims `option` (or the default directory for `instance`) and writes
/// the absolute path of `config_file` to its config leaf (mode 0600).
/// nullopt with `error` (naming the directory) when another run holds it
/// or it is unsafe.
std::optional<state_dir> claim_run_state_dir(const std::string& option,
                                             std::string_view instance,
                                             const std::string& config_file,
                                             std::string& error);

/// The run's small files in its state directory (config, order), with
/// what was last written to each: one removed while the run lives is
/// written again (put_back).
class run_leaves {
 public:
  /// `config_file` as claim_run_state_dir() wrote it.
  run_leaves(const state_dir& dir, const std::string& config_file);

  /// Writes the names of `tree` (itself, then each child in order, a group
  /// before its own children) to the order leaf; "" or the error.
  std::string write_order(const supervisor_spec& tree);
  /// Writes `leaf` (config or order; others are not this class's) again
  /// from what was last written, unless another file took its name; "" or
  /// the error.
  std::string put_back(std::string_view leaf);
  /// After a write_order() that failed (a full disk), writes the order
  /// leaf again, at most once a second; "" or, once it succeeds, a line
  /// saying so (an outside tester found it stale for good after the disk
  /// had room again).
  std::string retry_order();
  /// Its last write failed: retry_order() has work to do.
  bool order_stale() {
    std::lock_guard lock{mutex_};
    return order_stale_;
  }

 private:
  const state_dir& dir_;
  std::mutex mutex_;
  const std::string config_text_;
  std::string order_text_;    ///< "" until the first write_order()
  bool order_stale_ = false;  ///< its last write failed
  std::chrono::steady_clock::time_point next_retry_{};
};

}  // namespace vitrine::cli
