#include "text_escape.hpp"

#include <algorithm>
#include <cstdint>

namespace vitrine::cli {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, unsigned char byte) {
  out += "\\x";
  out += hex_digits[byte >> 4];
  out += hex_digits[byte & 0xf];
}

/// The length of the valid UTF-8 sequence at the start of `s` and its code
/// point, or 0 when it is not one (overlong forms and surrogates included).
std::size_t utf8_sequence(std::string_view s, std::uint32_t& code) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf)
    length = 2, code = b0 & 0x1f, min = 0x80;
  else if (b0 >= 0xe0 && b0 <= 0xef)
    length = 3, code = b0 & 0x0f, min = 0x800;
  else if (b0 >= 0xf0 && b0 <= 0xf4)
    length = 4, code = b0 & 0x07, min = 0x10000;
  else
    return 0;
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    code = (code << 6) | (b & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return 0;
  return length;
}

/// Code points a terminal would act on or that hide or reorder text.
bool invisible_control(std::uint32_t code) {
  return code <= 0x9f ||  // C1 controls (C0 never get here)
         (code >= 0x200b && code <= 0x200f) ||
         (code >= 0x2028 && code <= 0x202e) ||
         (code >= 0x2060 && code <= 0x206f) || code == 0xfeff;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
         c == ':' || c == '@';
}

}  // namespace

std::string cut_for_display(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  const auto size = text.size();
  std::size_t keep = limit;
  // Back to the first byte of a character (continuation bytes: 10xxxxxx).
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
    --keep;
  text.resize(keep);
  return text + "... (" + std::to_string(size) + " bytes)";
}

std::string terminal_safe(std::string_view text) {
  // Printable ASCII throughout (names, statuses, numbers): one copy.
  const auto printable = [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f;
  };
  const auto first_other =
      std::find_if_not(text.begin(), text.end(), printable);
  if (first_other == text.end()) return std::string{text};
  std::string out;
  out.reserve(text.size());
  out.append(text.begin(), first_other);
  for (std::size_t i = static_cast<std::size_t>(first_other - text.begin());
       i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f) {
      out += text[i++];
      continue;
    }
    std::uint32_t code = 0;
    const std::size_t n =
        byte >= 0x80 ? utf8_sequence(text.substr(i), code) : 0;
    if (n && !invisible_control(code)) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    for (std::size_t k = 0; k < std::max<std::size_t>(n, 1); ++k)
      append_hex(out, static_cast<unsigned char>(text[i + k]));
    i += std::max<std::size_t>(n, 1);
  }
  return out;
}

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t code = 0;
    const std::size_t n = utf8_sequence(text.substr(i), code);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string quoted_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names)
    text += (text.empty() ? "'" : ", '") + terminal_safe(n) + "'";
  return text;
}

std::string key_label(std::string_view name) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), name_char))
    return std::string{name};
  return quoted_field(name);
}

std::string ascii_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f)
      out += c;
    else
      append_hex(out, byte);
  }
  return out;
}

std::string quoted_field(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return '"' + terminal_safe(escaped) + '"';
}

std::string terminal_safe_lines(std::string_view text) {
  std::string out;
  for (;;) {
    const auto end = text.find('\n');
    out += terminal_safe(text.substr(0, end));
    if (end == std::string_view::npos) return out;
    out += '\n';
    text.remove_prefix(end + 1);
  }
}

}  // namespace vitrine::cli
