// usage_text: command-line errors in vitrine's words. CLI11's own
// messages name its internals ("names is required", "--file: At Most 1
// required but received 2", "A subcommand is required"); these name the
// argument as the synopses of docs/cli.md write it (NAME..., -n/--lines)
// and what to do. Used by every parser of the
// three executables (runner_subcommands.hpp, node_commands.hpp); main
// thread, once, on the way out.
#pragma once

#include <CLI/CLI.hpp>

#include <span>
#include <string>

namespace vitrine::cli {

/// The message for `error`, raised while `app` (the top one) parsed
/// `argv`: the words of the command it is about first ("ctl restart:
/// missing NAME..."). Arguments no command takes are reported instead of
/// any other problem, in the order typed, and an option typed before its
/// command's name is told to go after it. No "vitrine: " prefix and no
/// newline; it may echo arguments as typed, so the caller escapes it.
std::string usage_text(const CLI::App& app, const CLI::Error& error,
                       std::span<const char* const> argv);

/// kill(1)'s form of a signal, `ctl signal -CONT NAME` or `ctl --node
/// HOST:PORT signal -9 NAME`, which CLI11 reads as an unknown option and
/// then reports as something else: the error to print, or "" when argv has
/// no such word.
std::string dashed_signal(int argc, char** argv);

}  // namespace vitrine::cli
