// remote_tls_greeting: a controller's look at a TLS node before CAF's
// middleman connects to it. CAF 0.17.6's TLS session spins its thread (the
// middleman's, every connection's) while a handshake waits on the peer: a
// node stopped (SIGSTOP) or overloaded took a core of the controller for
// each attempt's whole timeout, again at every reconnection. This does a
// TLS handshake of its own with the node on a connection of its own,
// waiting in poll(), then reads the node's first BASP header (its server
// handshake, as remote_greeting.hpp checks it without TLS) and closes;
// only then does CAF connect. It also says why a handshake failed, in
// OpenSSL's words, where CAF reports every failure alike. Internal to the
// actors/ library.
//
// Threads: any; blocks up to `timeout`, or until `stop` is requested (seen
// within 50 ms): call it off CAF's workers. Cost: one name lookup, one TCP
// connection, one TLS handshake (the node's guard counts it against its
// handshakes a second for this address), 32 bytes read; the PEM files are
// read for each call.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "vitrine/remote.hpp"

namespace vitrine::detail {

/// "" when `node` completed a TLS handshake with `files` (a certificate
/// the CA signed on both sides) and then sent a node's server handshake
/// header, all within `timeout`; else why not, as a line for
/// node_handle::last_error() ("cannot connect (...)", "no answer within T
/// ms (...)", "no TLS handshake with the node (REASON)": OpenSSL's reason,
/// the node's alert, a node without TLS, a port that closed; "no vitrine
/// node answered (...)"). Never raises SIGPIPE: the session's records go
/// through memory buffers and are sent with MSG_NOSIGNAL.
std::string check_tls_node_greeting(const remote_endpoint& node,
                                    const tls_options& files,
                                    std::chrono::milliseconds timeout,
                                    const std::stop_token& stop);

}  // namespace vitrine::detail
