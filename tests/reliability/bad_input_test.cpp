// Bad input: runtime::supervise() refuses an invalid spec as a whole. It
// throws vitrine::spec_error whose problems() name the field, and nothing is
// started half-way: the registry gets no new entry (same revision), no child
// process appears, and no fd or memory is left behind. Names:
// bad_names_test.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "bad_input_support.hpp"
#include "reliability_support.hpp"
#include "test_support.hpp"
#include "vitrine/os/log_sink.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

TEST_CASE("supervise refuses a program that cannot be run and starts nothing",
          "[reliability][bad-input]") {
  runtime_fixture f;
  temp_dir dir;
  auto spec = sleeper("prog");

  SECTION("an empty argv") {
    spec.launch.argv.clear();
    check_refused(f.rt, spec, "launch.argv", "empty");
  }
  SECTION("an empty program string") {
    spec.launch.argv[0].clear();
    check_refused(f.rt, spec, "launch.argv[0]", "names no program");
  }
  SECTION("a program name with a NUL byte: one problem, saying so") {
    // Before, also "no executable 'sl\x00eep' in PATH" (an outside tester).
    spec.launch.argv[0] = std::string{"sl\0eep", 6};
    check_refused(f.rt, spec, "launch.argv[0]", "NUL byte");
    CHECK(validate(spec).size() == 1);
  }
  SECTION("a program that does not exist") {
    spec.launch.argv = {"/nonexistent/vitrine-no-such-program"};
    check_refused(f.rt, spec, "launch.argv[0]", "does not exist");
  }
  SECTION("a bare name that is not in PATH") {
    spec.launch.argv = {"vitrine-no-such-program-in-path"};
    check_refused(f.rt, spec, "launch.argv[0]", "PATH");
  }
  SECTION("a 100 KB name that is not in PATH: the message quotes a part") {
    spec.launch.argv = {std::string(100'000, 'z')};
    check_refused(f.rt, spec, "launch.argv[0]", "... (100000 bytes)");
    const auto problems = validate(spec);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].message.size() < 300);
  }
  SECTION("a file without execute permission") {
    const auto path = dir.file("not-executable.sh");
    std::ofstream{path} << "#!/bin/sh\nexit 0\n";
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    spec.launch.argv = {path};
    check_refused(f.rt, spec, "launch.argv[0]", "not executable");
  }
  SECTION("a script whose #! interpreter is missing or not executable") {
    // execve() fails with ENOENT (or EACCES) and seems to blame the script.
    const auto path = dir.file("orphan.sh");
    std::ofstream{path} << "#! /nonexistent/interp -x\nexit 0\n";
    REQUIRE(::chmod(path.c_str(), 0755) == 0);
    spec.launch.argv = {path};
    check_refused(f.rt, spec, "launch.argv[0]",
                  "names a #! interpreter that does not exist: "
                  "/nonexistent/interp (in " +
                      path + ")");
    const auto text = dir.file("text");
    std::ofstream{text} << "not a program\n";
    std::ofstream{path} << "#!" << text << "\nexit 0\n";
    check_refused(
        f.rt, spec, "launch.argv[0]",
        "names a #! interpreter that is not an executable file: " + text);
    // A relative one is opened from the working directory, not found in
    // PATH: `#!sh` fails unless the cwd holds an executable `sh`.
    std::ofstream{path} << "#!sh\nexit 0\n";
    spec.launch.cwd = dir.path();
    check_refused(f.rt, spec, "launch.argv[0]",
                  "names a #! interpreter that does not exist: sh (in " + path +
                      "; a relative one is opened from the working "
                      "directory, " +
                      dir.path() + ", not looked up in PATH)");
    REQUIRE(::symlink("/bin/sh", dir.file("sh").c_str()) == 0);
    spec.restart = restart_policy::temporary;
    CHECK(reaches(f.rt.supervise(spec), process_status::exited));
  }
  SECTION("an executable file in no format the kernel runs") {
    // No `#!`, not ELF: execve() fails with ENOEXEC. Unless binfmt_misc
    // has a handler, which might run any format, the check refuses it.
    const bool binfmt =
        std::filesystem::exists("/proc/sys/fs/binfmt_misc/status");
    std::size_t handlers = 0;
    if (binfmt)
      for (const auto& e :
           std::filesystem::directory_iterator("/proc/sys/fs/binfmt_misc"))
        handlers += e.path().filename() != "register" &&
                    e.path().filename() != "status";
    for (const char* text : {"echo no shebang\n", ""}) {
      const auto path = dir.file("no-format.sh");
      std::ofstream{path} << text;
      REQUIRE(::chmod(path.c_str(), 0755) == 0);
      spec.launch.argv = {path};
      if (handlers == 0)
        check_refused(f.rt, spec, "launch.argv[0]", "Exec format error");
      else
        WARN("binfmt_misc has handlers: format check skipped");
    }
    // A script with `#!` and an ELF program pass.
    const auto script = dir.file("script.sh");
    std::ofstream{script} << "#!/bin/sh\nexit 0\n";
    REQUIRE(::chmod(script.c_str(), 0755) == 0);
    spec.launch.argv = {script};
    CHECK(validate(spec).empty());
    spec.launch.argv = {"/bin/sleep", "1"};
    CHECK(validate(spec).empty());
  }
  SECTION("a directory") {
    spec.launch.argv = {dir.path()};
    check_refused(f.rt, spec, "launch.argv[0]", "directory");
  }
  SECTION("a relative path") {
    spec.launch.argv = {"./bin/sh"};
    check_refused(f.rt, spec, "launch.argv[0]", "relative");
    spec.launch.argv = {"bin/sh"};
    check_refused(f.rt, spec, "launch.argv[0]", "relative");
  }
  SECTION("a relative working directory") {
    spec.launch.cwd = "tmp";
    check_refused(f.rt, spec, "launch.cwd");
  }
}

