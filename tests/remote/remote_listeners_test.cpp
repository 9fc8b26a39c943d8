// A guarded node's doors: what listens (behind its framing guard,
// nothing: the middleman is reached only through the guard's socketpairs,
// with TLS or without, so a local user cannot skip the guard's checks on
// another 127.0.0.1 port, as until 2026-12-05, and 2026-12-06 with TLS) and
// what a peer must send first (a client handshake: heartbeats before it kept a
// connection open past the silence limit, docs/distribution.md).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "remote_fixture.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace vitrine::test;  // the fixture (remote_fixture.hpp)

/// Socket inodes among the open files of `pid`.
std::set<unsigned long> socket_inodes_of(pid_t pid) {
  std::set<unsigned long> inodes;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    char target[64] = {};
    const std::string link = dir + "/" + e->d_name;
    const auto n = ::readlink(link.c_str(), target, sizeof target - 1);
    unsigned long inode = 0;
    if (n > 0 && std::sscanf(target, "socket:[%lu]", &inode) == 1)
      inodes.insert(inode);
  }
  ::closedir(d);
  return inodes;
}

/// The ports of the TCP sockets in LISTEN state (IPv4 and IPv6) whose
/// inode is in `inodes`.
std::vector<unsigned> listening_ports(const std::set<unsigned long>& inodes) {
  std::vector<unsigned> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{table};
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid
      // timeout inode
      std::istringstream row{line};
      std::string slot, local, remote, state, queues, timer, retransmits, uid,
          timeout;
      unsigned long inode = 0;
      row >> slot >> local >> remote >> state >> queues >> timer >>
          retransmits >> uid >> timeout >> inode;
      if (state != "0A" || !inodes.contains(inode)) continue;
      ports.push_back(
          std::stoul(local.substr(local.find(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

}  // namespace

TEST_CASE("a guarded node listens on its public port only", "[remote]") {
  node_process node{2, 200, 2000};
  // Served: a controller mirrors it through the guard.
  controller_of controller{node.endpoint(), 200, 2000, 2};
  CHECK(mirror_converges(node, controller.mirror));
  const auto ports = listening_ports(socket_inodes_of(node.child.pid()));
  REQUIRE(ports.size() == 1);
  CHECK(ports.front() == node.port);
}

TEST_CASE("a TLS node listens on its public port only", "[remote][tls]") {
  // Until 2026-12-06 CAF was the TLS end, on a second port on 127.0.0.1
  // where a local user skipped the guard (and spun a core with a silent
  // connection); the guard is the TLS end now.
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{
      2, 200, 2000, 0,
      vitrine::tls_options{pki.node_cert, pki.node_key, pki.ca, {}}};
  controller_of controller{
      node.endpoint(), 200, 2000, 2,
      vitrine::tls_options{
          pki.controller_cert, pki.controller_key, pki.ca, {}}};
  CHECK(mirror_converges(node, controller.mirror));
  const auto ports = listening_ports(socket_inodes_of(node.child.pid()));
  REQUIRE(ports.size() == 1);
  CHECK(ports.front() == node.port);
}

TEST_CASE("a peer whose first BASP message is not a client handshake is closed",
          "[remote]") {
  // Silence limit 1 s: a heartbeat (operation 6, no payload) every 200 ms
  // completes a message each time, and kept a connection that never
  // handshakes open for as long as it went on.
  node_process node{2, 200, 1000};
  const int fd = connect_loopback(node.port);
  const unsigned char heartbeat[32] = {6};
  bool closed = false;
  const auto until = clock_type::now() + std::chrono::seconds{3};
  while (!closed && clock_type::now() < until) {
    (void)!::send(fd, heartbeat, sizeof heartbeat, MSG_NOSIGNAL);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) == 1) {
      char buf[256];  // the node's server handshake first: dropped
      closed = ::read(fd, buf, sizeof buf) <= 0;
    }
  }
  ::close(fd);
  CHECK(closed);
  // A controller still gets in.
  controller_of controller{node.endpoint(), 200, 1000, 2};
  CHECK(mirror_converges(node, controller.mirror));
}

TEST_CASE("a burst of connections to a node that is not accepting is queued",
          "[remote]") {
  // A node busy elsewhere (here: stopped) accepts nothing for a while; the
  // kernel completes handshakes only up to the listen backlog and drops
  // the SYNs past it, and their connect(2) waits for a retransmission (1 s,
  // then 3 s). With a backlog of 64, a stranger's burst of 300 stalled 1-3 s.
  node_process node{2, 200, 60'000};
  constexpr int burst = 250;  // under serve_options::max_connections (256)
  REQUIRE(::kill(node.child.pid(), SIGSTOP) == 0);
  std::vector<pollfd> pending;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(node.port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < burst; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                             sizeof address);
    REQUIRE((rc == 0 || errno == EINPROGRESS));
    pending.push_back({fd, POLLOUT, 0});
  }
  // Loopback handshakes the kernel completes take microseconds; a dropped
  // SYN is retried only after a second.
  int connected = 0;
  const auto until = clock_type::now() + std::chrono::milliseconds{700};
  for (auto& p : pending) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(until - clock_type::now());
    int error = -1;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) == 1 &&
        ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
        error == 0)
      ++connected;
  }
  REQUIRE(::kill(node.child.pid(), SIGCONT) == 0);
  CHECK(connected == burst);
  for (auto& p : pending) ::close(p.fd);
  controller_of controller{node.endpoint(), 200, 60'000, 2};
  CHECK(mirror_converges(node, controller.mirror));
}
