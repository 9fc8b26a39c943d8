// The built `vitrine` binary, driven with real config files: `check` on
// good and bad files, `run` until SIGTERM, `status` on what run wrote.
#include <catch2/catch.hpp>

#include <elf.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cli_driver.hpp"
#include "status.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

const char* const good_config = R"(# two programs
[supervisor]
name = "demo"
strategy = "one_for_one"

[[program]]
name = "sleeper"
command = ["sleep", "30"]
startsecs_ms = 0
stop_timeout_ms = 2000

[[program]]
name = "once"
command = "exit 0"
restart = "transient"
startsecs_ms = 0
)";

/// A valid program; each bad case appends one line to it (line 4).
const char* const base_program =
    "[[program]]\n"
    "name = \"a\"\n"
    "command = [\"sleep\", \"1\"]\n";

struct bad_case {
  const char* what;
  std::string text;
  std::string expected;  // `file:line:col: key: ...`, after the file name
};

std::optional<std::vector<vitrine::cli::status_row>> read_status(
    const std::string& path) {
  std::string error;
  return vitrine::cli::rows_from_json(read_file(path), error);
}

}  // namespace

#if VITRINE_CLIENT_STATIC
TEST_CASE("the vitrine client is linked statically", "[cli]") {
  // No PT_INTERP program header: the kernel starts it without the dynamic
  // loader, so it maps and relocates no shared library (CAF and toml++
  // included) before main. Start-up cost: docs/cli.md.
  std::FILE* file = std::fopen(VITRINE_CLI_PATH, "rb");
  REQUIRE(file != nullptr);
  Elf64_Ehdr header{};
  const bool read_header = std::fread(&header, sizeof header, 1, file) == 1;
  std::vector<Elf64_Phdr> segments(read_header ? header.e_phnum : 0);
  const bool read_segments =
      read_header && header.e_phentsize == sizeof(Elf64_Phdr) &&
      std::fseek(file, static_cast<long>(header.e_phoff), SEEK_SET) == 0 &&
      std::fread(segments.data(), sizeof(Elf64_Phdr), segments.size(), file) ==
          segments.size();
  std::fclose(file);
  REQUIRE(read_segments);
  REQUIRE(std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0);
  bool has_interpreter = false, has_load = false;
  for (const auto& segment : segments) {
    has_interpreter |= segment.p_type == PT_INTERP;
    has_load |= segment.p_type == PT_LOAD;
  }
  CHECK(has_load);  // the headers were read
  CHECK_FALSE(has_interpreter);
}
#else
TEST_CASE("the vitrine client loads neither CAF nor toml++", "[cli]") {
  // Sanitizer builds link it dynamically (their runtimes are shared). The
  // dynamic loader lists what it would load, without running main.
  const std::string command =
      std::string{"LD_TRACE_LOADED_OBJECTS=1 '"} + VITRINE_CLI_PATH + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string loaded;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) loaded += buffer;
  REQUIRE(::pclose(pipe) == 0);
  INFO(loaded);
  CHECK(loaded.find("libc.so") != std::string::npos);  // the listing worked
  // CAF's start-up relocations were most of a client command's time.
  CHECK(loaded.find("libcaf") == std::string::npos);
  // check and logs, which read a config, run in vitrine-run.
  CHECK(loaded.find("libtomlplusplus") == std::string::npos);
}
#endif

TEST_CASE("the vitrine front links neither iostream nor CLI11", "[cli]") {
  // Their start-up (the locale and the standard streams; option tables)
  // was most of what `vitrine status` cost above a bare static program
  // (docs/cli.md, "Binaries"): the front reads plain lines itself and
  // leaves the rest to vitrine-cli. Its symbol names are in the file
  // (the build does not strip it): iostream's initialisation, CLI11's App
  // and std::filesystem must not be among them.
  const std::string binary = read_file(VITRINE_CLI_PATH);
  REQUIRE(binary.find("plain_status_line") != std::string::npos);
  CHECK(binary.find("_ZNSt8ios_base4InitC1Ev") == std::string::npos);
  CHECK(binary.find("_ZN3CLI3App") == std::string::npos);
  CHECK(binary.find("_ZNSt10filesystem") == std::string::npos);
}

