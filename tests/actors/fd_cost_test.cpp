// What a supervised process costs in file descriptors (issue 15): the
// largest real fleet a machine can hold is RLIMIT_NOFILE divided by this
// cost, and docs/study.md section 3 states it as two (the process actor's
// pidfd and the I/O thread's duplicate). A change of that cost must change
// that sentence: this test pins the mechanism with a fleet of 40, not with
// the 10,000 processes the limit is about. And a removed process's capture
// file goes with it.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

/// "p<i>" (appended, not "p" + ...: GCC 12's -Wrestrict misfires there).
std::string name_of(std::size_t i) {
  std::string name = "p";
  name += std::to_string(i);
  return name;
}

}  // namespace

TEST_CASE(
    "each running supervised process holds two of the runtime's "
    "descriptors, and gives both back when it stops",
    "[actors][fd_cost]") {
  runtime_fixture f;
  constexpr std::size_t n = 40;
  const std::size_t before = open_fds();
  supervisor_spec group;
  group.name = "fleet";
  group.parallel_start = true;
  for (std::size_t i = 0; i < n; ++i)
    group.children.emplace_back(sh(name_of(i), "exec sleep 1000"));
  auto tree = f.rt.supervise(std::move(group));
  for (std::size_t i = 0; i < n; ++i)
    REQUIRE(reaches(f.rt.find(name_of(i)), core::process_status::running));
  const std::size_t during = open_fds();
  INFO("descriptors before " << before << ", with " << n
                             << " running: " << during);
  CHECK(during - before == 2 * n);
  CHECK(tree.stop().wait_for_status(core::supervisor_status::stopped,
                                    in(patience)));
  CHECK(eventually([&] { return open_fds() == before; }));
}

TEST_CASE(
    "a removed process's capture file is closed once it is removed, not "
    "when its kill timer would have fired",
    "[actors][fd_cost]") {
  runtime_fixture f;
  temp_dir dir;
  const std::string capture = dir.file("out.log");
  auto spec = sh("talker", "while :; do echo x; sleep 0.05; done");
  spec.stop_timeout = std::chrono::milliseconds{60'000};
  spec.launch.stdout_target = {os::stdio_target::kind::capture, capture};
  const auto holds_capture = [&] {
    std::error_code ignored;  // an fd closed meanwhile has no link
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      if (std::filesystem::read_symlink(e.path(), ignored).string() == capture)
        return true;
    return false;
  };
  auto h = f.rt.supervise(spec);
  REQUIRE(reaches(h, core::process_status::running));
  REQUIRE(eventually(holds_capture));
  // The shell ends on SIGTERM at once; the kill timer (60 s) stays armed.
  auto removal = f.rt.root().remove_child("talker");
  REQUIRE(removal.wait_until(in(patience)));
  REQUIRE(removal.outcome() == change_outcome::done);
  CHECK(eventually([&] { return !holds_capture(); }, 5000ms));
}
