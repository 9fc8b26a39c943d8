// node_handle::supervise(): a controller hands a node a new spec; the node
// supervises it under its own root and owns it (restarts it, keeps it past
// the controller). The node is another OS process (node_helper); its
// programs, the supervised one included, carry the node's token, so the
// fixture checks none is left behind.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "remote_fixture.hpp"
#include "support/leftovers.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::core::process_status;
using namespace vitrine::test;  // the fixture (remote_fixture.hpp)

/// The parent of `pid` (from /proc), or 0 when it is gone.
pid_t parent_of(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text)) return 0;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  std::istringstream rest{text.substr(text.rfind(')') + 1)};
  char state = 0;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

bool descends_from(pid_t pid, pid_t ancestor) {
  for (int depth = 0; pid > 1 && depth < 64; ++depth) {
    pid = parent_of(pid);
    if (pid == ancestor) return true;
  }
  return false;
}

vitrine::process_spec sleeper(const std::string& name,
                              const std::string& token) {
  vitrine::process_spec spec;
  spec.name = name;
  spec.launch.argv = {"sleep", "1000." + token};
  spec.startsecs = 100ms;
  spec.backoff.min = 10ms;
  return spec;
}

bool problem_names(const vitrine::spec_error& e, const std::string& field) {
  for (const auto& p : e.problems())
    if (p.field.find(field) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a controller supervises a new program that the node then owns",
          "[remote][supervise]") {
  node_process node{1, 200, 2000};
  pid_t pid = 0;
  {
    controller_of controller{node.endpoint(), 200, 2000, 1};
    auto& mirror = controller.mirror;
    auto extra = mirror.supervise(sleeper("extra", node.token));
    REQUIRE(extra);
    CHECK(extra.name() == "extra");
    REQUIRE(extra.wait_for_status(process_status::running,
                                  clock_type::now() + patience));
    pid = extra.read()->pid;
    REQUIRE(pid > 0);
    CHECK(descends_from(pid, node.child.pid()));  // the node launched it
    CHECK(mirror.find("extra").read()->pid == pid);
    auto on_node = node.dump();
    REQUIRE(on_node.count("extra") == 1);
    CHECK(on_node["extra"] == node_state{"running", pid, 0});

    // The node's supervisor restarts it.
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(extra.wait_until(
        [&](const vitrine::core::process_state& s) {
          return s.status == process_status::running && s.pid != pid &&
                 s.restart_count == 1;
        },
        clock_type::now() + patience));
    pid = extra.read()->pid;
    CHECK(descends_from(pid, node.child.pid()));
    CHECK(mirror_converges(node, mirror));

    // A name the node already supervises (its own p0, or the new one).
    for (const char* taken : {"p0", "extra"}) {
      try {
        mirror.supervise(sleeper(taken, node.token));
        FAIL("a duplicate name was accepted: " << taken);
      } catch (const vitrine::spec_error& e) {
        CHECK(problem_names(e, "name"));
        CHECK_THAT(e.what(), Catch::Contains("already supervised"));
      }
    }
    // Refused by the node's validation (the node's file system).
    auto empty = sleeper("empty", node.token);
    empty.launch.argv.clear();
    try {
      mirror.supervise(empty);
      FAIL("an empty argv was accepted");
    } catch (const vitrine::spec_error& e) {
      CHECK(problem_names(e, "launch.argv"));
    }
    auto missing = sleeper("missing", node.token);
    missing.launch.argv = {"/nonexistent/" + node.token};
    CHECK_THROWS_AS(mirror.supervise(missing), vitrine::spec_error);
    // Refused before it leaves: a field that cannot cross.
    auto local_state = sleeper("local", node.token);
    local_state.launch.cgroup_killed = true;
    try {
      mirror.supervise(local_state);
      FAIL("launch.cgroup_killed crossed");
    } catch (const vitrine::spec_error& e) {
      CHECK(problem_names(e, "launch.cgroup_killed"));
    }
    CHECK_FALSE(mirror.find("empty"));
    CHECK_FALSE(mirror.find("missing"));
    CHECK_FALSE(mirror.find("local"));
    CHECK(node.dump().size() == 2);
  }  // the controller shuts down

  // The node keeps it running, same pid; a new controller sees it.
  auto on_node = node.dump();
  REQUIRE(on_node.count("extra") == 1);
  CHECK(on_node["extra"] == node_state{"running", pid, 1});
  CHECK(::kill(pid, 0) == 0);
  controller_of again{node.endpoint(), 200, 2000, 2};
  CHECK(again.mirror.find("extra").read()->pid == pid);
  CHECK(mirror_converges(node, again.mirror));
}

TEST_CASE("supervise on an unreachable node fails with an error",
          "[remote][supervise]") {
  vitrine::connect_options quick;
  quick.command_timeout = 500ms;
  vitrine::runtime rt{controller_options(200, 1000)};
  const auto spec = sleeper("never", unique_token());

  SECTION("a node that never answered") {
    auto nowhere = rt.connect({"127.0.0.1", 1}, quick);  // nothing listens
    const auto started = clock_type::now();
    try {
      nowhere.supervise(spec);
      FAIL("supervised on a port where nothing listens");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("unreachable"));
      CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:1"));
    }
    CHECK(clock_type::now() - started < patience);  // not hung
  }
  SECTION("a node that died") {
    node_process node{1, 200, 1000};
    auto mirror = rt.connect(node.endpoint(), quick);
    REQUIRE(mirror.wait_connected(clock_type::now() + patience));
    ::kill(node.child.pid(), SIGKILL);
    CHECK_THROWS_AS(mirror.supervise(spec), std::runtime_error);
  }
  SECTION("a node that dies while it starts the program") {
    // The node answers once the program left `starting` (2 s here); it is
    // SIGKILLed before. The error says that the node was lost (an outside
    // tester read only "no answer within 4999 ms").
    node_process node{1, 200, 1000};
    auto mirror = rt.connect(node.endpoint(), quick);
    REQUIRE(mirror.wait_connected(clock_type::now() + patience));
    auto slow = spec;
    slow.startsecs = 2s;
    std::thread killer{[&] {
      std::this_thread::sleep_for(300ms);
      ::kill(node.child.pid(), SIGKILL);
    }};
    try {
      mirror.supervise(slow);
      FAIL("supervise() succeeded on a node killed while it started");
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      CHECK_THAT(e.what(), Catch::Contains("did not supervise 'never'"));
      CHECK_THAT(e.what(), Catch::Contains("; the node is "));
      CHECK_THAT(e.what(), Catch::Contains("may or may not have added it"));
    }
    killer.join();
  }
  SECTION("a node that does not accept supervise requests") {
    node_process node{1, 200,          1000,
                      0, std::nullopt, {"NODE_HELPER_REFUSE_SUPERVISE=1"}};
    auto mirror = rt.connect(node.endpoint(), quick);
    REQUIRE(mirror.wait_connected(clock_type::now() + patience));
    CHECK_THROWS_WITH(mirror.supervise(spec),
                      Catch::Contains("accept_supervise"));
    CHECK(node.dump().size() == 1);
  }
  SECTION("a closed node_handle") {
    auto closed = rt.connect({"127.0.0.1", 1}, quick);
    closed.close();
    CHECK_THROWS_WITH(closed.supervise(spec), Catch::Contains("closed"));
    CHECK_THROWS_AS(vitrine::node_handle{}.supervise(spec), std::runtime_error);
  }
}