TEST_CASE("check accepts a valid file and counts its programs", "[cli]") {
  temp_dir dir;
  const auto result = run_cli({"check", dir.write("good.toml", good_config)});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(result.output == "ok: 2 programs\n");
}

TEST_CASE("check reports each kind of problem at its line and exits 1",
          "[cli]") {
  const std::vector<bad_case> cases{
      {"an unknown key", std::string{base_program} + "comand = 3\n",
       ":4:1: program[a].comand: unknown key (did you mean 'command'?)"},
      // Too far from `min_ms` to be a typo; the key without its unit.
      {"a key without its unit",
       std::string{base_program} + "backoff = { min = 10 }\n",
       ":4:13: program[a].backoff.min: unknown key (did you mean "
       "'min_ms'?)"},
      {"a wrong type", std::string{base_program} + "startretries = \"3\"\n",
       ":4:1: program[a].startretries: expected an integer, found a string"},
      {"a missing command", "\n[[program]]\nname = \"a\"\n",
       ":2:1: program[a].command: missing required key 'command'"},
      {"a negative timeout",
       std::string{base_program} + "stop_timeout_ms = -10\n",
       ":4:1: program[a].stop_timeout_ms: must not be negative"},
      {"an unknown signal",
       std::string{base_program} + "stop_signal = \"SIGFOO\"\n",
       ":4:1: program[a].stop_signal: unknown signal 'SIGFOO'"},
      {"a duplicate name", std::string{base_program} + base_program,
       ":5:1: program[a].name: duplicate name 'a' (first used at line 2)"},
      // Groups are read after the programs (before: "first used at line
      // 8", pointing at the later use).
      {"a group's name taken again by a later program",
       "\n[[group]]\nname = \"g\"\n[[group.program]]\nname = \"x\"\n"
       "command = [\"true\"]\n[[program]]\nname = \"g\"\n"
       "command = [\"true\"]\n",
       ":3:1: group[g].name: duplicate name 'g' (used again at line 8)"},
      {"a problem vitrine::validate() finds",
       std::string{base_program} + "cwd = \"/no/such/dir\"\n",
       ":4:1: program[a].cwd: is not an existing directory: /no/such/dir"},
      {"a syntax error", std::string{base_program} + "x = [1,\n",
       ":4:9: syntax: Error while parsing array"},
  };
  temp_dir dir;
  for (const auto& c : cases) {
    SECTION(c.what) {
      const auto file = dir.write("bad.toml", c.text);
      const auto result = run_cli({"check", file});
      INFO(result.output);
      CHECK(result.code == 1);
      CHECK(result.output.find(file + c.expected) != std::string::npos);
    }
  }
}

