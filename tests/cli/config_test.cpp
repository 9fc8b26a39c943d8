// The TOML -> supervisor_spec translation (cli/config.hpp), without the
// binary: what each key becomes, order, groups, and problems with lines.
#include "config.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include "cli_driver.hpp"

using namespace vitrine;
using namespace vitrine::cli;
using namespace std::chrono_literals;

namespace {

parse_result parse(const std::string& text, bool semantic = false) {
  parse_options options;
  options.semantic_checks = semantic;
  options.base_dir = "/base";
  return parse_config(text, "t.toml", options);
}

const process_spec& program(const supervisor_spec& s, std::size_t i) {
  return std::get<process_spec>(s.children.at(i));
}

std::string all(const parse_result& r) {
  std::string text;
  for (const auto& d : r.problems) text += describe(d) + "\n";
  return text;
}

}  // namespace

TEST_CASE("every program key is translated into the spec", "[cli][config]") {
  const auto r = parse(R"(
[supervisor]
name = "top"
strategy = "rest_for_one"
intensity = 7
period_ms = 2500

[[program]]
name = "web"
command = ["./bin/web", "--port", "80"]
env = { MODE = "prod", LANG = "C" }
inherit_env = false
cwd = "srv"
umask = "027"
restart = "transient"
expected_exit_codes = [0, 3]
startsecs_ms = 250
startretries = 5
backoff = { min_ms = 50, max_ms = 900, multiplier = 3, jitter = 0.0, reset_after_ms = 1000 }
stop_signal = "INT"
stop_timeout_ms = 1500
stdout = { capture = "/var/log/web.log", max_bytes = 4096, backups = 2 }
stderr = "null"
notify_fd = 3
autostart = false
)");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& tree = r.value.tree;
  CHECK(tree.name == "top");
  CHECK(tree.strategy == restart_strategy::rest_for_one);
  CHECK(tree.intensity == 7);
  CHECK(tree.period == 2500ms);
  REQUIRE(tree.children.size() == 1);
  const auto& p = program(tree, 0);
  CHECK(p.name == "web");
  CHECK(p.launch.argv ==
        std::vector<std::string>{"/base/bin/web", "--port", "80"});
  CHECK(p.launch.env.size() == 2);
  CHECK(!p.launch.inherit_env);
  CHECK(p.launch.cwd == "/base/srv");
  CHECK(p.launch.umask == mode_t{027});
  CHECK(p.restart == restart_policy::transient);
  CHECK(p.expected_exit_codes == std::vector<int>{0, 3});
  CHECK(p.startsecs == 250ms);
  CHECK(p.startretries == 5);
  CHECK(p.backoff.min == 50ms);
  CHECK(p.backoff.max == 900ms);
  CHECK(p.backoff.multiplier == 3.0);
  CHECK(p.backoff.jitter == 0.0);
  CHECK(p.backoff.reset_after == 1000ms);
  CHECK(p.stop_signal == SIGINT);
  CHECK(p.stop_timeout == 1500ms);
  CHECK(p.launch.stdout_target.mode == os::stdio_target::kind::capture);
  CHECK(p.launch.stdout_target.path == "/var/log/web.log");
  CHECK(p.logs.max_bytes == 4096);
  CHECK(p.logs.backups == 2);
  CHECK(p.launch.stderr_target.mode == os::stdio_target::kind::null);
  CHECK(p.launch.notify_fd == 3);
  CHECK(!p.autostart);
}

TEST_CASE("a string command runs through /bin/sh -c; defaults stay",
          "[cli][config]") {
  const auto r = parse("[[program]]\nname = \"x\"\ncommand = \"echo hi\"\n");
  REQUIRE(r.ok());
  CHECK(r.value.tree.name == "main");
  const auto& p = program(r.value.tree, 0);
  CHECK(p.launch.argv == std::vector<std::string>{"/bin/sh", "-c", "echo hi"});
  const process_spec defaults;
  CHECK(p.stop_signal == defaults.stop_signal);
  CHECK(p.stop_timeout == defaults.stop_timeout);
  CHECK(p.restart == defaults.restart);
  CHECK(p.launch.stdout_target.mode == os::stdio_target::kind::inherit);
}

TEST_CASE("signals are accepted by name, SIG name or number", "[cli][config]") {
  for (const auto& [text, sig] : std::vector<std::pair<std::string, int>>{
           {"\"TERM\"", SIGTERM}, {"\"SIGKILL\"", SIGKILL}, {"1", SIGHUP}}) {
    const auto r = parse(
        "[[program]]\nname = \"x\"\ncommand = \"true\"\n"
        "stop_signal = " +
        text + "\n");
    INFO(text << "\n" << all(r));
    REQUIRE(r.ok());
    CHECK(program(r.value.tree, 0).stop_signal == sig);
  }
}

