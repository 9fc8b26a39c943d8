// tcp_connect: a TCP connection to HOST:PORT that gives up at a deadline,
// for telling a peer that never answers (stopped, overloaded: the kernel
// still accepts into its backlog) from a host that cannot be reached, and
// for reading what a peer says first; and the addresses a name stands for.
//
// Threads: any. connect_tcp() blocks its caller until connected, refused,
// `deadline` or a stop request (seen within 50 ms). Cost: one name lookup
// (tcp_addresses() too; a name not in /etc/hosts may wait for DNS), one
// socket per address tried (each closed unless it is the one returned).
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

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
/// blocking past `deadline` in all; a stop request ends the wait as the
/// deadline would (no_answer).
tcp_connection connect_tcp(const std::string& host, std::uint16_t port,
                           std::chrono::steady_clock::time_point deadline,
                           const std::stop_token& stop = {});

/// Every address `host` resolves to for a TCP connection to `port`, in
/// the order connect_tcp() tries them, as "ADDR:PORT" ("[v6]:PORT"; an
/// IPv4-mapped IPv6 address as the IPv4 one it reaches); empty when it
/// does not resolve.
std::vector<std::string> tcp_addresses(const std::string& host,
                                       std::uint16_t port);

/// poll() for `events` on `fd` until one is ready (1), `deadline` passes or
/// `stop` is requested (0; checked every 50 ms at most), or poll() fails
/// (-1, errno set). Retries on EINTR.
int wait_ready(int fd, short events,
               std::chrono::steady_clock::time_point deadline,
               const std::stop_token& stop = {});

}  // namespace vitrine::os
