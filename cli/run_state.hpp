// run_state: how `vitrine run` takes its state directory (state_dir.hpp):
// the directory given by --state-dir, else default_state_dir() of the top
// supervisor's name, claimed (locked) for this run, with the config leaf
// naming the configuration file.
//
// Threads: the run's main thread, once, before the runtime starts.
// Cost: the claim's few system calls and one small file write.
#pragma once

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

/// Writes the names of `tree` (itself, then each child in order, a group
/// before its own children) to `dir`'s order leaf; "" or the error.
std::string write_run_order(const state_dir& dir, const supervisor_spec& tree);

}  // namespace vitrine::cli
