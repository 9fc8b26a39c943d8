#include "toml_prefilter.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace vitrine::cli::detail {
namespace {

/// Where the scanner is, in TOML's terms. Only the boundaries of strings
/// and comments matter: the scan tracks them as toml++ does, up to the
/// first syntax error toml++ would stop at.
enum class context {
  outside,
  comment,
  basic_string,
  literal_string,
  multiline_basic_string,
  multiline_literal_string,
};

constexpr std::string_view outside_strings =
    "outside a string or comment: TOML allows non-ASCII characters only in "
    "strings and comments";

bool is_ascii(unsigned char c) noexcept {
  return c < 0x80;
}

bool is_digit(unsigned char c) noexcept {
  return c >= '0' && c <= '9';
}

/// What ends a bare value for toml++ (is_value_terminator, ASCII part).
bool is_value_terminator(unsigned char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == ']' || c == '}' ||
         c == ',' || c == '#';
}

bool is_space_or_line_break(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// "U+021D", or "byte 0xC8 (not UTF-8)" where `bytes` does not start with
/// a well-formed UTF-8 sequence.
std::string describe_character(std::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  std::size_t length = 0;
  char32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  }
  bool well_formed = length != 0 && bytes.size() >= length;
  for (std::size_t i = 1; well_formed && i < length; ++i) {
    const auto next = static_cast<unsigned char>(bytes[i]);
    well_formed = (next & 0xC0) == 0x80;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  char text[32];
  if (well_formed)
    std::snprintf(text, sizeof text, "U+%04X",
                  static_cast<unsigned>(code_point));
  else
    std::snprintf(text, sizeof text, "byte 0x%02X (not UTF-8)", lead);
  return text;
}

class scanner {
 public:
  explicit scanner(std::string_view text) noexcept : text_(text) {}

  std::optional<refused_text> run() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF")  // toml++ skips a BOM
      position_ = 3;
    while (!at_end()) {
      if (auto refused = step(); refused) return refused;
    }
    return std::nullopt;
  }

 private:
  /// Reads what starts at the current position; a refusal ends the scan.
  std::optional<refused_text> step() {
    const unsigned char c = current();
    switch (context_) {
      case context::outside:
        return outside(c);
      case context::comment:
        if (c == '\n') {  // the line break is read outside
          context_ = context::outside;
          return std::nullopt;
        }
        break;
      case context::basic_string:
        // A line break ends a one-line string: toml++ stops there with
        // an error, so what follows does not matter.
        if (c == '\n') {
          context_ = context::outside;
          return std::nullopt;
        }
        if (c == '"') {
          context_ = context::outside;
        } else if (c == '\\' && position_ + 1 < text_.size() &&
                   text_[position_ + 1] != '\n') {
          advance(1);  // the escaped character is never a delimiter
        }
        break;
      case context::literal_string:
        if (c == '\n') {
          context_ = context::outside;
          return std::nullopt;
        }
        if (c == '\'') context_ = context::outside;
        break;
      case context::multiline_basic_string:
        if (c == '"') {
          close_multiline_string('"');
          return std::nullopt;
        }
        if (c == '\\') return after_multiline_backslash();
        break;
      case context::multiline_literal_string:
        if (c == '\'') {
          close_multiline_string('\'');
          return std::nullopt;
        }
        break;
    }
    advance(1);
    return std::nullopt;
  }

  /// Outside strings and comments: only ASCII, and what toml++ will read
  /// as a key or a value. Where a value may start, a sign or a digit
  /// starts a number or a date, which toml++ reads ahead up to a value
  /// terminator, quotes included.
  std::optional<refused_text> outside(unsigned char c) {
    if (!is_ascii(c)) return refuse(outside_strings);
    const bool at_value = value_expected_;
    value_expected_ = false;
    switch (c) {
      case '#':
        context_ = context::comment;
        value_expected_ = at_value;  // a comment may sit before a value
        break;
      case '"':
      case '\'':
        open_string(static_cast<char>(c));
        return std::nullopt;
      case '\n':
        // Arrays may span lines; a line of the document starts a key.
        value_expected_ = containers_.empty() ? false : at_value;
        if (containers_.empty()) start_key();
        break;
      case ' ':
      case '\t':
      case '\r':
        value_expected_ = at_value;
        break;
      case '=':
        value_expected_ = true;
        if (key_expected_ && !in_header_) {
          value_level_ = key_level();
          key_expected_ = false;
        }
        break;
      case '.':
        if (key_expected_) {
          ++key_dots_;
          if (key_level() > max_nesting) return refuse_nesting();
        }
        break;
      case '[':
        if (at_value) {
          if (auto refused = open_container('['); refused) return refused;
          value_level_ = levels_.back() + 1;
          value_expected_ = true;
        } else if (key_expected_ && containers_.empty() && !in_header_) {
          in_header_ = true;  // `[` or `[[`: a table header
          key_dots_ = 0;
        }  // else an error toml++ reports
        break;
      case '{':
        if (at_value) {
          if (auto refused = open_container('{'); refused) return refused;
          start_key();
        }
        break;
      case ',':
        value_expected_ = !containers_.empty() && containers_.back() == '[';
        if (value_expected_)
          value_level_ = levels_.back() + 1;
        else if (!containers_.empty())
          start_key();
        break;
      case ']':
      case '}':
        if (!containers_.empty() &&
            containers_.back() == (c == ']' ? '[' : '{')) {
          containers_.pop_back();
          levels_.pop_back();
        } else if (c == ']' && in_header_) {
          header_level_ = key_dots_ + 1;
          in_header_ = false;
          key_expected_ = false;
        }
        break;
      default:
        if (at_value && (is_digit(c) || c == '+' || c == '-'))
          return number_or_date();
        break;
    }
    advance(1);
    return std::nullopt;
  }

  /// A key starts here: at the start of a line of the document, or after
  /// the `{` or a `,` of an inline table.
  void start_key() noexcept {
    key_expected_ = true;
    key_dots_ = 0;
    in_header_ = false;
  }

  /// The nesting level of the key part being read: the table header's
  /// parts (or the inline table's level), then this key's parts.
  std::uint32_t key_level() const noexcept {
    if (in_header_) return key_dots_ + 1;
    const std::uint32_t base = levels_.empty() ? header_level_ : levels_.back();
    return base + key_dots_ + 1;
  }

  /// At the `[` or `{` that opens a value: an array, or an inline table.
  std::optional<refused_text> open_container(char kind) {
    if (value_level_ > max_nesting) return refuse_nesting();
    containers_.push_back(kind);
    levels_.push_back(value_level_);
    return std::nullopt;
  }

  refused_text refuse_nesting() const {
    return {line_, column_,
            "nested more than " + std::to_string(max_nesting) +
                " levels deep (table header, dotted key parts, arrays and "
                "inline tables counted together): vitrine refuses such a "
                "file before reading it, as toml++ reads nesting "
                "recursively, on the stack"};
  }

  /// A value that starts with a sign or a digit, up to a value terminator;
  /// a space followed by a digit continues it (a date and a time).
  std::optional<refused_text> number_or_date() {
    for (;;) {
      while (!at_end() && !is_value_terminator(current())) {
        if (!is_ascii(current()))
          return refuse(
              "in a number or date value: TOML allows non-ASCII characters "
              "only in strings and comments");
        advance(1);
      }
      if (position_ + 1 < text_.size() && current() == ' ' &&
          is_digit(static_cast<unsigned char>(text_[position_ + 1])))
        advance(1);
      else
        return std::nullopt;
    }
  }

  /// At a quote outside: `""` is an empty string, three quotes open a
  /// multi-line string, one a one-line string.
  void open_string(char quote) {
    const std::size_t quotes = run_of(quote);
    const bool basic = quote == '"';
    if (quotes >= 3) {
      context_ = basic ? context::multiline_basic_string
                       : context::multiline_literal_string;
      advance(3);
    } else if (quotes == 2) {
      advance(2);
    } else {
      context_ = basic ? context::basic_string : context::literal_string;
      advance(1);
    }
  }

  /// At a quote in a multi-line string: three or more close it (up to
  /// two more belong to the content, as toml++ reads them), fewer are
  /// content.
  void close_multiline_string(char quote) {
    const std::size_t quotes = run_of(quote);
    if (quotes >= 3) {
      context_ = context::outside;
      advance(std::min<std::size_t>(quotes, 5));
    } else {
      advance(quotes);
    }
  }

  /// At a backslash in a multi-line basic string. toml++ classifies the
  /// character after it, and after a line-ending backslash the first
  /// character past the skipped white space, as white space.
  std::optional<refused_text> after_multiline_backslash() {
    advance(1);
    if (at_end()) return std::nullopt;
    if (!is_ascii(current()))
      return refuse("after a backslash: not an escape sequence");
    if (!is_space_or_line_break(current())) {
      advance(1);  // the escaped character
      return std::nullopt;
    }
    while (!at_end() && is_space_or_line_break(current())) advance(1);
    if (!at_end() && !is_ascii(current()))
      return refuse(
          "first after a line-ending backslash in a multi-line string: "
          "vitrine cannot read it there (toml++ 3.3 misclassifies it), "
          "write it as a \\u escape");
    return std::nullopt;
  }

  refused_text refuse(std::string_view why) const {
    return {line_, column_,
            "character " + describe_character(text_.substr(position_)) + " " +
                std::string{why}};
  }

  bool at_end() const noexcept { return position_ >= text_.size(); }
  unsigned char current() const noexcept {
    return static_cast<unsigned char>(text_[position_]);
  }

  std::size_t run_of(char c) const noexcept {
    std::size_t end = position_;
    while (end < text_.size() && text_[end] == c) ++end;
    return end - position_;
  }

  /// Moves `bytes` ahead, counting lines and (like toml++) code points.
  void advance(std::size_t bytes) noexcept {
    for (; bytes != 0 && !at_end(); --bytes, ++position_) {
      const unsigned char c = current();
      if (c == '\n') {
        ++line_;
        column_ = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++column_;
      }
    }
  }

  std::string_view text_;
  std::size_t position_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t column_ = 1;
  context context_ = context::outside;
  bool value_expected_ = false;  ///< a value may start here (outside)
  std::string containers_;       ///< open arrays '[' and inline tables '{'
  /// The nesting level of each open container (see max_nesting).
  std::vector<std::uint32_t> levels_;
  bool key_expected_ = true;        ///< a key or a table header is read here
  bool in_header_ = false;          ///< between a header's '[' and its ']'
  std::uint32_t key_dots_ = 0;      ///< dots of the key read so far
  std::uint32_t header_level_ = 0;  ///< the current table header's parts
  std::uint32_t value_level_ = 0;   ///< the level of the next value
};

}  // namespace

std::optional<refused_text> find_refusal(std::string_view text) {
  return scanner{text}.run();
}

}  // namespace vitrine::cli::detail
