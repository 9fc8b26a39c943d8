// Remote nodes over CAF's middleman, on loopback only: the node is another
// OS process (node_helper), this test is the controller. Waits on mirrored
// states with deadlines (remote_fixture.hpp). TLS: remote_tls_test.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "remote_fixture.hpp"
#include "remote_hub.hpp"
#include "tcp_relay.hpp"
#include "vitrine/os/process_scan.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::core::process_status;
using namespace vitrine::test;  // the fixture (remote_fixture.hpp)

}  // namespace

TEST_CASE(
    "a mirror equals the node's own reads after a churn of remote restarts",
    "[remote]") {
  node_process node{4, 200, 2000};
  controller_of controller{node.endpoint(), 200, 2000, 4};
  auto& mirror = controller.mirror;
  CHECK(mirror_converges(node, mirror));

  for (int round = 0; round < 3; ++round)
    for (const auto& h : mirror.processes()) {
      const pid_t before = h.read()->pid;
      auto cmd = h.restart();
      REQUIRE(cmd);
      REQUIRE(cmd.wait_until(
          [&](const vitrine::core::process_state& s) {
            return s.status == process_status::running && s.pid != before;
          },
          clock_type::now() + patience));
    }
  auto p0 = mirror.find("p0");
  REQUIRE(p0);
  CHECK(p0.read()->pid > 0);
  CHECK(::kill(p0.read()->pid, 0) == 0);  // a real pid, of this machine
  CHECK(mirror_converges(node, mirror));
  {
    // The mirror keeps a history as a local process does (an outside
    // tester found it empty, and waits for a brief state missed it): the
    // last restart's states, oldest first, ending with the state read.
    const auto state = p0.read();
    const auto history = p0.history();
    REQUIRE(history->size() >= 3);
    const auto& last = (*history)[history->size() - 1];
    CHECK(last.version == state->version);
    CHECK(last.status == process_status::running);
    CHECK(last.pid == state->pid);
    bool saw_old_pid = false;
    for (std::size_t i = 0; i + 1 < history->size(); ++i) {
      CHECK((*history)[i].version < (*history)[i + 1].version);
      saw_old_pid = saw_old_pid ||
                    ((*history)[i].pid != state->pid && (*history)[i].pid != 0);
    }
    CHECK(saw_old_pid);
  }
  CHECK_FALSE(mirror.find("no such process"));
  // The messaging baseline asks the node itself: the same state at rest.
  auto asked = mirror.ask("p0", 10s);
  REQUIRE(asked);
  CHECK(asked->pid == p0.read()->pid);
  CHECK(asked->status == process_status::running);
  CHECK_FALSE(mirror.ask("no such process", 10s));
  // "Forever" is a timeout too: it wrapped CAF's deadline into the past
  // (nullopt at once), as it did milliseconds::max() waits.
  CHECK(mirror.ask("p0", std::chrono::milliseconds::max()));
  CHECK(mirror.signal("p0", SIGCONT, std::chrono::milliseconds::max()) == 0);
  CHECK(p0.restart().wait_for(std::chrono::milliseconds::max()));
  CHECK(p0.signal(SIGKILL));  // forwarded: the node restarts it
  CHECK(p0.wait_until(
      [](const vitrine::core::process_state& s) {
        return s.last_exit.how == vitrine::core::termination::kind::signaled &&
               s.status == process_status::running;
      },
      clock_type::now() + patience));
  controller.rt.shutdown();
  CHECK(mirror.status() == vitrine::node_status::closed);
  CHECK_FALSE(p0.restart());  // the mirror is gone: commands are not sent
}

