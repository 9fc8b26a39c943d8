// What `vitrine node` writes about the peers its port closed: one line a
// second at most, and the ones left out summed up a second after it, even
// when no other refusal comes (until 2026-12-06 they were told only with
// the next refusal, so the end of a burst went unsaid). A node is a
// `vitrine node` process on loopback; the peers send HTTP.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "node_support.hpp"
#include "support/leftovers.hpp"
#include "support/loopback.hpp"

using namespace std::chrono_literals;

namespace {

/// Connects to 127.0.0.1:port, sends 32 bytes of an HTTP request (a BASP
/// header with operation 'G', 71), and closes.
void send_http(unsigned port) {
  const int fd = vitrine::test::try_connect_loopback(port);
  REQUIRE(fd >= 0);
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n.....";
  CHECK(::write(fd, request.data(), 32) == 32);
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {  // until the node closes it
  }
  ::close(fd);
}

}  // namespace

TEST_CASE("vitrine node sums up the refusals it left out a second later",
          "[cli][remote]") {
  vitrine::test::temp_dir dir;
  const auto token = vitrine::test::unique_token();
  const auto config =
      dir.write("one.toml",
                "[[program]]\nname = \"p\"\ncommand = [\"sleep\", "
                "\"1000." +
                    token + "\"]\nstartsecs_ms = 0\n");
  const auto log = dir.file("node.out");
  vitrine::test::cli_process node{
      {"node", config, "--listen", "127.0.0.1:0", "--plain"}, log};
  const auto port = std::stoul(vitrine::test::served_port(log, node.pid()));
  SECTION("while the node starts") {}
  SECTION("once it is idle") {
    // Its run loop then sleeps until something wakes it: until 2026-12-07
    // a refusal did not, and the summary waited for the next wake-up (an
    // outside tester saw none for 65 s).
    std::this_thread::sleep_for(1500ms);
  }
  for (int i = 0; i < 3; ++i) send_http(static_cast<unsigned>(port));
  // The first is told at once, the other two a second after it.
  CHECK(vitrine::test::wait_for_text(
      log, "closed the connection of 127.0.0.1:", 5s, node.pid()));
  CHECK(vitrine::test::wait_for_text(
      log,
      "vitrine node: closed 2 other connections since the last such line: 2 "
      "not BASP framing (operation 71)\n",
      5s, node.pid()));
  const auto text = vitrine::test::read_file(log);
  INFO(text);
  CHECK(vitrine::test::count_of(text, "closed the connection of") == 1);
  ::kill(node.pid(), SIGTERM);
  CHECK(node.wait(10s) == std::optional<int>{0});
  CHECK(vitrine::test::time_until_none(token, 10s).count() >= 0);
}
