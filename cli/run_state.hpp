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

namespace vitrine::cli {

/// Claims `option` (or the default directory for `instance`) and writes
/// the absolute path of `config_file` to its config leaf (mode 0600).
/// nullopt with `error` (naming the directory) when another run holds it
/// or it is unsafe.
std::optional<state_dir> claim_run_state_dir(const std::string& option,
                                             std::string_view instance,
                                             const std::string& config_file,
                                             std::string& error);

}  // namespace vitrine::cli