TEST_CASE("node_handle::signal returns once the node has signalled the group",
          "[remote]") {
  node_process node{2, 200, 2000};
  controller_of controller{node.endpoint(), 200, 2000, 2};
  auto& mirror = controller.mirror;
  REQUIRE(mirror_converges(node, mirror));
  const pid_t p0 = node.dump().at("p0").pid;
  REQUIRE(p0 > 0);

  CHECK(mirror.signal("p0", SIGSTOP, 10s) == 0);
  // Answered after the node's kill: p0 is already stopped (T) or on its way
  // there, without any wait here for a mirrored state.
  const auto state_of = [](pid_t pid) {
    const auto entry = vitrine::os::read_proc_entry(pid);
    return entry ? entry->state : '?';
  };
  const auto stopped_by = clock_type::now() + 2s;
  while (state_of(p0) != 'T' && clock_type::now() < stopped_by)
    std::this_thread::sleep_for(1ms);
  CHECK(state_of(p0) == 'T');
  CHECK(mirror.signal("p0", SIGKILL, 10s) == 0);
  const auto restarted_by = clock_type::now() + patience;
  const auto restarted = [&] {
    const auto now = node.dump().at("p0");
    return now.status == "running" && now.pid != p0 && now.pid != 0;
  };
  while (!restarted() && clock_type::now() < restarted_by)
    std::this_thread::sleep_for(50ms);
  CHECK(restarted());

  CHECK(mirror.signal("no such process", SIGTERM, 10s) == ENOENT);
  CHECK(mirror.signal("p0", 0, 10s) == EINVAL);
  CHECK(mirror.signal("p0", NSIG, 10s) == EINVAL);
  auto p1 = mirror.find("p1");
  REQUIRE(p1);
  REQUIRE(p1.stop().wait_for_status(process_status::stopped,
                                    clock_type::now() + patience));
  CHECK(mirror.signal("p1", SIGTERM, 10s) == ESRCH);
  controller.rt.shutdown();
  CHECK(mirror.signal("p0", SIGTERM, 10s) == ENOTCONN);
  CHECK(vitrine::node_handle{}.signal("p0", SIGTERM, 10s) == ENOTCONN);
}

TEST_CASE("a SIGKILLed node becomes unknown, keeping its last known fields",
          "[remote]") {
  node_process node{3, 200, 1000};
  controller_of controller{node.endpoint(), 200, 1000, 3};
  auto& mirror = controller.mirror;
  auto p1 = mirror.find("p1");
  const pid_t last_pid = p1.read()->pid;

  const auto killed_at = clock_type::now();
  ::kill(node.child.pid(), SIGKILL);
  REQUIRE(mirror.wait_for_status(vitrine::node_status::lost,
                                 clock_type::now() + patience));
  for (const auto& h : mirror.processes()) {
    auto s = h.read();
    CHECK(s->status == process_status::unknown);
    CHECK(s->pid != 0);  // the last known pid, not invented
  }
  CHECK(p1.read()->pid == last_pid);
  CHECK(mirror.last_contact() <= killed_at + 50ms);
  CHECK(mirror.last_contact() > clock_type::time_point{});
  // Its connection closed at once: not a silence.
  INFO(mirror.last_error());
  CHECK_THAT(mirror.last_error(), Catch::StartsWith("the connection closed"));
  // Reconnecting fails (nothing listens any more): why the node was lost
  // stays ahead of why the last attempt failed.
  const auto until = clock_type::now() + patience;
  while (mirror.last_error().find("the last attempt") == std::string::npos &&
         clock_type::now() < until)
    std::this_thread::sleep_for(10ms);
  INFO(mirror.last_error());
  CHECK_THAT(mirror.last_error(),
             Catch::StartsWith("the connection closed") &&
                 Catch::Contains("; since then, the last attempt: "));
}

TEST_CASE("a frozen node becomes unknown and is resynchronised when it thaws",
          "[remote]") {
  node_process node{3, 200, 1000};
  controller_of controller{node.endpoint(), 200, 1000, 3};
  auto& mirror = controller.mirror;
  const auto before = mirror_of(mirror);

  const auto stopped_at = clock_type::now();
  ::kill(node.child.pid(), SIGSTOP);
  const bool lost = mirror.wait_for_status(vitrine::node_status::lost,
                                           clock_type::now() + patience);
  if (!lost) {
    // Seen once in a full ctest (2026-12-07), not since: what the mirror
    // and the node were then.
    const auto entry = vitrine::os::read_proc_entry(node.child.pid());
    INFO("mirror " << vitrine::to_string(mirror.status()) << ", last error '"
                   << mirror.last_error() << "', last contact "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(
                          clock_type::now() - mirror.last_contact())
                          .count()
                   << " ms ago; node state " << (entry ? entry->state : '-'));
    REQUIRE(lost);
  }
  // Not before the node was silent for the connection timeout, and said so
  // (whichever of CAF's timeout and the mirror's own noticed it first).
  CHECK(clock_type::now() - stopped_at >= 1000ms);
  INFO(mirror.last_error());
  CHECK_THAT(mirror.last_error(), Catch::StartsWith("silent for "));
  for (const auto& h : mirror.processes())
    CHECK(h.read()->status == process_status::unknown);

  ::kill(node.child.pid(), SIGCONT);
  REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  CHECK(mirror.synchronisations() >= 2);
  CHECK(mirror_of(mirror) == before);
  CHECK(mirror_converges(node, mirror));
}

