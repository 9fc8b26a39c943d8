// The first BASP header a port sends, checked (remote_greeting.hpp).
#include "remote_greeting.hpp"

#include <poll.h>
#include <unistd.h>

#include <caf/sec.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "vitrine/os/tcp_connect.hpp"

namespace vitrine::detail {
namespace {

constexpr std::size_t header_size = basp_greeting_size;
constexpr unsigned char server_handshake = 0;
/// Silence after the first bytes of a header that ends the wait.
constexpr std::chrono::milliseconds banner_gap{200};

std::uint64_t read_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool is_node_greeting(const unsigned char* header) noexcept {
  const auto payload = read_be(header + 4, 4);
  const auto operation_data = read_be(header + 8, 8);
  return header[0] == server_handshake && payload != 0 &&
         payload <= max_greeting_payload && operation_data != 0;
}

caf::error check_node_greeting(const remote_endpoint& node,
                               std::chrono::milliseconds timeout,
                               const std::stop_token& stop) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  auto connection = os::connect_tcp(node.host, node.port, deadline, stop);
  switch (connection.status) {
    case os::tcp_connect_status::refused:
      return caf::sec::cannot_connect_to_node;
    case os::tcp_connect_status::no_answer:
      return caf::sec::request_timeout;
    case os::tcp_connect_status::connected:
      break;
  }
  unsigned char header[header_size];
  std::size_t got = 0;
  while (got < header_size) {
    // A node writes its header at once: a peer that sent part of 32 bytes
    // and then nothing for a while is another server's banner (SSH's is
    // shorter), not a node that is slow.
    const auto wait_until =
        got == 0 ? deadline : std::min(deadline, clock::now() + banner_gap);
    if (os::wait_ready(connection.fd.get(), POLLIN, wait_until, stop) <= 0)
      return got > 0 && clock::now() < deadline && !stop.stop_requested()
                 ? caf::sec::malformed_basp_message
                 : caf::sec::request_timeout;
    const ssize_t n =
        ::read(connection.fd.get(), header + got, header_size - got);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return caf::sec::disconnect_during_handshake;
    got += static_cast<std::size_t>(n);
  }
  if (!is_node_greeting(header)) return caf::sec::malformed_basp_message;
  return caf::none;
}

}  // namespace vitrine::detail
