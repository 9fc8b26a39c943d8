#include "socket_io.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;

/// Polls `fd` for `events` (and `stop_fd` for input) until `deadline`:
/// 1 ready, 0 timeout, -1 error, -2 stopped.
int wait_ready(int fd, short events, clock::time_point deadline, int stop_fd) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return 0;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int n =
        ::poll(fds, stop_fd >= 0 ? 2 : 1,
               static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (stop_fd >= 0 && fds[1].revents) return -2;
    if (fds[0].revents) return 1;
  }
}

}  // namespace

read_outcome read_line(int fd, std::size_t max, clock::time_point deadline,
                       int stop_fd, std::string& out) {
  out.clear();
  char buffer[16384];
  for (;;) {
    switch (wait_ready(fd, POLLIN, deadline, stop_fd)) {
      case 0:
        return read_outcome::timeout;
      case -1:
        return read_outcome::error;
      case -2:
        return read_outcome::stopped;
      default:
        break;
    }
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return read_outcome::error;
    if (n == 0) return read_outcome::eof;
    const std::string_view chunk{buffer, static_cast<std::size_t>(n)};
    const auto newline = chunk.find('\n');
    out.append(chunk.substr(0, newline));
    if (out.size() > max) return read_outcome::too_large;
    if (newline != std::string_view::npos) return read_outcome::line;
  }
}

bool write_all(int fd, std::string_view data, clock::time_point deadline,
               int stop_fd) {
  while (!data.empty()) {
    if (wait_ready(fd, POLLOUT, deadline, stop_fd) != 1) return false;
    const ssize_t n =
        ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool peer_hung_up(int fd) {
  pollfd p{fd, 0, 0};  // POLLHUP and POLLERR are always reported
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

}  // namespace vitrine::cli
