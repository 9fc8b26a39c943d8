// A node's process removed or replaced under its name while a controller
// mirrors it (as `vitrine node` applies a reload): the mirror drops the old
// one and takes the new one, and its handles see the removal as local ones
// do. The node is a runtime of this process serving on loopback (its
// supervisor's child changes are the API's), the controller another.
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "remote_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::core::process_status;
using namespace vitrine;
using namespace vitrine::test;  // the fixture (remote_fixture.hpp)

process_spec program(const std::string& name, const std::string& script) {
  process_spec spec;
  spec.name = name;
  spec.launch.argv = {"/bin/sh", "-c", script};
  spec.startsecs = 0ms;
  spec.backoff.min = spec.backoff.max = 10ms;
  spec.stop_timeout = 1000ms;
  return spec;
}

supervisor_spec top_spec() {
  supervisor_spec spec;
  spec.name = "top";
  return spec;
}

/// A runtime serving on loopback, and a controller mirroring it.
struct node_and_controller {
  runtime node{controller_options(100, 2000)};
  supervisor_handle top = node.supervise(top_spec());
  runtime controller{controller_options(100, 2000)};
  node_handle mirror;

  node_and_controller() {
    serve_options local;
    const auto port = node.serve(local);
    REQUIRE(port > 0);
    mirror = controller.connect({"127.0.0.1", port});
    REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  }

  /// Adds `spec` to the node and waits until the mirror shows it running.
  process_handle add(process_spec spec) {
    const auto name = spec.name;
    REQUIRE(top.add_child(std::move(spec)).wait_for(patience));
    process_handle mirrored;
    REQUIRE(eventually([&] {
      mirrored = mirror.find(name);
      return mirrored && mirrored.read()->status == process_status::running;
    }));
    return mirrored;
  }
};

}  // namespace

TEST_CASE(
    "a process the node replaces under its name is mirrored as the new one, "
    "whose versions start again",
    "[remote]") {
  node_and_controller f;
  auto old_mirrored = f.add(program("x", "exec sleep 1001"));
  // Restarts raise the old one's version above the new one's first ones.
  for (int i = 0; i < 4; ++i) {
    const auto local = f.node.find("x");
    REQUIRE(local.restart().wait_for_status(process_status::running,
                                            clock_type::now() + patience));
  }
  const pid_t old_pid = f.node.find("x").read()->pid;
  REQUIRE(eventually([&] { return old_mirrored.read()->pid == old_pid; }));
  REQUIRE(
      f.top.replace_child(program("x", "exec sleep 1002")).wait_for(patience));
  const auto local = f.node.find("x");
  REQUIRE(local.wait_for_status(process_status::running,
                                clock_type::now() + patience));
  const pid_t new_pid = local.read()->pid;
  // Before: the mirror kept the old one's last state (`stopped`) for good.
  // (Between the old one's drop and the new one's first state, the name
  // is not in the mirror: find() is empty.)
  REQUIRE(eventually([&] {
    const auto h = f.mirror.find("x");
    if (!h) return false;
    const auto s = h.read();
    return s->status == process_status::running && s->pid == new_pid;
  }));
  CHECK(old_mirrored.removed());
  CHECK_FALSE(f.mirror.find("x").removed());
  // The new one answers commands through the mirror.
  auto mirrored = f.mirror.find("x");
  REQUIRE(mirrored.restart().wait_until(
      [&](const core::process_state& s) {
        return s.status == process_status::running && s.pid != new_pid;
      },
      clock_type::now() + patience));
  CHECK(f.node.find("x").read()->pid == mirrored.read()->pid);
}

TEST_CASE(
    "a mirrored handle reads removed() as soon as the node begins to remove "
    "the process, before the removal's stop ends",
    "[remote]") {
  node_and_controller f;
  // Ignores SIGTERM: the removal's stop lasts its stop timeout.
  auto slow = program("stub", "trap '' TERM; while :; do sleep 0.05; done");
  slow.stop_timeout = 3000ms;
  auto mirrored = f.add(slow);
  const auto local = f.node.find("stub");
  const auto change = f.top.remove_child("stub");
  // Before: the mirror learnt of it once the stop ended (the node's
  // registry rescan), and a remote ctl waited out the whole stop.
  REQUIRE(eventually([&] { return mirrored.removed(); }));
  CHECK(local.read()->status == process_status::stopping);
  REQUIRE(change.wait_for(patience));
  REQUIRE(eventually([&] { return !f.mirror.find("stub"); }));
  CHECK(mirrored.read()->status != process_status::running);
}
