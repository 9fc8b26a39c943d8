// toml_prefilter: refuses, before toml++ sees a config, the non-ASCII
// characters toml++ 3.3 cannot classify without undefined behaviour.
// Internal to the CLI (config.cpp).
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
// Threads: any; pure. Cost: one pass over the text and a small stack of
// the open arrays and inline tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vitrine::cli::detail {

struct refused_character {
  std::uint32_t line = 0;    ///< 1-based
  std::uint32_t column = 0;  ///< 1-based, in code points, like toml++'s
  std::string message;       ///< names the character and the place
};

/// The first character of `text` that toml++ must not be shown, if any.
std::optional<refused_character> find_refused_character(std::string_view text);

}  // namespace vitrine::cli::detail
