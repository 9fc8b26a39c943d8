// The pass that keeps toml++ 3.3 away from the characters it cannot
// classify (cli/toml_prefilter.hpp): where non-ASCII text is refused and
// where it is kept, with positions, through parse_config().
#include "toml_prefilter.hpp"

#include <catch2/catch.hpp>

#include "config.hpp"

using vitrine::cli::parse_config;
using vitrine::cli::parse_options;
using vitrine::cli::detail::find_refusal;

namespace {

/// "line:column message" of the refusal, or "" when nothing is refused.
std::string refusal(std::string_view text) {
  const auto refused = find_refusal(text);
  if (!refused) return "";
  return std::to_string(refused->line) + ":" + std::to_string(refused->column) +
         " " + refused->message;
}

bool refused_at(std::string_view text, unsigned line, unsigned column) {
  const auto refused = find_refusal(text);
  return refused && refused->line == line && refused->column == column;
}

}  // namespace

TEST_CASE("non-ASCII text in strings and comments is kept",
          "[cli][config][toml]") {
  const char* const kept[] = {
      "a = \"caf\xC3\xA9 \xC8\x9D\"\n",      // basic
      "a = 'caf\xC3\xA9'\n",                 // literal
      "a = \"\"\"\n\xC8\x9D\n\"\"\"\n",      // multi-line basic
      "a = '''\n\xC8\x9D\n'''\n",            // multi-line literal
      "# caf\xC3\xA9 \xC8\x9D\na = 1\n",     // comment
      "a = 1 # \xC8\x9D\n",                  // trailing comment
      "\"k\xC3\xA9y\" = 1\n",                // quoted key
      "a = \"q\\\"\xC8\x9D\"\n",             // after an escaped quote
      "a = \"\"\"x \\\n   \\u00E9\"\"\"\n",  // escape after a continuation
      "a = \"\"\"x\"\"\xC8\x9D\"\"\"\n",     // two quotes are content
      "\xEF\xBB\xBF"
      "a = 1\n",  // a byte order mark
  };
  for (const char* text : kept) {
    INFO(text);
    CHECK(refusal(text).empty());
  }
}

TEST_CASE("non-ASCII text outside strings and comments is refused where it is",
          "[cli][config][toml]") {
  // Columns count code points, as toml++'s do: the e-acute before the
  // refused U+021D is one column.
  CHECK(refusal("a = \"\xC3\xA9\" \xC8\x9D\n") ==
        "1:9 character U+021D outside a string or comment: TOML allows "
        "non-ASCII characters only in strings and comments");
  CHECK(refused_at("[[program]]\nn\xC3\xA0me = 1\n", 2, 2));  // bare key
  CHECK(refused_at("a = 1\xC2\xA0\n", 1, 6));                 // no-break space
  CHECK(refused_at("a = \"\"\xC8\x9D\n", 1, 7));  // after an empty string
  // A line break ends a one-line string; `\'` does not escape in a
  // literal string, so the quote after it ends the string.
  CHECK(refused_at("a = \"x\n\xC8\x9D\"\n", 2, 1));
  CHECK(refused_at("a = 'x\\'\xC8\x9D'\n", 1, 9));
  // Four and five quotes close a multi-line string (one or two of them
  // are content).
  CHECK(refused_at("a = \"\"\"x\"\"\"\"\xC8\x9D\n", 1, 13));
  CHECK(refused_at("a = '''x'''''\xC8\x9D\n", 1, 14));
  CHECK(refusal("a = \xC8\n").find("byte 0xC8 (not UTF-8)") !=
        std::string::npos);
}

TEST_CASE("a value starting like a number is read to its end, quotes included",
          "[cli][config][toml]") {
  // toml++ reads `-"na\u00EFve"` as one bare value up to the `]`.
  CHECK(refusal("a = [\"/bin/echo\",-\"na\xC3\xAFve\"]\n")
            .rfind("1:22 character U+00EF in a number or date value", 0) == 0);
  CHECK(refused_at("a = 1\"\xC8\x9D\"\n", 1, 7));
  CHECK(refused_at("a = [\n  1,\n  +\"\xC8\x9D\"]\n", 3, 5));
  CHECK(refused_at("a = 1979-05-27 07:32:00\"\xC8\x9D\"\n", 1, 25));
  // Keys are not read that way, even when they start with a digit.
  CHECK(refusal("1a=\"\xC8\x9D\"\n").empty());
  CHECK(refusal("t = { a = 1, 1b=\"\xC8\x9D\" }\n").empty());
  CHECK(refusal("a = [ [ 1 ], { b = 2 }, \"\xC8\x9D\" ]\n").empty());
  CHECK(refusal("[1a]\nb=\"\xC8\x9D\"\n").empty());
}

TEST_CASE(
    "a multi-line string refuses non-ASCII where toml++ reads white "
    "space",
    "[cli][config][toml]") {
  CHECK(refusal("a = \"\"\"x\\\xC3\xA9\"\"\"\n") ==
        "1:10 character U+00E9 after a backslash: not an escape sequence");
  const std::string continued = refusal("a = \"\"\"x \\\n  \xC8\x9Dy\"\"\"\n");
  CHECK(continued.rfind("2:3 character U+021D first after a line-ending "
                        "backslash",
                        0) == 0);
  CHECK(continued.find("\\u escape") != std::string::npos);
}

