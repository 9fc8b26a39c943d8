// A TCP connection with a deadline (tcp_connect.hpp).
#include "vitrine/os/tcp_connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace vitrine::os {

tcp_connection connect_tcp(const std::string& host, std::uint16_t port,
                           std::chrono::steady_clock::time_point deadline) {
  using clock = std::chrono::steady_clock;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const auto service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0)
    return {};
  tcp_connection result;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    os::unique_fd fd{::socket(a->ai_family,
                              a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                              a->ai_protocol)};
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      result = {tcp_connect_status::connected, std::move(fd)};
      break;
    }
    if (errno != EINPROGRESS) continue;
    pollfd p{fd.get(), POLLOUT, 0};
    int ready = 0;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - clock::now());
      ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    } while (ready < 0 && errno == EINTR);
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
  ::freeaddrinfo(found);
  return result;
}

}  // namespace vitrine::os
