// Bad input: runtime::supervise() refuses an invalid spec as a whole. It
// throws vitrine::spec_error whose problems() name the field, and nothing is
// started half-way: the registry gets no new entry (same revision), no child
// process appears, and no fd or memory is left behind.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include "reliability_support.hpp"
#include "test_support.hpp"
#include "vitrine/os/process_scan.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

namespace {

/// True if `field` is `wanted` or ends with ".wanted" (fields carry the
/// process name as a prefix: "web.launch.argv[0]").
bool names_field(const std::string& field, const std::string& wanted) {
  if (field == wanted) return true;
  const std::string suffix = "." + wanted;
  return field.size() > suffix.size() &&
         field.compare(field.size() - suffix.size(), suffix.size(), suffix) ==
             0;
}

/// What must not change when a spec is refused.
struct untouched {
  explicit untouched(const runtime& rt)
      : revision(rt.processes().revision()),
        entries(rt.processes().size()),
        children(os::children_of(::getpid()).size()) {}
  std::uint64_t revision;
  std::size_t entries;
  std::size_t children;
};

/// Supervises `spec`, expects a spec_error naming `field` (and whose message
/// contains `message_part`, if given), and checks that nothing was started.
template <class Spec>
void check_refused(runtime& rt, Spec spec, const std::string& field,
                   const std::string& message_part = {}) {
  const untouched before{rt};
  bool refused = false;
  try {
    rt.supervise(std::move(spec));
  } catch (const spec_error& e) {
    refused = true;
    INFO("spec_error: " << e.what());
    const auto& problems = e.problems();
    REQUIRE_FALSE(problems.empty());
    const bool named =
        std::any_of(problems.begin(), problems.end(), [&](const auto& p) {
          return names_field(p.field, field) &&
                 p.message.find(message_part) != std::string::npos;
        });
    CHECK(named);
    // what() lists every problem too.
    for (const auto& p : problems)
      CHECK(std::string{e.what()}.find(p.message) != std::string::npos);
  }
  INFO("expected a spec_error naming " << field);
  CHECK(refused);
  CHECK(rt.processes().revision() == before.revision);
  CHECK(rt.processes().size() == before.entries);
  CHECK(os::children_of(::getpid()).size() == before.children);
}

/// A valid, quick, long-running process.
process_spec sleeper(std::string name) {
  return sh(std::move(name), "exec sleep 1000");
}

}  // namespace

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
    check_refused(f.rt, spec, "launch.argv[0]", "empty");
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

TEST_CASE(
    "supervise refuses names with invalid UTF-8, control characters, no "
    "characters at all, or the root supervisor's",
    "[reliability][bad-input]") {
  runtime_fixture f;
  std::string name;
  SECTION("invalid UTF-8") {
    name = "bad\xff\xfe";
  }
  SECTION("valid UTF-8 that is not ASCII") {
    name = "caf\xc3\xa9";
  }
  SECTION("a tab") {
    name = "tab\there";
  }
  SECTION("a newline") {
    name = "new\nline";
  }
  SECTION("an escape sequence") {
    name = "esc\x1b[31m";
  }
  SECTION("a NUL byte") {
    name = std::string("nul\0byte", 8);
  }
  SECTION("a space") {
    name = "with space";
  }
  SECTION("a slash") {
    name = "a/b";
  }
  SECTION("nothing") {
    name = "";
  }
  SECTION("too many characters") {
    name = std::string(65, 'n');
  }
  SECTION("the root supervisor's") {
    name = "root";
  }
  INFO("name of " << name.size() << " bytes");
  check_refused(f.rt, sleeper(name), "name");

  // The same name as a supervisor's, or as a process's inside a tree.
  supervisor_spec tree;
  tree.name = name;
  tree.children.push_back(sleeper("fine-child"));
  check_refused(f.rt, tree, "name");
  supervisor_spec parent;
  parent.name = "fine-parent";
  parent.children.push_back(sleeper(name));
  check_refused(f.rt, parent, "name");
}

TEST_CASE(
    "supervise refuses duplicate names inside one tree and against a process "
    "already supervised",
    "[reliability][bad-input]") {
  runtime_fixture f;

  SECTION("two processes of one supervisor") {
    supervisor_spec tree;
    tree.name = "dups";
    tree.children = {sleeper("twin"), sleeper("other"), sleeper("twin")};
    check_refused(f.rt, tree, "twin.name", "duplicate");
  }
  SECTION("a process in a nested supervisor and one at the top") {
    supervisor_spec inner;
    inner.name = "inner";
    inner.children = {sleeper("twin")};
    supervisor_spec tree;
    tree.name = "outer";
    tree.children = {sleeper("twin"), inner};
    check_refused(f.rt, tree, "twin.name", "duplicate");
  }
  SECTION("a supervisor and a process") {
    supervisor_spec tree;
    tree.name = "same";
    tree.children = {sleeper("same")};
    check_refused(f.rt, tree, "same.name", "duplicate");
  }
  SECTION("a process already supervised") {
    auto first = f.rt.supervise(sleeper("taken"));
    REQUIRE(reaches(first, process_status::running));
    const auto pid = first.read()->pid;
    const auto version = first.read()->version;

    check_refused(f.rt, sleeper("taken"), "taken.name", "already supervised");
    supervisor_spec tree;
    tree.name = "late-tree";
    tree.children = {sleeper("fresh"), sleeper("taken")};
    check_refused(f.rt, tree, "taken.name", "already supervised");
    // Nothing of the refused tree is findable, and the first process was
    // not disturbed.
    CHECK_FALSE(f.rt.find("fresh"));
    CHECK(f.rt.find("taken").read()->pid == pid);
    CHECK(first.read()->version == version);
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
TEST_CASE(
    "a spec error's text lists every problem and holds no control "
    "characters, whatever bytes the offending name contains",
    "[reliability][bad-input]") {
  runtime_fixture f;
  auto spec = sleeper(std::string("nul\0\x1b[2Jbyte", 12));
  spec.stop_signal = 999;
  try {
    f.rt.supervise(spec);
    FAIL("the spec was accepted");
  } catch (const spec_error& e) {
    const std::string text = e.what();
    INFO("what(): " << text);
    CHECK(text.find("is not a valid signal number") != std::string::npos);
    const bool clean = std::none_of(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f;
    });
    CHECK(clean);
  }
}

TEST_CASE("a name far past the limit is cut in every field path it prefixes",
          "[reliability][bad-input]") {
  auto spec = sleeper(std::string(300, 'n'));
  spec.launch.argv = {"/no/such/program"};
  const auto problems = validate(spec);
  REQUIRE(problems.size() >= 2);  // the name and the program
  for (const auto& p : problems) {
    INFO(p.field << ": " << p.message);
    CHECK(p.field.size() < 64 + 4 + 20);
    CHECK(p.field.find(std::string(64, 'n') + "....") == 0);
  }
}
