// remote_greeting: looks at what a port says first before CAF's middleman
// connects to it. CAF 0.17 trusts the first BASP message of a connection:
// a server handshake that announces no payload makes it dereference a null
// buffer, and one that announces ~4 GiB makes it allocate that much, so a
// port that is not a node (or sends 32 zero bytes) could crash the
// controller. A node's CAF sends its server handshake as soon as a
// connection is accepted; this reads that header on a connection of its
// own and closes it. Internal to the actors/ library; plain (not TLS)
// connections only: with TLS the node is authenticated first.
//
// Threads: any; blocks up to `timeout`, or until `stop` is requested (seen
// within 50 ms): call it off CAF's workers. Cost: one name lookup, one TCP
// connection, 32 bytes read.
#pragma once

#include <caf/error.hpp>

#include <chrono>
#include <cstddef>
#include <stop_token>

#include "vitrine/remote.hpp"

namespace vitrine::detail {

/// A node's server handshake announces at most this much payload (its
/// application identifiers and the published actor: far less in practice).
inline constexpr std::uint32_t max_greeting_payload = 64 * 1024;

inline constexpr std::size_t basp_greeting_size = 32;  // a BASP 0.17 header

/// Whether `header` (basp_greeting_size bytes) is a node's server
/// handshake header with a payload of 1..max_greeting_payload bytes.
bool is_node_greeting(const unsigned char* header) noexcept;

/// caf::none when the first 32 bytes `node` sends within `timeout` are a
/// BASP server handshake header with a payload of 1..max_greeting_payload
/// bytes; else the error CAF would have given for it
/// (sec::cannot_connect_to_node, sec::request_timeout,
/// sec::disconnect_during_handshake, sec::malformed_basp_message);
/// sec::request_timeout also when stopped.
caf::error check_node_greeting(const remote_endpoint& node,
                               std::chrono::milliseconds timeout,
                               const std::stop_token& stop);

}  // namespace vitrine::detail
