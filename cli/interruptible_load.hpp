// interruptible_load: `vitrine run` reads and checks its configuration on a
// worker thread while the main thread keeps answering signals, so Ctrl-C
// works however large the file is.
//
// Threads: call from the thread that owns `signals` (the main thread). A
// stop signal before the load completes ends the process at once with
// _Exit(128 + signal), after one line on stderr: nothing has been started
// then, and the worker may be deep inside the TOML parser. Cost: one
// thread for the duration of the load.
#pragma once

#include <functional>
#include <string>

#include "config.hpp"
#include "signal_channel.hpp"

namespace vitrine::cli {

/// load_config_file(file) on a worker thread. Signals whose action is not
/// `stop` go to `on_signal` meanwhile. After a second of loading, says once
/// on stderr that it is still loading.
parse_result load_config_interruptibly(
    const std::string& file, signal_channel& signals,
    const std::function<void(int)>& on_signal);

}  // namespace vitrine::cli
