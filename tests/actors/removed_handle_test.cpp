// process_handle::removed() and supervisor_handle::removed(): a child that
// its supervisor removes is marked before the removal's stop begins, so a
// thread that sees that stop's states can tell a removal from a stop.
#include <catch2/catch.hpp>

#include <optional>
#include <thread>

#include "test_support.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/child_change.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

namespace {

supervisor_spec tree(std::string name, std::vector<child_spec> children) {
  supervisor_spec spec;
  spec.name = std::move(name);
  spec.intensity = 1000;
  spec.period = 1000ms;
  spec.children = std::move(children);
  return spec;
}

process_spec sleeper(std::string name) {
  return sh(std::move(name), "exec sleep 1000");
}

/// Ignores SIGTERM: its stop lasts until the SIGKILL after stop_timeout.
/// Ignores SIGTERM, and runs (readiness on fd 3) only once it does: when
/// `running` came at the spawn, a loaded machine could deliver the stop's
/// SIGTERM before the shell set its trap, and no `stopping` lasted.
process_spec stubborn(std::string name) {
  auto spec =
      sh(std::move(name),
         "trap '' TERM; echo >&3; exec 3>&-; while :; do sleep 1; done");
  spec.launch.notify_fd = 3;
  spec.startsecs = 30'000ms;
  spec.stop_timeout = 1500ms;
  return spec;
}

bool applied(const child_change& change) {
  return change.wait_for(patience) && change.outcome() == change_outcome::done;
}

}  // namespace

TEST_CASE(
    "removed() is set before a removal's stop, for the child and its tree; "
    "a stop is no removal",
    "[child_change][removed]") {
  leak_checker leaks;
  runtime_options options = patient_root();
  options.reads =
      GENERATE(&read_policy::hybrid(), &baseline::messaging_reads());
  runtime rt{options};
  auto app = rt.supervise(
      tree("app", {stubborn("a"), tree("g", {stubborn("x")}), sleeper("k")}));
  auto a = rt.find("a"), x = rt.find("x"), k = rt.find("k");
  auto g = rt.find_supervisor("g");
  REQUIRE(reaches(a, process_status::running));
  REQUIRE(reaches(x, process_status::running));
  REQUIRE(reaches(k, process_status::running));
  CHECK_FALSE(a.removed());
  CHECK_FALSE(g.removed());
  CHECK_FALSE(process_handle{}.removed());
  CHECK_FALSE(supervisor_handle{}.removed());

  // A stop (and a start again) is no removal.
  REQUIRE(k.stop().wait_for_status(
      process_status::stopped, std::chrono::steady_clock::now() + patience));
  CHECK_FALSE(k.removed());

  // The first state of the removal's stop already comes with the mark,
  // while the stop still has over a second to go (stop_timeout).
  auto removal = app.remove_child("a");
  REQUIRE(reaches(a, process_status::stopping));
  CHECK(a.removed());
  REQUIRE(applied(removal));
  CHECK(a.removed());
  CHECK(a.read()->status == process_status::stopped);

  // A supervisor's removal marks its whole tree, each before its stop.
  removal = app.remove_child("g");
  REQUIRE(reaches(x, process_status::stopping));
  CHECK(g.removed());
  CHECK(x.removed());
  REQUIRE(applied(removal));
  CHECK_FALSE(app.removed());
  CHECK_FALSE(k.removed());
}

TEST_CASE(
    "waits end once the actor is gone (removed, or its runtime shut down) "
    "unless its last state satisfies them",
    "[child_change][removed][shutdown]") {
  leak_checker leaks;
  runtime_options options = patient_root();
  options.reads =
      GENERATE(&read_policy::hybrid(), &baseline::messaging_reads());
  const auto start = std::chrono::steady_clock::now();
  const auto far = start + 60s;
  process_handle a, b;
  supervisor_handle app;
  {
    runtime rt{options};
    app = rt.supervise(tree("app", {sleeper("a"), sleeper("b")}));
    a = rt.find("a");
    b = rt.find("b");
    REQUIRE(reaches(a, process_status::running));
    REQUIRE(reaches(b, process_status::running));

    std::optional<bool> a_failed;
    std::thread on_a{
        [&] { a_failed = a.wait_for_status(process_status::failed, far); }};
    REQUIRE(applied(app.remove_child("a")));
    on_a.join();
    CHECK(a_failed == std::optional<bool>{false});

    std::optional<bool> b_failed, app_failed;
    std::thread on_b{
        [&] { b_failed = b.wait_for_status(process_status::failed, far); }};
    std::thread on_app{[&] {
      app_failed = app.wait_for_status(core::supervisor_status::failed, far);
    }};
    rt.shutdown();
    on_b.join();
    on_app.join();
    CHECK(b_failed == std::optional<bool>{false});
    CHECK(app_failed == std::optional<bool>{false});
  }
  // The last states answer at once, either way.
  CHECK(b.wait_for_status(process_status::stopped, far));
  CHECK_FALSE(b.wait_for_status(process_status::running, far));
  CHECK_FALSE(b.restart().wait_for_status(process_status::running, far));
  // Long before any 60 s deadline.
  CHECK(std::chrono::steady_clock::now() - start < 30s);
}