TEST_CASE("supervise refuses argv and env that together exceed half of ARG_MAX",
          "[reliability][bad-input]") {
  runtime_fixture f;
  const long arg_max = ::sysconf(_SC_ARG_MAX);
  REQUIRE(arg_max > 0);
  const auto huge = static_cast<std::size_t>(arg_max) / 2 + 1;
  auto spec = sleeper("huge");

  SECTION("one huge argument") {
    spec.launch.argv.push_back(std::string(huge, 'x'));
    check_refused(f.rt, spec, "launch", "ARG_MAX");
  }
  SECTION("many arguments") {
    for (std::size_t total = 0; total <= huge; total += 4097)
      spec.launch.argv.push_back(std::string(4096, 'a'));
    check_refused(f.rt, spec, "launch", "ARG_MAX");
  }
  SECTION("one huge environment variable") {
    spec.launch.env.emplace_back("VITRINE_HUGE", std::string(huge, 'y'));
    check_refused(f.rt, spec, "launch", "ARG_MAX");
  }
}

TEST_CASE("supervise refuses one exec string over MAX_ARG_STRLEN",
          "[reliability][bad-input]") {
  // The whole argv is far below ARG_MAX / 2, but execve(2) refuses any one
  // string of over 128 KiB (E2BIG): refused here, not at the spawn.
  runtime_fixture f;
  auto spec = sleeper("long-string");
  SECTION("an argument") {
    spec.launch.argv.push_back(std::string(os::max_exec_string, 'x'));
    check_refused(f.rt, spec, "launch.argv[3]", "MAX_ARG_STRLEN");
  }
  SECTION("an environment variable") {
    spec.launch.env.emplace_back("LONG", std::string(os::max_exec_string, 'y'));
    check_refused(f.rt, spec, "launch.env.LONG", "MAX_ARG_STRLEN");
  }
  SECTION("the longest argument the kernel takes is accepted") {
    spec.launch.argv.push_back(std::string(os::max_exec_string - 1, 'z'));
    auto h = f.rt.supervise(spec);
    CHECK(reaches(h, process_status::running));
  }
}

TEST_CASE("supervise refuses a rotation size below 4096 bytes",
          "[reliability][bad-input]") {
  // One byte made the I/O thread rotate for every byte a chatty program
  // wrote (a rename and an open each): other programs' exits went unreaped
  // and their stops hung.
  runtime_fixture f;
  temp_dir dir;
  auto spec = sleeper("tiny-rotation");
  spec.launch.stdout_target = {os::stdio_target::kind::capture,
                               dir.file("out.log")};
  spec.logs.max_bytes = os::min_rotation_bytes - 1;
  check_refused(f.rt, spec, "logs.max_bytes", "at least 4096 (is 4095)");
  spec.logs.max_bytes = os::min_rotation_bytes;
  CHECK(f.rt.supervise(spec));
}

