// Input hygiene of the config translation and of what the CLI prints:
// hostile names give well-formed key paths at the right line and escaped
// text, every ranged key accepts its documented bounds and refuses one past
// them with a message that names them, and an exec argument over the
// kernel's per-string limit is refused (cli/config.hpp, text_escape.hpp).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>

#include "config.hpp"
#include "render.hpp"
#include "status.hpp"
#include "text_escape.hpp"

using namespace vitrine;
using namespace vitrine::cli;

namespace {

parse_result check(const std::string& text) {
  parse_options options;  // semantic checks on: what `vitrine check` does
  options.base_dir = "/";
  return parse_config(text, "t.toml", options);
}

std::string all(const parse_result& r) {
  std::string text;
  for (const auto& d : r.problems) text += describe(d) + "\n";
  return text;
}

/// No byte a terminal acts on: C0 controls (newline aside), DEL, and the
/// UTF-8 forms of C1 controls (0xc2 0x80..0x9f).
bool terminal_clean(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if ((b < 0x20 && b != '\n') || b == 0x7f) return false;
    if (b == 0xc2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f)
      return false;
  }
  return true;
}

const std::string program_head =
    "[[program]]\nname = \"a\"\ncommand = [\"/bin/sh\", \"-c\", \"exit 0\"]\n";

}  // namespace

TEST_CASE("terminal_safe escapes controls, C1, bidi and invalid bytes only",
          "[cli][escape]") {
  CHECK(terminal_safe("plain text: /a/b \\ ok") == "plain text: /a/b \\ ok");
  CHECK(terminal_safe("caf\xc3\xa9 \xe2\x82\xac") ==
        "caf\xc3\xa9 \xe2\x82\xac");
  CHECK(terminal_safe("a\x1b[31mb") == "a\\x1b[31mb");
  CHECK(terminal_safe("line\nnext\r\t") == "line\\x0anext\\x0d\\x09");
  CHECK(terminal_safe(std::string{"nul\0x", 5}) == "nul\\x00x");
  CHECK(terminal_safe("del\x7f") == "del\\x7f");
  CHECK(terminal_safe("csi\xc2\x9b"
                      "2J") == "csi\\xc2\\x9b2J");                    // U+009B
  CHECK(terminal_safe("rlo\xe2\x80\xae!") == "rlo\\xe2\\x80\\xae!");  // U+202E
  CHECK(terminal_safe("bad\xff\xc3") == "bad\\xff\\xc3");    // invalid, cut
  CHECK(terminal_safe("over\xc0\xaf") == "over\\xc0\\xaf");  // overlong '/'
  CHECK(terminal_safe("sur\xed\xa0\x80") == "sur\\xed\\xa0\\x80");  // U+D800
}

TEST_CASE("valid_utf8 accepts well-formed text only", "[cli][escape]") {
  CHECK(cli::valid_utf8(""));
  CHECK(cli::valid_utf8("api"));
  CHECK(cli::valid_utf8("caf\xc3\xa9"));         // é
  CHECK(cli::valid_utf8("\xf0\x9f\x98\x80"));    // U+1F600
  CHECK_FALSE(cli::valid_utf8("caf\xc3"));       // cut short
  CHECK_FALSE(cli::valid_utf8("\xc0\xaf"));      // overlong '/'
  CHECK_FALSE(cli::valid_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK_FALSE(
      cli::valid_utf8("a\xff"
                      "b"));
}

TEST_CASE("a name that is not a valid name is quoted in key paths",
          "[cli][escape]") {
  CHECK(key_label("web-1.a:b@c_d") == "web-1.a:b@c_d");
  CHECK(key_label("a]b") == "\"a]b\"");
  CHECK(key_label("sp ace") == "\"sp ace\"");
  CHECK(key_label("q\"b\\") == "\"q\\\"b\\\\\"");
  CHECK(key_label("e\x1b[2J") == "\"e\\x1b[2J\"");
}

TEST_CASE(
    "a log field's quotes and backslashes are escaped, so it ends at "
    "its closing quote",
    "[cli][escape]") {
  CHECK(quoted_field("exec /a\"b\\c\n: denied") ==
        "\"exec /a\\\"b\\\\c\\x0a: denied\"");
  CHECK(quoted_field("") == "\"\"");
}

TEST_CASE("a hostile name is reported at its own line, quoted and escaped",
          "[cli][config][escape]") {
  // Line 3: a name with ESC, a non-ASCII letter and a bracket.
  const auto r = check(
      "# comment\n[[program]]\nname = \"caf\xc3\xa9\\u001b[2J]\"\n"
      "command = [\"/bin/sh\"]\nstop_timeout_ms = 0\n");
  INFO(all(r));
  REQUIRE(r.problems.size() == 2);
  CHECK(r.problems[0].line == 3);
  CHECK(r.problems[0].key == "program[\"caf\xc3\xa9\\x1b[2J]\"].name");
  CHECK(r.problems[0].message.find("may only contain") != std::string::npos);
  CHECK(r.problems[1].line == 5);
  CHECK(r.problems[1].key ==
        "program[\"caf\xc3\xa9\\x1b[2J]\"].stop_timeout_ms");
  for (const auto& d : r.problems) CHECK(terminal_clean(describe(d)));
  // An unknown key with a control character in it, and a value with one.
  const auto keys =
      check(program_head + "\"k\\u0007\" = 1\nrestart = \"x\\u001b\"\n");
  INFO(all(keys));
  REQUIRE(keys.problems.size() == 2);
  for (const auto& d : keys.problems) CHECK(terminal_clean(describe(d)));
  CHECK(describe(keys.problems[0]).find("program[a].k\\x07: unknown key") !=
        std::string::npos);
}

TEST_CASE("rows and lines from an untrusted status file print escaped",
          "[cli][render][escape]") {
  status_row row;
  row.name = "evil\x1b]0;title\x07";
  row.status = "running\x1b[2J";
  row.last_exit = "exit\r1";
  row.spawn_error =
      "e\xc2\x9b"
      "31m";
  CHECK(terminal_clean(render_table({row}, 0)));
  CHECK(terminal_clean(render_line(row, 0)));
  CHECK(render_line(row, 0).find("evil\\x1b]0;title\\x07") !=
        std::string::npos);
  supervisor_row sup;
  sup.name = "s\x1b";
  sup.status = "failed";
  sup.failure = "child 'x\x1b' (exit 1)";
  CHECK(terminal_clean(render_supervisor(sup)));
  // What rows_from_json() gives for a file with escapes in it.
  std::string error;
  const auto rows = rows_from_json(
      R"({"supervisors": [], "processes": [{"name": "n\u001b[1m", "status":
      "running", "pid": 1, "version": 1, "restarts": 0, "last_exit": {"kind":
      "none", "value": 0, "text": "-"}, "started_at_unix_ms": 0,
      "spawn_error": ""}]})",
      error);
  INFO(error);
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK(terminal_clean(render_table(*rows, 0)));
}

