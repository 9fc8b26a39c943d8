// config: translates a vitrine TOML file into a supervisor_spec, reporting
// every problem with the file, line and column it comes from.
//
// What it checks: TOML syntax, unknown keys, value types and ranges, signal
// names, required keys (a program's name and command), duplicate names, and
// (with options.semantic_checks) everything vitrine::validate() reports,
// mapped back to the key of the program or group table it concerns. See
// docs/cli.md for the format.
//
// Threads: pure functions with no shared state; call them from any thread.
// Never throws for bad input (may throw std::bad_alloc): every failure is a
// diagnostic. Cost: one parse of the text; semantic checks stat(2) the
// program (a PATH search), cwd and log directories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "vitrine/process_spec.hpp"

namespace vitrine::cli {

/// One problem, printed as `file:line:col: key: message`. `key` is the
/// dotted path of the offending key, e.g. `program[web].stop_timeout_ms`.
struct diagnostic {
  std::string file;
  std::uint32_t line = 0;  ///< 1-based; 0 when unknown
  std::uint32_t column = 0;
  std::string key;
  std::string message;
};

/// "file:line:column: key: message", made safe for a terminal.
std::string describe(const diagnostic& d);

struct parse_options {
  /// Also run vitrine::validate() on every program and group (touches the
  /// file system: the program in PATH, cwd, log directories). Off for
  /// purely syntactic use such as fuzzing.
  bool semantic_checks = true;
  /// Relative paths (a command's program with a '/', cwd, stdout/stderr
  /// files) are resolved against this directory; empty leaves them as is
  /// (vitrine::validate() then refuses them).
  std::string base_dir;
  /// For a reload: the name the running top supervisor keeps (a reload
  /// does not rename it), which no program or group may take; "" at
  /// startup.
  std::string running_top_name;
};

/// A translated configuration: the tree to hand to runtime::supervise().
struct config {
  supervisor_spec tree;           ///< from [supervisor], with every child
  std::size_t program_count = 0;  ///< processes in the whole tree
  std::size_t group_count = 0;    ///< nested supervisors ([[group]])
  /// [supervisor] sets no `intensity` (`period_ms`): the top's value is
  /// derived from its children, not written by the user.
  bool intensity_derived = false;
  bool period_derived = false;
  /// The top's children by name as the last applied file lists them; empty
  /// = as in `tree`. A reload keeps `tree` in running order (it runs added
  /// programs last), so the file's own order is kept here to tell whether
  /// the user reordered anything.
  std::vector<std::string> written_order;
};

struct parse_result {
  config value;  ///< complete only when problems is empty
  std::vector<diagnostic> problems;
  /// What works but likely not as meant (a stop_signal whose default
  /// action does not end a program); their message starts "warning: ".
  /// They do not refuse the file.
  std::vector<diagnostic> warnings;

  bool ok() const noexcept { return problems.empty(); }
};

/// `result`'s warnings and problems, describe()d, in the file's order.
std::vector<std::string> in_file_order(const parse_result& result);

/// Writes `result`'s warnings and problems to `out` in the file's order,
/// one describe()d line each, then, when the file was refused, the
/// problems' count ("3 problems").
void print_problems(const parse_result& result, std::ostream& out);

/// Parses `text`, naming it `file_name` in diagnostics.
parse_result parse_config(std::string_view text, const std::string& file_name,
                          const parse_options& options = {});

/// The largest configuration file load_config_file() accepts: 64 MiB,
/// several times what 100,000 programs take (docs/cli.md, "Limits").
inline constexpr std::uint64_t max_config_bytes = std::uint64_t{64} << 20;

/// os::max_exec_string: `check` refuses a longer argument or variable.
using os::max_exec_string;

/// Reads and parses `path`; relative paths in it are resolved against the
/// file's directory unless options.base_dir says otherwise. A file that
/// cannot be read, is not a regular file (a FIFO, /dev/zero: refused
/// without reading or waiting) or is larger than max_config_bytes is one
/// diagnostic (line 0).
parse_result load_config_file(const std::string& path,
                              parse_options options = {});

}  // namespace vitrine::cli
