// tcp_relay: a loopback TCP relay between a controller and a node, so a
// test can cut the link while both processes keep running. Listens on
// 127.0.0.1 (any free port), connects each accepted client to the target
// port and copies bytes both ways on one thread. cut() closes every relayed
// connection; while blocked, new clients are closed at once. Test-only.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace vitrine::test {

class tcp_relay {
 public:
  explicit tcp_relay(std::uint16_t target_port);
  ~tcp_relay();  // stops the thread, closes every socket
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// Closes every relayed connection and refuses new ones until allow().
  void cut();
  void allow();

 private:
  void run();

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> blocked_{false};
  std::atomic<bool> cut_requested_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vitrine::test
