// A guarded node's doors: what listens (behind its framing guard,
// nothing: the middleman is reached only through the guard's socketpairs,
// with TLS or without, so a local user cannot skip the guard's checks on
// another 127.0.0.1 port, as until 2026-12-05, and 2026-12-06 with TLS) and
// what a peer must send first (a client handshake: heartbeats before it kept a
// connection open past the silence limit, docs/distribution.md).
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
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
