// exec_beside: how the `vitrine` executables hand a command line on to one
// another (docs/cli.md, "Binaries"): `vitrine` runs `vitrine-cli` for what
// it does not run itself, `vitrine-cli` runs `vitrine-run`. Each is looked
// for in the directory of the running executable, never in PATH, so that
// an installed `vitrine` runs its own halves.
//
// Threads: main thread, before any other thread exists (it replaces the
// process image). Cost: one readlink and one execv. C stdio only, as the
// front links no iostream.
#pragma once

namespace vitrine::cli {

/// Replaces this process with `program` from this executable's directory,
/// given the same arguments (argv[0] included); returns only on failure
/// (1, with a message on stderr).
int exec_beside(const char* program, char** argv);

}  // namespace vitrine::cli