TEST_CASE(
    "a stop_signal whose default action does not end a program is a "
    "warning, SIGSTOP a problem",
    "[cli][config]") {
  const auto with_signal = [](const std::string& name) {
    return parse(
        "[[program]]\nname = \"x\"\ncommand = \"/bin/true\"\n"
        "stop_signal = \"" +
            name + "\"\n",
        true);
  };
  for (const char* name :
       {"WINCH", "CHLD", "CONT", "URG", "TSTP", "TTIN", "TTOU"}) {
    const auto r = with_signal(name);
    INFO(name << "\n" << all(r));
    CHECK(r.ok());  // a program may handle it (Apache stops on WINCH)
    REQUIRE(r.warnings.size() == 1);
    CHECK(describe(r.warnings[0]) ==
          "t.toml:4:1: program[x].stop_signal: warning: SIG" +
              std::string{name} + " ends a program only if it handles it " +
              "(the default action " +
              (name[0] == 'T' ? "stops (suspends) it" : "ignores it") +
              "); otherwise every stop waits stop_timeout_ms and ends in "
              "SIGKILL");
  }
  for (const char* name : {"TERM", "INT", "USR1", "KILL", "RTMIN+3"}) {
    const auto r = with_signal(name);
    INFO(name << "\n" << all(r));
    CHECK(r.ok());
    CHECK(r.warnings.empty());
  }
  // print_problems: in the file's order, warnings among the problems.
  const auto mixed = parse(
      "[[program]]\nname = \"x\"\ncommand = \"/bin/true\"\n"
      "stop_signal = \"STOP\"\n\n[[program]]\nname = \"y\"\n"
      "command = \"/bin/true\"\nstop_signal = \"WINCH\"\n",
      true);
  std::ostringstream printed;
  print_problems(mixed, printed);
  CHECK(printed.str().find("t.toml:4:1:") < printed.str().find("t.toml:9:1:"));
  CHECK(printed.str().ends_with("\n1 problem\n"));
  const auto stop = with_signal("STOP");
  REQUIRE(stop.problems.size() == 1);
  CHECK(stop.problems[0].key == "program[x].stop_signal");
  CHECK(stop.problems[0].message.find("SIGSTOP") != std::string::npos);
}

TEST_CASE("programs and groups start in file order", "[cli][config]") {
  const auto r = parse(R"(
[[program]]
name = "first"
command = "true"

[[group]]
name = "db"
strategy = "one_for_all"
[[group.program]]
name = "pg"
command = "true"
[[group.program]]
name = "bouncer"
command = "true"

[[program]]
name = "last"
command = "true"
)");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.value.program_count == 4);
  CHECK(r.value.group_count == 1);
  const auto& c = r.value.tree.children;
  REQUIRE(c.size() == 3);
  CHECK(program(r.value.tree, 0).name == "first");
  const auto& group = std::get<supervisor_spec>(c[1]);
  CHECK(group.name == "db");
  CHECK(group.strategy == restart_strategy::one_for_all);
  REQUIRE(group.children.size() == 2);
  CHECK(program(group, 1).name == "bouncer");
  CHECK(program(r.value.tree, 2).name == "last");
}

TEST_CASE("problems carry the line, column and key they concern",
          "[cli][config]") {
  const auto r = parse(R"([[program]]
name = "x"
command = []
umask = "999"
stdout = { file = "/tmp/x", capture = "/tmp/y" }
env = { A = 1 }

[[group]]
[[group.program]]
name = "x"
command = "true"
)");
  INFO(all(r));
  REQUIRE(r.problems.size() == 6);
  auto at = [&](std::size_t i) {
    const auto& d = r.problems[i];
    return std::to_string(d.line) + ":" + std::to_string(d.column) + " " +
           d.key;
  };
  CHECK(at(0) == "3:1 program[x].command");
  CHECK(at(1) == "4:1 program[x].umask");
  CHECK(at(2) == "5:1 program[x].stdout");
  CHECK(at(3) == "6:9 program[x].env.A");
  CHECK(at(4) == "8:1 group[#1].name");
  CHECK(at(5) == "10:1 group[#1].program[x].name");
  const auto dup = parse(
      "[[program]]\nname = \"x\"\ncommand = \"true\"\n[[group]]\nname = \"g\"\n"
      "[[group.program]]\nname = \"x\"\ncommand = \"true\"\n");
  REQUIRE(dup.problems.size() == 1);
  CHECK(dup.problems[0].key == "group[g].program[x].name");
  CHECK(dup.problems[0].line == 7);
}

