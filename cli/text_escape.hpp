// text_escape: makes untrusted text (names, paths, error messages, values
// read from a config or a status file) safe to print on a terminal, and
// quotes a name so that a key path stays well-formed.
//
// terminal_safe() keeps printable ASCII and valid UTF-8 characters, and
// writes as `\xNN` (one per byte) every control byte (C0, DEL), every C1
// control (U+0080..U+009F, e.g. U+009B, an 8-bit CSI), every invisible
// format or bidirectional control (U+200B..U+200F, U+2028..U+202E,
// U+2060..U+206F, U+FEFF) and every byte that is not valid UTF-8: no escape
// sequence, newline or reordering reaches the terminal. A backslash is kept
// as is, so the result is for people, not a reversible encoding.
//
// Threads: pure functions; any thread. Cost: one pass, one allocation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vitrine::cli {

/// `text` with every control, format or invalid byte written as \xNN.
std::string terminal_safe(std::string_view text);

/// terminal_safe() line by line: `text`'s line breaks are kept (a reload's
/// report from the run, a usage error and its hint).
std::string terminal_safe_lines(std::string_view text);

/// `name` as it appears inside a key path's brackets: as is when it is
/// made of [A-Za-z0-9_.:@-] (what a valid name is), else quoted_field():
/// `program[web]`, `program["caf\xc3\xa9 \"x\""]`.
std::string key_label(std::string_view name);

/// `text` in double quotes as a field of a log line (`error="..."`): `"`
/// and `\` written `\"` and `\\`, the rest made terminal_safe(), so the
/// field ends at the first unescaped quote.
std::string quoted_field(std::string_view text);

/// `text` cut to its first `limit` bytes (not inside a UTF-8 character)
/// followed by `... (N bytes)` when it is longer: how a diagnostic shows a
/// hostile key or value without echoing megabytes of it.
std::string cut_for_display(std::string text, std::size_t limit);

/// True when `text` is well-formed UTF-8 (no overlong form, no surrogate).
bool valid_utf8(std::string_view text);

/// Names as `'a', 'b'`, each made terminal_safe().
std::string quoted_names(const std::vector<std::string>& names);

/// validate()'s rendering of a name in its field paths (every byte that is
/// not printable ASCII as \xNN), to match those paths back to a table.
std::string ascii_escaped(std::string_view text);

}  // namespace vitrine::cli
