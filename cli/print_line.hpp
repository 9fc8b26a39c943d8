// print_line: one line written through C's stdio from pieces of text, for
// the code the `vitrine` front runs, which links no iostream: iostream's
// static initialisation (the locale and the standard streams) runs before
// main in any program that includes it (docs/cli.md, "Binaries").
//
// Threads: any (stdio locks the stream). Cost: the line is put together
// in one string and written with one fwrite: on unbuffered stderr, one
// write(2), so that lines of processes sharing a pipe do not interleave.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

#include "text_escape.hpp"

namespace vitrine::cli {

/// The pieces, one after another.
inline std::string joined(std::initializer_list<std::string_view> pieces) {
  std::string line;
  for (const std::string_view piece : pieces) line += piece;
  return line;
}

/// Writes the pieces, then '\n', to `out`; a failure shows in
/// std::ferror(out).
inline void print_line(std::FILE* out,
                       std::initializer_list<std::string_view> pieces) {
  std::string line = joined(pieces);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out);
}

/// "vitrine: " and the pieces on stderr as one line, made terminal_safe()
/// as a whole: a path or a name given by the user may hold control bytes,
/// and text made safe already stays as it is.
inline void print_error(std::initializer_list<std::string_view> pieces) {
  print_line(stderr, {"vitrine: ", terminal_safe(joined(pieces))});
}

/// The line under every usage error (exit code 2).
inline constexpr std::string_view usage_hint =
    "Run with --help for more information.";

/// A usage error: print_error()'s line, then usage_hint's, in one write.
inline void print_usage_error(std::initializer_list<std::string_view> pieces) {
  print_line(stderr,
             {"vitrine: ", terminal_safe(joined(pieces)), "\n", usage_hint});
}

}  // namespace vitrine::cli
