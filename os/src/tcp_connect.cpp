// A TCP connection with a deadline (tcp_connect.hpp).
#include "vitrine/os/tcp_connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>
#include <utility>

namespace vitrine::os {
namespace {

struct free_addrinfo {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};
using address_list = std::unique_ptr<addrinfo, free_addrinfo>;

/// The stream addresses of `host` (getaddrinfo's order); null if it does
/// not resolve.
address_list resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const auto service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0)
    return nullptr;
  return address_list{found};
}

}  // namespace

std::vector<std::string> tcp_addresses(const std::string& host,
                                       std::uint16_t port) {
  std::vector<std::string> out;
  const auto found = resolve(host, port);
  for (auto* a = found.get(); a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0,
                      NI_NUMERICHOST) != 0)
      continue;
    // Appended, not "[" + ...: GCC 12's -Wrestrict false positive at -O3
    // (GCC bug 105329).
    std::string address;
    // An IPv4-mapped IPv6 address reaches the IPv4 one: spelled as it.
    std::string_view shown = text;
    const bool mapped = a->ai_family == AF_INET6 &&
                        shown.starts_with("::ffff:") &&
                        shown.find('.') != std::string_view::npos;
    if (mapped) shown.remove_prefix(7);
    const bool v6 = a->ai_family == AF_INET6 && !mapped;
    if (v6) address += '[';
    address += shown;
    if (v6) address += ']';
    address += ':';
    address += std::to_string(port);
    out.push_back(std::move(address));
  }
  return out;
}

int wait_ready(int fd, short events,
               std::chrono::steady_clock::time_point deadline,
               const std::stop_token& stop) {
  using clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds slice{50};
  for (;;) {
    if (stop.stop_requested()) return 0;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(std::min(left, slice).count()));
    if (ready > 0) return 1;
    if (ready < 0 && errno != EINTR) return -1;
  }
}

tcp_connection connect_tcp(const std::string& host, std::uint16_t port,
                           std::chrono::steady_clock::time_point deadline,
                           const std::stop_token& stop) {
  const auto found = resolve(host, port);
  tcp_connection result;
  for (auto* a = found.get(); a != nullptr; a = a->ai_next) {
    os::unique_fd fd{::socket(a->ai_family,
                              a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                              a->ai_protocol)};
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      result = {tcp_connect_status::connected, std::move(fd)};
      break;
    }
    if (errno != EINPROGRESS) continue;
    const int ready = wait_ready(fd.get(), POLLOUT, deadline, stop);
    if (ready == 0) {
      result.status = tcp_connect_status::no_answer;
      break;  // out of time: the next address would have none
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (ready > 0 &&
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) == 0 &&
        error == 0) {
      result = {tcp_connect_status::connected, std::move(fd)};
      break;
    }
  }
  return result;
}

}  // namespace vitrine::os
