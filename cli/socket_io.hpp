// socket_io: bounded, deadline-limited line I/O on a stream socket, shared
// by the control server and its clients (`vitrine ctl`, `vitrine reload`).
//
// Threads: any; each call uses only its arguments. Cost: poll(2) plus
// read(2)/send(2) per chunk; nothing blocks past `deadline`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace vitrine::cli {

enum class read_outcome {
  line,       ///< `out` holds the bytes before the first '\n'
  eof,        ///< the peer closed before a '\n'; `out` holds what came
  too_large,  ///< more than `max` bytes without a '\n'
  timeout,    ///< `deadline` passed
  stopped,    ///< `stop_fd` became readable
  error,      ///< read(2) failed (errno kept)
};

/// Reads up to the first '\n'. `stop_fd` (-1: none) ends the wait early.
read_outcome read_line(int fd, std::size_t max,
                       std::chrono::steady_clock::time_point deadline,
                       int stop_fd, std::string& out);

/// Writes all of `data` (MSG_NOSIGNAL); false on error, timeout or stop.
bool write_all(int fd, std::string_view data,
               std::chrono::steady_clock::time_point deadline,
               int stop_fd = -1);

/// True once the peer closed the connection entirely (POLLHUP/POLLERR);
/// a half-close (the peer shut down its writing side) is not a hang-up.
bool peer_hung_up(int fd);

}  // namespace vitrine::cli