TEST_CASE("supervise refuses enum fields that hold none of their values",
          "[reliability][bad-input]") {
  // As a cast or a deserialized integer can make them: a strategy 3 used
  // to be accepted and left a crashed child in backoff for ever.
  runtime_fixture f;
  SECTION("a supervisor's strategy") {
    supervisor_spec tree;
    tree.name = "odd-strategy";
    tree.strategy = static_cast<restart_strategy>(3);
    tree.children = {sleeper("odd-strategy-child")};
    check_refused(f.rt, tree, "odd-strategy.strategy", "rest_for_one (is 3)");
  }
  SECTION("a process's restart policy") {
    auto spec = sleeper("odd-restart");
    spec.restart = static_cast<restart_policy>(7);
    check_refused(f.rt, spec, "restart", "temporary (is 7)");
  }
  SECTION("a stdio target's kind") {
    auto spec = sleeper("odd-stdout");
    spec.launch.stdout_target.mode = static_cast<os::stdio_target::kind>(42);
    check_refused(f.rt, spec, "launch.stdout", "unknown kind 42");
  }
}

TEST_CASE("supervise refuses negative and absurd durations",
          "[reliability][bad-input]") {
  using std::chrono::hours;
  runtime_fixture f;
  auto spec = sleeper("durations");
  std::string field;
  SECTION("negative startsecs") {
    spec.startsecs = -1ms;
    field = "startsecs";
  }
  SECTION("startsecs of 25 hours") {
    spec.startsecs = hours{25};
    field = "startsecs";
  }
  SECTION("negative stop_timeout") {
    spec.stop_timeout = -500ms;
    field = "stop_timeout";
  }
  SECTION("zero stop_timeout") {
    spec.stop_timeout = 0ms;
    field = "stop_timeout";
  }
  SECTION("the longest stop_timeout there is") {
    spec.stop_timeout = process_spec::duration::max();
    field = "stop_timeout";
  }
  SECTION("negative backoff.min") {
    spec.backoff.min = -10ms;
    field = "backoff.min";
  }
  SECTION("backoff.max of 1000 hours") {
    spec.backoff.max = hours{1000};
    field = "backoff.max";
  }
  SECTION("backoff.max below backoff.min") {
    spec.backoff.min = 500ms;
    spec.backoff.max = 100ms;
    field = "backoff.max";
  }
  SECTION("negative backoff.reset_after") {
    spec.backoff.reset_after = -1ms;
    field = "backoff.reset_after";
  }
  check_refused(f.rt, spec, field);
}

TEST_CASE("supervise refuses signals that do not exist",
          "[reliability][bad-input]") {
  runtime_fixture f;
  auto spec = sleeper("signals");
  std::string field = "stop_signal";
  SECTION("stop_signal 0") {
    spec.stop_signal = 0;
  }
  SECTION("stop_signal 999") {
    spec.stop_signal = 999;
  }
  SECTION("stop_signal -15") {
    spec.stop_signal = -15;
  }
  SECTION("stop_signal NSIG") {
    spec.stop_signal = NSIG;
  }
  SECTION("death_signal 999") {
    spec.launch.death_signal = 999;
    field = "launch.death_signal";
  }
  check_refused(f.rt, spec, field, "signal");
}

TEST_CASE("supervise refuses SIGSTOP as a stop signal: it never ends a program",
          "[reliability][bad-input]") {
  // An outside tester's stop_signal = "STOP" was accepted: every stop
  // then froze the group, waited stop_timeout and killed it.
  runtime_fixture f;
  auto spec = sleeper("frozen");
  spec.stop_signal = SIGSTOP;
  check_refused(f.rt, spec, "stop_signal", "SIGSTOP");
}