TEST_CASE("parse_config reports a refused character as a syntax problem",
          "[cli][config][toml]") {
  // The config fuzzer's input that reached toml++'s unreachable code.
  const std::string text =
      "[[program]]\nname = \"\\u0000badnd = [\"\xC8\x9Din/true\"]\n";
  parse_options options;
  options.base_dir = "/base";
  const auto result = parse_config(text, "t.toml", options);
  REQUIRE(result.problems.size() == 1);
  const auto& problem = result.problems.front();
  CHECK(problem.line == 2);
  CHECK(problem.column == 25);
  CHECK(problem.key == "syntax");
  CHECK(problem.message.find("U+021D outside a string") != std::string::npos);
}

namespace {

/// `part` `count` times, joined by `separator`.
std::string repeated(const std::string& part, std::size_t count,
                     const std::string& separator) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i)
    text += (i == 0 ? "" : separator) + part;
  return text;
}

}  // namespace

TEST_CASE("nesting past max_nesting is refused before toml++ reads it",
          "[cli][config][toml]") {
  using vitrine::cli::detail::max_nesting;
  // A dotted key of 50,000 parts overflowed the stack in toml++: refused
  // at the dot that starts its part 129.
  CHECK(refused_at(repeated("a", 50'000, ".") + " = 1\n", 1, 2 * max_nesting));
  CHECK(refusal(repeated("a", max_nesting + 1, ".") + " = 1\n")
            .find("nested more than 128 levels deep") != std::string::npos);
  CHECK(refusal(repeated("a", max_nesting, ".") + " = 1\n").empty());
  // Table headers, and a key under a header, count their parts together.
  CHECK(refused_at("[" + repeated("t", 50'000, ".") + "]\n", 1,
                   1 + 2 * max_nesting));
  CHECK(refused_at("[[" + repeated("t", 50'000, " . ") + "]]\n", 1,
                   2 + 4 * max_nesting - 1));
  const std::string header = "[" + repeated("t", 100, ".") + "]\n";
  CHECK(refusal(header + repeated("k", 28, ".") + " = 1\n").empty());
  CHECK(refused_at(header + repeated("k", 29, ".") + " = 1\n", 2, 2 * 28));
  // Quoted parts are parts; dots inside quotes are not.
  CHECK(refused_at(repeated("\"q\"", 200, ".") + " = 1\n", 1, 4 * max_nesting));
  std::string quoted = "\"";  // (`"\"" + string` warns, GCC 12 -O3)
  quoted += repeated("q", 5'000, ".");
  quoted += "\" = 1\n";
  CHECK(refusal(quoted).empty());
  // Arrays and inline tables add a level each, and their keys' parts.
  CHECK(refusal("a = " + std::string(max_nesting, '[') +
                std::string(max_nesting, ']') + "\n")
            .empty());
  CHECK(refused_at("a = " + std::string(max_nesting + 1, '[') +
                       std::string(max_nesting + 1, ']') + "\n",
                   1, 4 + max_nesting + 1));
  CHECK(refused_at("a = { " + repeated("b", 200, ".") + " = 1 }\n", 1,
                   6 + 2 * (max_nesting - 1)));
  CHECK(
      refused_at("a = [ { b = 1 }, { " + repeated("c", 200, ".") + " = 1 } ]\n",
                 1, 19 + 2 * (max_nesting - 2)));
  // Dots in values, strings and comments are not keys.
  CHECK(refusal("a = [" + repeated("1.5", 10'000, ", ") + "]\n").empty());
  CHECK(refusal("a = " + repeated("1.5", 1, "") +
                "\nb = 1979-05-27T07:32:00.999\n")
            .empty());
  CHECK(refusal("a = '" + repeated("x", 5'000, ".") + "' # " +
                repeated("y", 5'000, ".") + "\n")
            .empty());
  CHECK(refusal("a = \"\"\"\n" + repeated("x", 5'000, ".\n") + "\n\"\"\"\n")
            .empty());
}

TEST_CASE("32 nested groups are well within max_nesting",
          "[cli][config][toml]") {
  std::string text;
  std::string path;
  for (int level = 1; level <= 32; ++level) {
    if (level > 1) path += '.';
    path += "group";
    text += "[[" + path + "]]\nname = \"g" + std::to_string(level) + "\"\n";
  }
  text += "[[" + path +
          ".program]]\nname = \"p\"\ncommand = [\"/bin/true\"]\n"
          "env.deep.er = \"x\"\n";
  CHECK(refusal(text).empty());
  parse_options options;
  options.base_dir = "/base";
  const auto result = parse_config(text, "t.toml", options);
  for (const auto& problem : result.problems) {
    INFO(problem.line << ":" << problem.column << " " << problem.message);
    CHECK(problem.message.find("nested more than") == std::string::npos);
  }
}
