// remote_tls_greeting: how a controller opens a TLS connection to a node.
// CAF 0.17.6's TLS session spins its thread (the middleman's, every
// connection's) while a handshake waits on the peer: a node stopped
// (SIGSTOP) or overloaded took a core of the controller for each
// attempt's whole timeout, again at every reconnection. So CAF never does
// TLS here: this does the handshake on a connection of its own, waiting in
// poll(), reads the node's first BASP header (its server handshake, as
// remote_greeting.hpp checks it without TLS), and hands the connection on
// (tls_relay.hpp carries it, CAF speaking plaintext to the relay). It also
// says why a handshake failed, in OpenSSL's words, where CAF reports every
// failure alike. Internal to the actors/ library.
//
// Threads: any; blocks up to `timeout`, or until `stop` is requested (seen
// within 50 ms): call it off CAF's workers. Cost: one name lookup, one TCP
// connection, one TLS handshake (the node's guard counts it against its
// handshakes a second), 32 bytes read; the PEM files are read for each
// call.
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "remote_greeting.hpp"
#include "vitrine/os/unique_fd.hpp"

#include "vitrine/remote.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace vitrine::detail {

/// A TLS connection to a node, its handshake done and the node's first
/// BASP header (plaintext) read: what tls_relay carries on. Owns all of
/// it; the session's records go through memory buffers (SSL_get_rbio,
/// SSL_get_wbio) that the owner moves to and from `socket`.
struct tls_node_stream {
  ssl_ctx_st* context = nullptr;
  ssl_st* session = nullptr;
  os::unique_fd socket;  ///< non-blocking, close-on-exec
  unsigned char header[basp_greeting_size] = {};
  tls_node_stream() = default;
  tls_node_stream(const tls_node_stream&) = delete;
  tls_node_stream& operator=(const tls_node_stream&) = delete;
  ~tls_node_stream();
};

/// What greet_tls_node() found: a stream, or why there is none.
struct tls_node_greeting {
  std::string error;  ///< "" when `stream` is set
  std::shared_ptr<tls_node_stream> stream;
};

/// A stream when `node` completed a TLS handshake with `files` (a certificate
/// the CA signed on both sides) and then sent a node's server handshake
/// header, all within `timeout`; else why not, as a line for
/// node_handle::last_error() ("cannot connect (...)", "no answer within T
/// ms (...)", "no TLS handshake with the node (REASON)": OpenSSL's reason,
/// the node's alert, a node without TLS, a port that closed; "no vitrine
/// node answered (...)"). Never raises SIGPIPE: the session's records go
/// through memory buffers and are sent with MSG_NOSIGNAL.
tls_node_greeting greet_tls_node(const remote_endpoint& node,
                                 const tls_options& files,
                                 std::chrono::milliseconds timeout,
                                 const std::stop_token& stop);

}  // namespace vitrine::detail