namespace {

struct ranged_key {
  std::string table;  ///< the lines that set `key = VALUE`: "{}" is VALUE
  std::string key;    ///< as reported
  std::string min, max, below, above;
};

std::string with_value(const std::string& pattern, const std::string& value) {
  std::string text = pattern;
  text.replace(text.find("{}"), 2, value);
  return text;
}

}  // namespace

TEST_CASE("every ranged key accepts its documented bounds and names them",
          "[cli][config][limits]") {
  const std::string day = "86400000";
  const std::string p = "program[a].";
  // Each row: where the key goes, its path, min, max, one below, one above.
  const std::vector<ranged_key> keys{
      {"[supervisor]\nintensity = {}\n", "supervisor.intensity", "0", "1000000",
       "-1", "1000001"},
      {"[supervisor]\nperiod_ms = {}\n", "supervisor.period_ms", "1", day, "0",
       "86400001"},
      {"startretries = {}\n", p + "startretries", "0", "1000", "-1", "1001"},
      {"startsecs_ms = {}\n", p + "startsecs_ms", "0", day, "-1", "86400001"},
      {"stop_timeout_ms = {}\n", p + "stop_timeout_ms", "1", day, "0",
       "86400001"},
      {"notify_fd = {}\n", p + "notify_fd", "3", "1023", "2", "1024"},
      {"umask = {}\n", p + "umask", "0", "0o777", "-1", "0o1000"},
      {"umask = \"{}\"\n", p + "umask", "000", "777", "-1", "1000"},
      {"backoff = { min_ms = {}, max_ms = 86400000 }\n", p + "backoff.min_ms",
       "0", day, "-1", "86400001"},
      {"backoff = { max_ms = {} }\n", p + "backoff.max_ms", "100", day, "-1",
       "86400001"},
      {"backoff = { reset_after_ms = {} }\n", p + "backoff.reset_after_ms", "0",
       day, "-1", "86400001"},
      {"backoff = { multiplier = {} }\n", p + "backoff.multiplier", "1", "100",
       "0.5", "100.5"},
      {"backoff = { jitter = {} }\n", p + "backoff.jitter", "0", "1", "-0.1",
       "1.1"},
      {"restart_limit = { burst = {} }\n", p + "restart_limit.burst", "1",
       "1000000", "0", "1000001"},
      {"restart_limit = { interval_ms = {} }\n",
       p + "restart_limit.interval_ms", "0", day, "-1", "86400001"},
      {"stdout = { capture = \"/tmp/x\", max_bytes = {} }\n",
       p + "stdout.max_bytes", "0", "1125899906842624", "-1",
       "1125899906842625"},
      {"stdout = { capture = \"/tmp/x\", backups = {} }\n",
       p + "stdout.backups", "0", "1000", "-1", "1001"},
      {"expected_exit_codes = [{}]\n", p + "expected_exit_codes", "0", "255",
       "-1", "256"},
      {"stop_signal = {}\n", p + "stop_signal", "1", std::to_string(SIGRTMAX),
       "0", std::to_string(SIGRTMAX + 1)},
  };
  for (const auto& k : keys) {
    const bool top = k.table.starts_with("[supervisor]");
    auto file = [&](const std::string& value) {
      const auto line = with_value(k.table, value);
      return top ? line + program_head : program_head + line;
    };
    for (const auto& ok : {k.min, k.max}) {
      const auto r = check(file(ok));
      INFO(k.key << " = " << ok << "\n" << all(r));
      CHECK(r.ok());
    }
    for (const auto& bad : {k.below, k.above}) {
      const auto r = check(file(bad));
      INFO(k.key << " = " << bad << "\n" << all(r));
      REQUIRE(r.problems.size() == 1);
      CHECK(r.problems[0].key == k.key);
      CHECK(r.problems[0].line > 0);
    }
    // The message for one past the maximum names the maximum (in the form
    // the key is written, or its decimal value).
    const auto over = check(file(k.above));
    const auto& message = over.problems.at(0).message;
    INFO(k.key << ": " << message);
    const std::string max_text = k.max == "0o777" ? "777" : k.max;
    CHECK(message.find(max_text) != std::string::npos);
  }
}

