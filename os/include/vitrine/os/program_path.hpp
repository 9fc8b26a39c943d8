// program_path: the one PATH search used both by launch() and by spec
// validation, so that what validate() accepts is what launch() runs.
//
// Rules (execvp's): a name with a '/' is used as is; a bare name is looked
// up in the child's PATH: the last PATH in launch_options::env if set, else
// ours when inherit_env, else the default "/usr/local/bin:/usr/bin:/bin".
// An empty PATH entry means the current directory. The first regular file
// that we may execute wins; a match that is not executable gives EACCES
// unless a later entry matches.
//
// Thread contract: any thread (reads the environment with getenv).
// Cost: one stat() (+ access()) per PATH entry; a few small allocations.
// script_interpreter(): an open() and a read() of 256 bytes.
#pragma once

#include <string>

#include "vitrine/os/launch.hpp"

namespace vitrine::os {

/// The search path launch() uses for `options` (see the rules above).
std::string search_path_for(const launch_options& options);

/// The interpreter a script's #! line names ("#! /bin/sh -e" gives
/// "/bin/sh"), as the kernel reads it (from the file's first 256 bytes);
/// "" when `path` is not such a script or cannot be read.
std::string script_interpreter(const std::string& path);

/// Resolves options.argv.front(). Returns 0 and sets `path`, or an errno:
/// ENOENT (not found, or empty name), EACCES (found but not executable).
int resolve_program(const launch_options& options, std::string& path);

}  // namespace vitrine::os
