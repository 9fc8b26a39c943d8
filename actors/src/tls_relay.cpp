// The controller's TLS relay loop (tls_relay.hpp).
#include "tls_relay.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "remote_tls_greeting.hpp"

namespace vitrine::detail {
namespace {

/// Past this many bytes waiting for one side, the relay stops reading
/// the other until it drains.
constexpr std::size_t max_waiting = 256 * 1024;
constexpr std::size_t chunk = 16 * 1024;

/// Bytes waiting to be sent to one side, in arrival order.
class byte_queue {
 public:
  void append(const unsigned char* p, std::size_t n) {
    bytes_.insert(bytes_.end(), p, p + n);
  }
  bool empty() const noexcept { return head_ == bytes_.size(); }
  std::size_t size() const noexcept { return bytes_.size() - head_; }
  /// Sends what `fd` takes now; false when the peer is gone.
  bool send_to(int fd) {
    while (!empty()) {
      const ssize_t n = ::send(fd, bytes_.data() + head_, size(),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        head_ += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      }
    }
    bytes_.clear();
    head_ = 0;
    return true;
  }

 private:
  std::vector<unsigned char> bytes_;
  std::size_t head_ = 0;
};

/// What one recv() on a non-blocking socket gave.
enum class received { bytes, nothing_yet, ended };

received receive(int fd, unsigned char* p, std::size_t cap, std::size_t& n) {
  for (;;) {
    const ssize_t r = ::recv(fd, p, cap, MSG_DONTWAIT);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return received::bytes;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return received::nothing_yet;
    return received::ended;  // closed, reset
  }
}

}  // namespace

tls_relay::tls_relay(std::shared_ptr<tls_node_stream> stream,
                     os::unique_fd caf_end)
    : stream_(std::move(stream)),
      caf_end_(std::move(caf_end)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_)
    throw std::system_error(errno, std::generic_category(),
                            "tls_relay: eventfd");
  const int flags = ::fcntl(caf_end_.get(), F_GETFL);
  ::fcntl(caf_end_.get(), F_SETFL, flags | O_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

tls_relay::~tls_relay() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto w = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void tls_relay::run() noexcept {
  relay();
  // Both close now, not when the relay is destroyed: CAF learns at once
  // that the node's connection ended (else only at its heartbeat
  // timeout), and the node that CAF's did.
  caf_end_.reset();
  stream_->socket.reset();
}

void tls_relay::relay() noexcept {
  SSL* const ssl = stream_->session;
  BIO* const from_node = ::SSL_get_rbio(ssl);
  BIO* const to_node_records = ::SSL_get_wbio(ssl);
  const int node = stream_->socket.get();
  const int caf = caf_end_.get();
  byte_queue for_caf, for_node;
  for_caf.append(stream_->header, sizeof stream_->header);
  bool node_open = true, caf_open = true;
  unsigned char buf[chunk];
  for (;;) {
    // Decrypt what the session holds (records that came with the
    // handshake's last flight too) while CAF keeps up.
    while (node_open && for_caf.size() < max_waiting) {
      ::ERR_clear_error();
      const int r = ::SSL_read(ssl, buf, sizeof buf);
      if (r > 0) {
        for_caf.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (::SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ) node_open = false;
      break;  // wants the node's next bytes, or the stream ended
    }
    // Records the session wrote (CAF's bytes, or its own messages).
    for (int n; (n = ::BIO_read(to_node_records, buf, sizeof buf)) > 0;)
      for_node.append(buf, static_cast<std::size_t>(n));
    if (!for_caf.send_to(caf)) caf_open = false;
    if (!for_node.send_to(node)) node_open = false;
    // One side gone: what it still had for the other is delivered above
    // as far as it goes; then both close (CAF sees the connection end).
    if (!node_open || !caf_open) return;
    pollfd fds[3] = {
        {node, 0, 0},
        {caf, 0, 0},
        {wake_.get(), POLLIN, 0},
    };
    if (for_caf.size() < max_waiting) fds[0].events |= POLLIN;
    if (!for_node.empty()) fds[0].events |= POLLOUT;
    if (for_node.size() < max_waiting) fds[1].events |= POLLIN;
    if (!for_caf.empty()) fds[1].events |= POLLOUT;
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[2].revents != 0) return;  // the destructor's stop request
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      std::size_t n = 0;
      const auto got = receive(node, buf, sizeof buf, n);
      if (got == received::bytes)
        ::BIO_write(from_node, buf, static_cast<int>(n));
      else if (got == received::ended)
        node_open = false;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      std::size_t n = 0;
      const auto got = receive(caf, buf, sizeof buf, n);
      if (got == received::ended) {
        caf_open = false;
      } else if (got == received::bytes) {
        ::ERR_clear_error();
        // Memory buffers: a write takes all of it at once, or fails.
        if (::SSL_write(ssl, buf, static_cast<int>(n)) != static_cast<int>(n))
          node_open = false;
      }
    }
  }
}

}  // namespace vitrine::detail