TEST_CASE("a name of 64 bytes is accepted and one of 65 refused",
          "[cli][config][limits]") {
  auto file = [](std::size_t length) {
    return "[[program]]\nname = \"" + std::string(length, 'n') +
           "\"\ncommand = [\"/bin/sh\"]\n";
  };
  CHECK(check(file(64)).ok());
  const auto r = check(file(65));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find("the limit is 64") != std::string::npos);
  CHECK(r.problems[0].line == 2);
  // Far past the limit, every problem still points at its own line.
  const auto far = check("[[program]]\nname = \"" + std::string(300, 'n') +
                         "\"\ncommand = [\"/no/such/program\"]\n");
  REQUIRE(far.problems.size() == 2);
  CHECK(far.problems[0].line == 2);
  CHECK(far.problems[1].line == 3);
}

TEST_CASE("an exec argument or variable over MAX_ARG_STRLEN is refused",
          "[cli][config][limits]") {
  const std::size_t largest = max_exec_string - 1;  // plus its NUL: 128 KiB
  auto argument = [](std::size_t size) {
    return "[[program]]\nname = \"a\"\ncommand = [\"/bin/sh\", \"-c\", \"" +
           std::string(size, 'x') + "\"]\n";
  };
  auto string_command = [](std::size_t size) {
    return "[[program]]\nname = \"a\"\ncommand = \"" + std::string(size, 'x') +
           "\"\n";
  };
  auto variable = [](std::size_t size) {  // "V=" + value
    return "[[program]]\nname = \"a\"\ncommand = [\"/bin/sh\"]\nenv = { V = "
           "\"" +
           std::string(size - 2, 'x') + "\" }\n";
  };
  CHECK(check(argument(largest)).ok());
  CHECK(check(string_command(largest)).ok());
  CHECK(check(variable(largest)).ok());
  const auto arg = check(argument(largest + 1));
  INFO(all(arg));
  REQUIRE(arg.problems.size() == 1);
  CHECK(arg.problems[0].key == "program[a].command");
  CHECK(arg.problems[0].line == 3);
  CHECK(arg.problems[0].message ==
        "element 2 is 131072 bytes, above the limit of 131071 bytes for one "
        "exec argument (MAX_ARG_STRLEN)");
  const auto str = check(string_command(largest + 1));
  REQUIRE(str.problems.size() == 1);
  CHECK(str.problems[0].key == "program[a].command");
  const auto var = check(variable(largest + 1));
  INFO(all(var));
  REQUIRE(var.problems.size() == 1);
  CHECK(var.problems[0].key == "program[a].env.V");
  CHECK(var.problems[0].line == 4);
}

TEST_CASE("argv and env are counted as execve charges them, pointers too",
          "[cli][config][limits]") {
  // An outside tester's argv (300,000 one-byte arguments: 0.6 MB of
  // strings, 3 MB with their argv pointers) passed check, then failed
  // every start with E2BIG. Here as many as make the strings a sixth of
  // ARG_MAX and, with a pointer each, more than half.
  const long arg_max = ::sysconf(_SC_ARG_MAX);
  if (arg_max <= 0 || arg_max > (64l << 20)) {
    WARN("ARG_MAX is " << arg_max << " (stack limit unlimited?): not tested");
    return;
  }
  std::string command = R"(command = ["/bin/sh")";
  for (long i = 1; i < arg_max / 12; ++i) command += R"(, "x")";
  const auto many = check("[[program]]\nname = \"a\"\n" + command + "]\n");
  INFO(all(many).substr(0, 2000));
  REQUIRE(many.problems.size() == 1);
  CHECK(many.problems[0].key == "program[a].command");
  CHECK(many.problems[0].message.find("over half of ARG_MAX") !=
        std::string::npos);
}
