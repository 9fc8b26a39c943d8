// Intensity 0 (OTP's "no restart tolerated"): valid, it fails the
// supervisor at the first restart that would be needed, stopping every
// child and what they started, and it does not count a stop or start by
// the application.
#include <vector>

#include "reliability_support.hpp"
#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;

TEST_CASE(
    "intensity 0 is valid, and the first restart that would be needed fails "
    "the supervisor and stops its children",
    "[reliability][bad-input][supervisor]") {
  // A root with intensity 0 does not restart the failed tree (as `vitrine
  // run`); the default root would, per its own intensity.
  struct final_root_fixture {
    leak_checker leaks;
    runtime rt{[] {
      runtime_options o;
      o.root_intensity = 0;
      return o;
    }()};
  } f;
  temp_dir dir;
  supervisor_spec tree;
  tree.name = "zero";
  tree.intensity = 0;
  tree.period = 60'000ms;
  tree.children.push_back(sh("zero-sleeper", "exec sleep 1000"));
  auto grandparent =
      sh("zero-grandparent",
         "sleep 1000 & echo $! > " + dir.file("grandchild") + "; wait");
  tree.children.push_back(grandparent);
  // Exits once its siblings run (the file exists), so the exit cannot
  // race with the start sequence.
  tree.children.push_back(
      sh("zero-crasher", "while [ ! -s " + dir.file("grandchild") +
                             " ]; do sleep 0.01; done; exit 1"));

  supervisor_handle sup;
  REQUIRE_NOTHROW(sup = f.rt.supervise(tree));
  REQUIRE(reaches(sup, supervisor_status::failed));
  auto sleeper_h = f.rt.find("zero-sleeper");
  auto grandparent_h = f.rt.find("zero-grandparent");
  auto crasher_h = f.rt.find("zero-crasher");
  REQUIRE(sleeper_h);
  REQUIRE(grandparent_h);
  REQUIRE(crasher_h);
  CHECK(sup.read()->restarts == 0);

  std::vector<pid_t> pids;
  for (const auto& h : {sleeper_h, grandparent_h, crasher_h}) {
    INFO(describe(*h.read()));
    CHECK(h.read()->status == process_status::stopped);
    CHECK(h.read()->pid == 0);
    for (pid_t p : pids_in_history(h)) pids.push_back(p);
  }
  CHECK(crasher_h.read()->last_exit ==
        core::termination{core::termination::kind::exited, 1});
  pids.push_back(read_pid_file(dir.file("grandchild")));
  CHECK(pids.size() == 4);
  CHECK(all_gone(pids));
  // Nothing restarts them later: their states stay where they are.
  const auto version = sleeper_h.read()->version;
  CHECK_FALSE(sleeper_h.wait_for_version_after(version, in(300ms)));
}

TEST_CASE("intensity 0 lets a supervisor run as long as no child exits",
          "[reliability][bad-input][supervisor]") {
  runtime_fixture f;
  supervisor_spec tree;
  tree.name = "zero-calm";
  tree.intensity = 0;
  tree.children = {sh("calm-1", "exec sleep 1000"),
                   sh("calm-2", "exec sleep 1000")};
  supervisor_handle sup;
  REQUIRE_NOTHROW(sup = f.rt.supervise(tree));
  REQUIRE(reaches(sup, supervisor_status::running));
  CHECK(reaches(f.rt.find("calm-1"), process_status::running));
  CHECK(reaches(f.rt.find("calm-2"), process_status::running));
  // A stop and a start by the application are not restarts.
  auto h = f.rt.find("calm-1");
  REQUIRE(h.stop());
  REQUIRE(reaches(h, process_status::stopped));
  REQUIRE(h.start());
  REQUIRE(reaches(h, process_status::running));
  CHECK(sup.read()->status == supervisor_status::running);
}
