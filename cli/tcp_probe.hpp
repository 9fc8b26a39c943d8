// tcp_probe: whether HOST:PORT accepts a TCP connection at all, for telling
// a node that never answers (stopped, overloaded: the kernel still accepts
// into its backlog) from a host that cannot be reached.
//
// Threads: any; blocks its caller up to `limit`. Cost: one name lookup,
// one socket per address tried, closed before returning.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vitrine::cli {

enum class tcp_probe_result {
  connected,  ///< a TCP connection was established (and closed at once)
  refused,    ///< every address refused, or the name did not resolve
  no_answer   ///< still not connected when `limit` passed
};

/// Connects to each address of `host` in turn, without blocking past
/// `limit` in all, and closes the connection once established.
tcp_probe_result probe_tcp(const std::string& host, std::uint16_t port,
                           std::chrono::milliseconds limit);

}  // namespace vitrine::cli
