// Bad input, names: runtime::supervise() refuses names that are invalid,
// duplicated or the root's, and what a spec error says of them is clean and
// bounded, whatever bytes they hold.
#include <algorithm>
#include <string>

#include "bad_input_support.hpp"
#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

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
    "supervise refuses duplicate names inside one tree and names already "
    "taken (a process's or a supervisor's)",
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
  SECTION("a supervisor name already taken, at the top or nested") {
    supervisor_spec first;
    first.name = "dup";
    first.children = {sleeper("d1")};
    auto kept = f.rt.supervise(first);
    REQUIRE(reaches(f.rt.find("d1"), process_status::running));

    supervisor_spec again;
    again.name = "dup";
    again.children = {sleeper("d2")};
    check_refused(f.rt, again, "dup.name", "supervisor named 'dup'");
    supervisor_spec outer;
    outer.name = "outer";
    outer.children = {sleeper("d3"), again};
    check_refused(f.rt, outer, "dup.name", "supervisor named 'dup'");
    // Nothing of the refused trees runs, and the name still finds the
    // first supervisor.
    CHECK_FALSE(f.rt.find("d2"));
    CHECK_FALSE(f.rt.find("d3"));
    CHECK_FALSE(f.rt.find_supervisor("outer"));
    CHECK(f.rt.find_supervisor("dup").read()->child_count == 1);
    CHECK(f.rt.root().read()->child_count == 1);
  }
}

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
