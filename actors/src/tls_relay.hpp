// tls_relay: a controller's TLS end for one connection to a node. CAF's
// middleman speaks plaintext BASP over a socketpair (it adopts one end as
// the connection to the node); the relay's thread carries the bytes
// between the other end and the node's TLS stream (remote_tls_greeting.hpp
// made it: handshake done, the node's first header read, which the relay
// hands CAF first). CAF's own TLS session, which spins its thread while a
// handshake waits on the peer, is never used. Internal to the actors/
// library.
//
// Threads: the constructor starts one thread, which blocks in poll() and
// ends when either side closes, the TLS stream fails, or the destructor
// asks it to (an eventfd); the destructor joins it (a few ms at most).
// Costs: one thread per connection; one extra local hop each way (two
// copies and a wake-up per burst); buffers of up to 256 KiB per
// direction while the slower side catches up.
#pragma once

#include <memory>
#include <thread>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::detail {

struct tls_node_stream;

class tls_relay {
 public:
  /// Relays between `stream` and `caf_end` (a connected socket; the relay
  /// makes it non-blocking) until one of them ends; then closes both at
  /// once, so that CAF sees the connection end as it would the node's.
  tls_relay(std::shared_ptr<tls_node_stream> stream, os::unique_fd caf_end);
  ~tls_relay();
  tls_relay(const tls_relay&) = delete;
  tls_relay& operator=(const tls_relay&) = delete;

 private:
  void run() noexcept;
  void relay() noexcept;

  std::shared_ptr<tls_node_stream> stream_;
  os::unique_fd caf_end_;
  os::unique_fd wake_;  // an eventfd: the destructor's stop request
  std::thread thread_;
};

}  // namespace vitrine::detail
