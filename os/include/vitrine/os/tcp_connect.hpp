// tcp_connect: a TCP connection to HOST:PORT that gives up at a deadline,
// for telling a peer that never answers (stopped, overloaded: the kernel
// still accepts into its backlog) from a host that cannot be reached, and
// for reading what a peer says first.
//
// Threads: any; blocks its caller until connected, refused or `deadline`.
// Cost: one name lookup, one socket per address tried (each closed unless
// it is the one returned).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

enum class tcp_connect_status {
  connected,  ///< `fd` is the connected socket (non-blocking, close-on-exec)
  refused,    ///< every address refused, or the name did not resolve
  no_answer   ///< still not connected at the deadline
};

struct tcp_connection {
  tcp_connect_status status = tcp_connect_status::refused;
  unique_fd fd;  ///< set when connected
};

/// Connects to each address of `host` in turn until one accepts, without
/// blocking past `deadline` in all.
tcp_connection connect_tcp(const std::string& host, std::uint16_t port,
                           std::chrono::steady_clock::time_point deadline);

}  // namespace vitrine::os