TEST_CASE(
    "a node that begins to stop says so: stopping() until a node at that "
    "address synchronises again",
    "[remote]") {
  std::optional<node_process> node{std::in_place, 2, 200, 1000};
  const int port = static_cast<int>(node->port);
  controller_of controller{node->endpoint(), 200, 1000, 2};
  auto& mirror = controller.mirror;
  CHECK_FALSE(mirror.stopping());
  ::kill(node->child.pid(), SIGTERM);  // the helper calls shutdown()
  REQUIRE(eventually([&] { return mirror.stopping(); }));
  REQUIRE(mirror.wait_for_status(vitrine::node_status::lost,
                                 clock_type::now() + patience));
  CHECK(mirror.stopping());  // why it went away
  node.reset();
  node.emplace(2, 200, 1000, port);
  REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  CHECK_FALSE(mirror.stopping());
  CHECK(mirror_converges(*node, mirror));
}

TEST_CASE(
    "a node restarted with its programs in another order is mirrored "
    "in that order",
    "[remote]") {
  std::optional<node_process> node{std::in_place, 3, 200, 1000};
  const int port = static_cast<int>(node->port);
  controller_of controller{node->endpoint(), 200, 1000, 3};
  auto& mirror = controller.mirror;
  const auto names = [&] {
    std::vector<std::string> out;
    for (const auto& h : mirror.processes()) out.emplace_back(h.name());
    return out;
  };
  CHECK(names() == std::vector<std::string>{"p0", "p1", "p2"});

  node.reset();  // SIGKILLed
  REQUIRE(mirror.wait_for_status(vitrine::node_status::lost,
                                 clock_type::now() + patience));
  node.emplace(3, 200, 1000, port, std::nullopt,
               std::vector<std::string>{"NODE_HELPER_REVERSE=1"});
  REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  CHECK(mirror.synchronisations() >= 2);
  CHECK(mirror_converges(*node, mirror));
  // Before the fix: p0, p1, p2, the order the first node reported.
  CHECK(names() == std::vector<std::string>{"p2", "p1", "p0"});
}

TEST_CASE(
    "a process removed on the node leaves the mirror; its handles read "
    "removed() and its last state",
    "[remote]") {
  node_process node{2, 200, 2000};
  controller_of controller{node.endpoint(), 200, 2000, 2};
  auto& mirror = controller.mirror;
  auto kept = mirror.find("p0"), gone = mirror.find("p1");
  REQUIRE(gone);
  CHECK_FALSE(gone.removed());
  ::kill(node.child.pid(), SIGHUP);  // the node removes p1
  REQUIRE(node.child.read_until("removed\n", patience));
  REQUIRE(mirror_converges(node, mirror));  // p0 alone
  CHECK_FALSE(mirror.find("p1"));
  CHECK(gone.removed());
  CHECK(gone.read()->status == process_status::stopped);
  CHECK_FALSE(kept.removed());
}

TEST_CASE("transitions missed while the link was cut are a gap, not invented",
          "[remote]") {
  node_process node{3, 200, 1000};
  vitrine::test::tcp_relay relay{static_cast<std::uint16_t>(node.port)};
  controller_of controller{{"127.0.0.1", relay.port()}, 200, 1000, 3};
  auto& mirror = controller.mirror;
  const pid_t old_pid = mirror.find("p0").read()->pid;
  CHECK(mirror.missed_transitions() == 0);

  relay.cut();  // the node keeps running, unreachable
  REQUIRE(mirror.wait_for_status(vitrine::node_status::lost,
                                 clock_type::now() + patience));
  CHECK(mirror.find("p0").read()->status == process_status::unknown);
  ::kill(node.child.pid(), SIGUSR2);  // every program restarts meanwhile
  REQUIRE(node.child.read_until("churned\n", patience));
  std::this_thread::sleep_for(300ms);  // nothing may reach the mirror now
  CHECK(mirror.find("p0").read()->status == process_status::unknown);
  CHECK(mirror.find("p0").read()->pid == old_pid);

  relay.allow();
  REQUIRE(mirror.wait_connected(clock_type::now() + patience));
  CHECK(mirror_converges(node, mirror));
  CHECK(mirror.find("p0").read()->pid != old_pid);
  // Each restart is stopping, stopped..., running: the mirror saw only the
  // end of it, and counts the rest.
  CHECK(mirror.missed_transitions() >= 3);
}

