// os::connect_tcp and os::tcp_addresses on loopback: a listening port
// connects, a closed one is refused, a full backlog is waited for until
// the deadline or a stop request, and names resolve to the addresses
// connect_tcp tries.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "vitrine/os/tcp_connect.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::os::tcp_connect_status;
using clock_type = std::chrono::steady_clock;

/// A socket listening on 127.0.0.1 at a free port (or bound only, when
/// `listening` is false: connections to it are refused).
struct loopback_port {
  explicit loopback_port(bool listening = true)
      : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t size = sizeof a;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &size) ==
            0);
    port = ntohs(a.sin_port);
    if (listening) REQUIRE(::listen(fd.get(), 4) == 0);
  }
  vitrine::os::unique_fd fd;
  std::uint16_t port = 0;
};

}  // namespace

TEST_CASE(
    "connect_tcp connects to a listening port and is refused by a "
    "closed one",
    "[os][tcp]") {
  loopback_port open;
  auto c =
      vitrine::os::connect_tcp("127.0.0.1", open.port, clock_type::now() + 5s);
  CHECK(c.status == tcp_connect_status::connected);
  CHECK(c.fd);

  loopback_port closed{false};
  auto r = vitrine::os::connect_tcp("127.0.0.1", closed.port,
                                    clock_type::now() + 5s);
  CHECK(r.status == tcp_connect_status::refused);
  CHECK_FALSE(r.fd);
}

TEST_CASE(
    "connect_tcp gives up at its deadline or a stop request when "
    "the peer's backlog is full",
    "[os][tcp]") {
  loopback_port full{false};
  REQUIRE(::listen(full.fd.get(), 0) == 0);
  // Fill the accept queue: later SYNs are dropped, so a connect stays in
  // progress, as with a stopped node.
  std::vector<vitrine::os::tcp_connection> filling;
  for (int i = 0; i < 3; ++i)
    filling.push_back(vitrine::os::connect_tcp("127.0.0.1", full.port,
                                               clock_type::now() + 200ms));
  REQUIRE(filling.back().status == tcp_connect_status::no_answer);

  auto start = clock_type::now();
  auto late = vitrine::os::connect_tcp("127.0.0.1", full.port,
                                       clock_type::now() + 300ms);
  CHECK(late.status == tcp_connect_status::no_answer);
  CHECK(clock_type::now() - start >= 300ms);
  CHECK(clock_type::now() - start < 5s);

  std::stop_source stop;
  std::thread stopper{[&] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  }};
  start = clock_type::now();
  auto stopped = vitrine::os::connect_tcp(
      "127.0.0.1", full.port, clock_type::now() + 30s, stop.get_token());
  stopper.join();
  CHECK(stopped.status == tcp_connect_status::no_answer);
  CHECK(clock_type::now() - start >= 200ms);
  CHECK(clock_type::now() - start < 5s);  // not the 30 s deadline
}

TEST_CASE("tcp_addresses lists what a host stands for", "[os][tcp]") {
  using strings = std::vector<std::string>;
  CHECK(vitrine::os::tcp_addresses("127.0.0.1", 4100) ==
        strings{"127.0.0.1:4100"});
  CHECK(vitrine::os::tcp_addresses("::1", 4100) == strings{"[::1]:4100"});
  // The same IPv4 endpoint (a stranger's watch mirrored a node twice).
  CHECK(vitrine::os::tcp_addresses("::ffff:127.0.0.1", 4100) ==
        strings{"127.0.0.1:4100"});
  // localhost is 127.0.0.1 (and maybe ::1) in every /etc/hosts.
  const auto local = vitrine::os::tcp_addresses("localhost", 80);
  CHECK(std::find(local.begin(), local.end(), "127.0.0.1:80") != local.end());
}
