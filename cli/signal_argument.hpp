// signal_argument: the error for a `ctl signal SIG` that names no signal,
// said the same way for a local run and a node (ctl_command.cpp,
// node_ctl.cpp, usage_text.cpp). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace vitrine::cli {

/// "ctl signal: unknown signal 'NOPE' (TERM, SIGUSR1, 10...)"; for kill's
/// form of a valid signal ("-9", "-CONT"), the hint to write it without
/// its '-'. `text` as typed: the result is made terminal_safe() here.
std::string unknown_signal_text(std::string_view text);

}  // namespace vitrine::cli