TEST_CASE(
    "a restarted controller gets a full mirror; the node kept supervising",
    "[remote]") {
  node_process node{5, 200, 2000};
  {
    controller_of first{node.endpoint(), 200, 2000, 5};
  }  // the controller goes away
  const auto at_rest = node.dump();
  REQUIRE(at_rest.size() == 5);
  for (const auto& [name, s] : at_rest) CHECK(s.status == "running");

  controller_of second{node.endpoint(), 200, 2000, 5};
  CHECK(mirror_converges(node, second.mirror));
}

TEST_CASE("serving refuses a non-loopback address unless insecure",
          "[remote]") {
  vitrine::runtime rt{controller_options(200, 2000)};
  vitrine::serve_options open;
  open.bind_address = "0.0.0.0";
  CHECK_THROWS_AS(rt.serve(open), std::runtime_error);
  vitrine::serve_options local;
  CHECK(rt.serve(local) > 0);
  vitrine::runtime plain;
  CHECK_THROWS_AS(plain.serve(local), std::runtime_error);
  CHECK_THROWS_AS(plain.connect({"127.0.0.1", 1}), std::runtime_error);
}

TEST_CASE("loopback is 127.0.0.0/8, ::1 and localhost in any case",
          "[remote]") {
  using vitrine::detail::is_loopback_address;
  for (const char* loopback : {"127.0.0.1", "127.200.3.4", "::1", "localhost",
                               "LOCALHOST", "LocalHost"})
    CHECK(is_loopback_address(loopback));
  for (const char* other : {"0.0.0.0", "128.0.0.1", "::", "localhost.",
                            "localhos", "localhost1", "", "example.com"})
    CHECK_FALSE(is_loopback_address(other));
}

TEST_CASE("connect() refuses an endpoint that HOST:PORT parsing refuses",
          "[remote]") {
  // An outside tester's port 0 was taken, and its handle tried forever.
  vitrine::runtime rt{controller_options(200, 2000)};
  for (const auto& bad : {vitrine::remote_endpoint{"127.0.0.1", 0},
                          vitrine::remote_endpoint{"", 80},
                          vitrine::remote_endpoint{"a b", 80}}) {
    INFO(bad.to_string());
    CHECK_THROWS_AS(rt.connect(bad), std::invalid_argument);
  }
  CHECK(rt.connect({"127.0.0.1", 1}));  // taken (nothing listens there)
}

TEST_CASE("endpoints parse as HOST:PORT", "[remote]") {
  auto e = vitrine::remote_endpoint::parse("127.0.0.1:4000");
  REQUIRE(e);
  CHECK(e->host == "127.0.0.1");
  CHECK(e->port == 4000);
  CHECK(vitrine::remote_endpoint::parse("[::1]:80")->host == "::1");
  CHECK_FALSE(vitrine::remote_endpoint::parse("host"));
  CHECK_FALSE(vitrine::remote_endpoint::parse("host:0"));
  CHECK_FALSE(vitrine::remote_endpoint::parse("host:70000"));
  CHECK_FALSE(vitrine::remote_endpoint::parse(":80"));
  CHECK(vitrine::remote_endpoint::parse("[fe80::1%eth0]:80")->host ==
        "fe80::1%eth0");
  CHECK(vitrine::remote_endpoint::parse("node-1.example_x:80"));
  // What a stranger passed and the old parser took.
  for (const char* bad :
       {"[::1:80", "::1:80", " 127.0.0.1:80", "127.0.0.1 :80", "host:+80",
        "host:", "[]:80", "[::1]x:80", "h\xc3\xa9:80", "[::g]:80", "a..b:80",
        ".a:80", "..:80", ".:80", "-a:80", "a-.b:80", "[fe80::1%a.b]:80"})
    CHECK_FALSE(vitrine::remote_endpoint::parse(bad));
  CHECK(vitrine::remote_endpoint::parse("node.example.:80"));
  // A label holds at most 63 characters, a name at most 253.
  const std::string label(63, 'a');
  const std::string longest =
      label + "." + label + "." + label + "." + std::string(61, 'a');  // 253
  CHECK(vitrine::remote_endpoint::parse(longest + ":80"));
  CHECK_FALSE(vitrine::remote_endpoint::parse(longest + "a:80"));
  CHECK_FALSE(vitrine::remote_endpoint::parse(std::string(64, 'a') + ":80"));
}