TEST_CASE("validate() problems map back to the key that caused them",
          "[cli][config]") {
  const auto r = parse(R"([[program]]
name = "bad name"
command = ["/definitely/not/here"]
backoff = { min_ms = 900, max_ms = 10 }
stdout = { capture = "/no/such/dir/log" }
)",
                       true);
  INFO(all(r));
  std::vector<std::string> keys;
  for (const auto& d : r.problems)
    keys.push_back(std::to_string(d.line) + " " + d.key);
  CHECK(keys ==
        std::vector<std::string>{"2 program[\"bad name\"].name",
                                 "3 program[\"bad name\"].command",
                                 "4 program[\"bad name\"].backoff.max_ms",
                                 "5 program[\"bad name\"].stdout"});
}

TEST_CASE("an empty program or group name is one problem saying so",
          "[cli][config]") {
  // With no run, the running top's name is "": an empty name was reported
  // as taking it (and a group's also as a duplicate of "").
  for (const char* text :
       {"[[program]]\nname = \"\"\ncommand = \"true\"\n",
        "[[group]]\nname = \"\"\n[[group.program]]\nname = \"a\"\n"
        "command = \"true\"\n"}) {
    const auto r = parse(text);
    INFO(all(r));
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 2);
    CHECK(r.problems[0].message == "must not be empty");
  }
}

TEST_CASE("a program or group without a name is one problem saying so",
          "[cli][config]") {
  // A nameless group was also reported as "must not be empty" (validate()'s
  // word on the same key).
  for (const char* text :
       {"[[program]]\ncommand = \"true\"\n",
        "[[group]]\n[[group.program]]\nname = \"a\"\ncommand = \"true\"\n"}) {
    const auto r = parse(text, true);
    INFO(all(r));
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 1);
    CHECK(r.problems[0].message == "missing required key 'name'");
  }
}

TEST_CASE("a file with no program is a problem", "[cli][config]") {
  CHECK(!parse("").ok());
  CHECK(!parse("[supervisor]\nname = \"x\"\n").ok());
}

TEST_CASE("random mutations of a valid file never throw", "[cli][config]") {
  const std::string valid = R"([supervisor]
name = "s"
[[program]]
name = "p"
command = ["sleep", "1"]
backoff = { min_ms = 1, max_ms = 2 }
stdout = { capture = "/tmp/l", max_bytes = 4096 }
[[group]]
name = "g"
[[group.program]]
name = "q"
command = "true"
)";
  std::mt19937 random{42};
  for (int i = 0; i < 2000; ++i) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const auto pos = random() % text.size();
      switch (random() % 3) {
        case 0:
          text[pos] = static_cast<char>(random() % 256);
          break;
        case 1:
          text.erase(pos, 1 + random() % 8);
          break;
        default:
          text.insert(pos, 1, "[]{}=\"'#,.\n-0"[random() % 13]);
      }
      // push_back, not = "x": GCC 12 -Wrestrict false positive at -O3.
      if (text.empty()) text.push_back('x');
    }
    CHECK_NOTHROW(parse(text, i % 2 == 0));
  }
}

TEST_CASE("load_config_file resolves relative paths against the file",
          "[cli][config]") {
  vitrine::test::temp_dir dir;
  const auto file = dir.write(
      "c.toml", "[[program]]\nname = \"x\"\ncommand = \"true\"\ncwd = \".\"\n");
  const auto r = load_config_file(file);
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(program(r.value.tree, 0).launch.cwd == dir.path() + "/");
  CHECK(!load_config_file(dir.path() + "/missing.toml").ok());
}

TEST_CASE("a refused minimum delay brings no comparison with the default",
          "[cli][config]") {
  const auto r = parse(R"([[program]]
name = "p"
command = "true"
backoff = { min_ms = -5, max_ms = 10 }
)",
                       true);
  INFO(all(r));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].key == "program[p].backoff.min_ms");
  // A valid minimum above the maximum is still reported, at the maximum.
  const auto above = parse(R"([[program]]
name = "p"
command = "true"
backoff = { min_ms = 5000, max_ms = 10 }
)",
                           true);
  INFO(all(above));
  REQUIRE(above.problems.size() == 1);
  CHECK(above.problems[0].key == "program[p].backoff.max_ms");
}