TEST_CASE(
    "a program the node does not start (autostart off) is mirrored, named, "
    "and started from the controller",
    "[remote][supervise]") {
  node_process node{1, 200, 2000};
  controller_of controller{node.endpoint(), 200, 2000, 1};
  auto& mirror = controller.mirror;
  auto spec = sleeper("idle", node.token);
  spec.autostart = false;
  // Never started, it stays at version 0 on the node: such a state was
  // never pushed, so supervise() waited in vain for the mirror to show it.
  auto idle = mirror.supervise(spec);
  REQUIRE(idle);
  CHECK(idle.read()->name() == "idle");
  CHECK(idle.read()->pid == 0);
  CHECK(idle.read()->version >= 1);  // the mirror's own count starts at 1
  // The mirror named a new process before it published its first state: a
  // supervise() that looked in between returned a version-0 handle (CI of
  // stop 29, once). A reader polling find() meanwhile sees
  // that window far more often than supervise() alone.
  constexpr int more = 12;
  std::atomic<bool> adding{true};
  std::atomic<int> unpublished_seen{0};
  std::thread poller{[&] {
    while (adding.load()) {
      for (int i = 0; i < more; ++i)
        if (auto h = mirror.find("idle-" + std::to_string(i));
            h && h.read()->version == 0)
          unpublished_seen.fetch_add(1);
    }
  }};
  for (int i = 0; i < more; ++i) {
    auto spec_i = sleeper("idle-" + std::to_string(i), node.token);
    spec_i.autostart = false;
    auto handle = mirror.supervise(spec_i);
    REQUIRE(handle);
    CHECK(handle.read()->version >= 1);
    CHECK(handle.read()->status == process_status::stopped);
  }
  adding.store(false);
  poller.join();
  CHECK(unpublished_seen.load() == 0);
  CHECK(mirror_converges(node, mirror));
  REQUIRE(idle.start().wait_for_status(process_status::running,
                                       clock_type::now() + patience));
  CHECK(descends_from(idle.read()->pid, node.child.pid()));
  CHECK(mirror_converges(node, mirror));
}
