// loopback: a TCP connection to a port on 127.0.0.1, for the tests that
// play a peer of a node (remote/, cli/ node tests). Any thread; one
// connect(2).
#pragma once

namespace vitrine::test {

/// A connected, blocking, close-on-exec TCP socket to 127.0.0.1:port, or
/// -1 with errno set.
int try_connect_loopback(unsigned port);

}  // namespace vitrine::test