// Found by an outside tester: a 1 MB unknown key (or stop_signal, cwd...)
// was echoed whole on stderr.
TEST_CASE("check names a huge key or value without echoing it whole", "[cli]") {
  temp_dir dir;
  const std::string key(100'000, 'k');
  const auto file = dir.write(
      "huge.toml", std::string{base_program} + key + " = 1\n" +
                       "stop_signal = \"" + std::string(100'000, 'S') + "\"\n");
  const auto result = run_cli({"check", file});
  INFO(result.output.substr(0, 2000));
  CHECK(result.code == 1);
  CHECK(result.output.find(":4:1: program[a]." + std::string(501, 'k') +
                           "... (100011 bytes): unknown key") !=
        std::string::npos);
  CHECK(result.output.find("... (100017 bytes)") != std::string::npos);
  CHECK(result.output.size() < 3000);
}

TEST_CASE("check reports every problem of one file, in line order", "[cli]") {
  temp_dir dir;
  const auto file = dir.write("bad.toml", R"([supervisor]
strategy = "one_for_none"
[[program]]
name = "a"
comand = ["true"]
stop_timeout_ms = -1
[[program]]
name = "a"
command = ["true"]
stop_signal = 0
backoff = { min_ms = 500, max_ms = 100 }
)");
  const auto result = run_cli({"check", file});
  INFO(result.output);
  CHECK(result.code == 1);
  for (const char* expected :
       {":2:1: supervisor.strategy:", ":3:1: program[a].command: missing",
        ":5:1: program[a].comand: unknown key", ":6:1: program[a].stop_timeout",
        ":8:1: program[a].name: duplicate",
        ":10:1: program[a].stop_signal:", ":11:27: program[a].backoff.max_ms:"})
    CHECK(result.output.find(file + expected) != std::string::npos);
  CHECK(result.output.find("7 problems") != std::string::npos);
}

TEST_CASE("check never crashes on garbage", "[cli]") {
  temp_dir dir;
  const std::string garbage[] = {
      std::string("\0\xff\xfe[[[", 6), "[[program]",           "program = 3",
      "[[program]]\ncommand = {}",     "a.b.c.d = [[[[[]]]]]", "\xef\xbb\xbf"};
  for (const auto& text : garbage) {
    const auto result = run_cli({"check", dir.write("junk.toml", text)});
    INFO(text << "\n" << result.output);
    CHECK(result.code == 1);
  }
  CHECK(run_cli({"check", dir.path() + "/missing.toml"}).code == 1);
}

TEST_CASE("run supervises until SIGTERM, then stops every child and exits 0",
          "[cli]") {
  temp_dir dir;
  const auto config = dir.write("run.toml", good_config);
  const auto status = dir.path() + "/status.json";
  const auto output = dir.path() + "/output";
  cli_process cli{{"run", config, "--plain", "--json-status", status}, output};

  // Wait until the status file shows sleeper running and once exited.
  pid_t sleeper = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && sleeper == 0) {
    std::this_thread::sleep_for(20ms);
    const auto rows = read_status(status);
    if (!rows || rows->size() != 2) continue;
    const auto& s = (*rows)[0];
    const auto& o = (*rows)[1];
    if (s.name == "sleeper" && s.status == "running" && o.name == "once" &&
        o.status == "exited" && o.last_exit == "exit 0")
      sleeper = s.pid;
  }
  INFO(read_file(output));
  REQUIRE(sleeper > 0);

  const auto stop_started = std::chrono::steady_clock::now();
  REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
  const auto code = cli.wait(10s);
  INFO(read_file(output));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - stop_started < 5s);
  CHECK(process_gone(sleeper));

  // The final status file shows everything stopped, and `status` reads it.
  const auto rows = read_status(status);
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].status == "stopped");
  CHECK((*rows)[0].pid == 0);
  const auto shown = run_cli({"status", "--file", status});
  CHECK(shown.code == 0);
  CHECK(shown.output.find("sleeper") != std::string::npos);
  CHECK(run_cli({"status", "--json", "--file", status}).output ==
        read_file(status));
  // Plain mode printed a line per change.
  const auto log = read_file(output);
  CHECK(log.find(" sleeper running pid=") != std::string::npos);
  CHECK(log.find(" once exited pid=0 restarts=0 last_exit=exit 0") !=
        std::string::npos);
}

TEST_CASE("run refuses an invalid config without starting anything", "[cli]") {
  temp_dir dir;
  dir.write("bad.toml", std::string{base_program} + "nope = 1\n");
  // By a relative path, as an operator types it: an outside tester found
  // run naming the file by its absolute path, unlike check.
  const std::string in_dir = "cd '" + dir.path() + "'";
  const auto result = run_cli({"run", "bad.toml", "--plain"}, in_dir);
  CHECK(result.code == 1);
  CHECK(result.output.find("bad.toml:4:1: program[a].nope: unknown key") == 0);
  // The same lines as `check`, then that nothing ran.
  const auto checked = run_cli({"check", "bad.toml"}, in_dir);
  CHECK(checked.code == 1);
  CHECK(result.output == checked.output + "vitrine: nothing was started\n");
}