TEST_CASE(
    "supervise refuses a restart period of 0, a backoff multiplier below 1 "
    "and a jitter above 1",
    "[reliability][bad-input]") {
  runtime_fixture f;
  SECTION("period 0") {
    supervisor_spec tree;
    tree.name = "no-period";
    tree.period = 0ms;
    tree.children = {sleeper("p0-child")};
    check_refused(f.rt, tree, "period");
  }
  SECTION("a negative period") {
    supervisor_spec tree;
    tree.name = "negative-period";
    tree.period = -1000ms;
    check_refused(f.rt, tree, "period");
  }
  SECTION("multiplier 0.5") {
    auto spec = sleeper("shrinking");
    spec.backoff.multiplier = 0.5;
    check_refused(f.rt, spec, "backoff.multiplier");
  }
  SECTION("multiplier NaN") {
    auto spec = sleeper("nan");
    spec.backoff.multiplier = std::numeric_limits<double>::quiet_NaN();
    check_refused(f.rt, spec, "backoff.multiplier");
  }
  SECTION("jitter 1.5") {
    auto spec = sleeper("jittery");
    spec.backoff.jitter = 1.5;
    check_refused(f.rt, spec, "backoff.jitter");
  }
  SECTION("negative jitter") {
    auto spec = sleeper("jittery");
    spec.backoff.jitter = -0.1;
    check_refused(f.rt, spec, "backoff.jitter");
  }
}

TEST_CASE("supervise refuses expected exit codes outside 0..255",
          "[reliability][bad-input]") {
  runtime_fixture f;
  auto spec = sleeper("codes");
  spec.restart = restart_policy::transient;
  SECTION("300") {
    spec.expected_exit_codes = {0, 300};
  }
  SECTION("-1") {
    spec.expected_exit_codes = {-1};
  }
  check_refused(f.rt, spec, "expected_exit_codes", "0..255");
}

TEST_CASE(
    "one bad process deep in a tree keeps every valid sibling from starting, "
    "and the error lists every problem with its field",
    "[reliability][bad-input]") {
  runtime_fixture f;
  auto bad = sleeper("deep-bad");
  bad.launch.argv = {"/nonexistent/prog"};
  bad.stop_signal = 999;
  bad.startsecs = -5ms;
  bad.backoff.jitter = 2;
  supervisor_spec inner;
  inner.name = "inner";
  inner.children = {sleeper("inner-ok-1"), bad, sleeper("inner-ok-2")};
  supervisor_spec tree;
  tree.name = "outer";
  tree.children = {sleeper("outer-ok-1"), inner, sleeper("outer-ok-2")};

  check_refused(f.rt, tree, "deep-bad.launch.argv[0]");
  try {
    f.rt.supervise(tree);
  } catch (const spec_error& e) {
    std::vector<std::string> fields;
    for (const auto& p : e.problems()) fields.push_back(p.field);
    INFO(e.what());
    for (const char* wanted :
         {"deep-bad.launch.argv[0]", "deep-bad.stop_signal",
          "deep-bad.startsecs", "deep-bad.backoff.jitter"})
      CHECK(std::count(fields.begin(), fields.end(), wanted) == 1);
    CHECK(fields.size() == 4);
  }
  for (const char* name :
       {"outer-ok-1", "outer-ok-2", "inner-ok-1", "inner-ok-2", "deep-bad"})
    CHECK_FALSE(f.rt.find(name));
}

TEST_CASE("refusing a thousand bad specs leaks no memory, fd or process",
          "[reliability][bad-input]") {
  runtime_fixture f;
  auto taken = f.rt.supervise(sleeper("taken"));
  REQUIRE(reaches(taken, process_status::running));
  auto bad_process = sleeper("bad");
  bad_process.launch.argv = {"/nonexistent/prog"};
  bad_process.backoff.multiplier = 0;
  supervisor_spec bad_tree;
  bad_tree.name = "bad-tree";
  bad_tree.children = {sleeper("fine"), sleeper("taken")};
  auto refuse_both = [&] {
    CHECK_THROWS_AS(f.rt.supervise(bad_process), spec_error);
    CHECK_THROWS_AS(f.rt.supervise(bad_tree), spec_error);
  };
  refuse_both();  // warm-up: first-use allocations are not leaks
  const untouched before{f.rt};
  const std::size_t heap_before = reliability::heap_in_use();
  for (int i = 0; i < 1000; ++i) refuse_both();
  if (reliability::heap_measurable()) {
    const std::size_t heap_after = reliability::heap_in_use();
    INFO("heap in use before " << heap_before << " B, after " << heap_after
                               << " B");
    CHECK(heap_after <= heap_before + 64 * 1024);
  }
  CHECK(f.rt.processes().revision() == before.revision);
  CHECK(os::children_of(::getpid()).size() == before.children);
}

// Regression: spec_error used to render field names, which start with the
// offending process name, byte for byte: a NUL in the name ended what() early
// (the other problems vanished), and control characters (escape sequences,
// newlines) went raw into whatever log printed the error. They are now
// written as \xNN.
