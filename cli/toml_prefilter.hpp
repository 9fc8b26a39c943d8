// toml_prefilter: refuses, before toml++ sees a config, the non-ASCII
// characters toml++ 3.3 cannot classify without undefined behaviour, and
// nesting deep enough to exhaust the stack. Internal to the CLI
// (config.cpp).
//
// toml++ 3.3's is_non_ascii_horizontal_whitespace() reaches
// __builtin_unreachable() for most code points in U+00A1-U+0499,
// U+2C4E-U+3047 and U+FBC6-U+FEFE; the parser asks it about characters
// outside strings and comments, right after a backslash in a multi-line
// basic string, and at the first character after a line-ending backslash.
// TOML 1.0 allows no non-ASCII character at the first two places, so
// refusing them there refuses no valid file; the third is valid TOML that
// vitrine refuses with a message that says to write an escape instead.
//
// toml++ also reads a value that starts with a sign or a digit ahead to
// the next value terminator, quotes included (`-"naïve"`); the scan tracks
// where values start so that it refuses those characters too.
//
// toml++ 3.3 limits nested arrays and inline tables (256), not the parts
// of a dotted key or a table header: it builds and frees such a key's
// tables recursively, and a 100 KB key of 50,000 parts overflowed an 8 MiB
// stack (5,000 parts a 1 MiB one) in `check`, `run` and a live run's
// reload. The scan counts the levels a key or value is nested at: the
// table header's parts, the dotted key's, and each array and inline table
// around it; past max_nesting it refuses the file. A configuration needs
// about 40 (32 nested groups, then a program's keys).
//
// Threads: any; pure. Cost: one pass over the text and a small stack of
// the open arrays and inline tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vitrine::cli::detail {

/// The deepest level a key or value may be nested at.
inline constexpr std::uint32_t max_nesting = 128;

struct refused_text {
  std::uint32_t line = 0;    ///< 1-based
  std::uint32_t column = 0;  ///< 1-based, in code points, like toml++'s
  std::string message;       ///< names the character or the nesting
};

/// The first place in `text` that toml++ must not be shown, if any.
std::optional<refused_text> find_refusal(std::string_view text);

}  // namespace vitrine::cli::detail
