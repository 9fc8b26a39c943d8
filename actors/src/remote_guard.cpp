#include "remote_guard.hpp"

#include "guard_framing.hpp"
#include "guard_tls.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vitrine::detail {
namespace {

// CAF allocates (and zeroes) a message's whole payload when its header
// arrives: what the peers announced and have not finished sending, in
// all, stays under this (or one max_payload, when larger).
constexpr std::uint64_t announced_budget = std::uint64_t{64} << 20;

/// Small BASP messages must not wait for Nagle's algorithm (with delayed
/// ACKs a relayed request stalled ~40 ms).
void no_delay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// "HOST:PORT" ("[HOST]:PORT" for IPv6) of an accepted peer.
std::string address_of(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  const bool v6 = a.ss_family == AF_INET6;
  if (v6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    port = ntohs(in6.sin6_port);
  } else if (a.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &in4.sin_addr, host, sizeof host);
    port = ntohs(in4.sin_port);
  }
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
  // positive) on "[" + std::string{...}.
  std::string text;
  if (v6) text += '[';
  text += host;
  if (v6) text += ']';
  text += ':';
  text += std::to_string(port);
  return text;
}

}  // namespace

using clock_type = guard_framing::clock_type;

/// One direction of a relayed connection.
struct remote_guard::pipe_dir {
  int from = -1, to = -1;
  std::vector<unsigned char> buf = std::vector<unsigned char>(16 * 1024);
  std::size_t begin = 0, end = 0;  // bytes buf[begin, end) still to write
  bool pending() const { return begin < end; }
};

struct remote_guard::connection {
  explicit connection(const tls_server* server)
      : tls(server ? std::make_unique<tls_session>(*server) : nullptr) {}

  pipe_dir in;            // peer -> CAF, checked (TLS: decrypted first)
  pipe_dir out;           // CAF -> peer, copied (TLS: encrypted)
  guard_framing framing;  // of `in`
  std::unique_ptr<tls_session> tls;  // null: plain BASP
  bool broken = false;
  std::string peer;     // its address, for a report
  std::string refused;  // why the relay closed it (empty: it ended)
};

remote_guard::remote_guard(const std::string& bind_address, std::uint16_t port,
                           upstream_connector upstream, limits l,
                           refusal_report report)
    : upstream_(std::move(upstream)),
      limits_(l),
      admission_(l.tls ? l.tls_handshakes_per_second : 0,
                 l.tls ? l.tls_handshakes_per_second_total : 0),
      report_(std::move(report)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(bind_address.c_str(), service.c_str(), &hints, &found) != 0)
    throw std::runtime_error("cannot resolve " + bind_address);
  for (auto* a = found; a && listener_ < 0; a = a->ai_next) {
    const int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // The kernel's largest backlog (net.core.somaxconn): past a backlog,
    // SYNs are dropped and a burst of peers waits 1-3 s for retransmits
    // while the guard is busy; max_connections is the limit that counts.
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        ::listen(fd, SOMAXCONN) == 0)
      listener_ = fd;
    else
      ::close(fd);
  }
  ::freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (listener_ < 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len) !=
          0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    if (listener_ >= 0) ::close(listener_);
    throw std::runtime_error("cannot listen on " + bind_address + ":" +
                             service + ": " + std::strerror(errno));
  }
  port_ = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  ::fcntl(listener_, F_SETFL, O_NONBLOCK);
  thread_ = std::thread{[this] { run(); }};
}

void remote_guard::report(std::string_view peer, std::string_view why) const {
  if (report_) report_(peer, why);
}

remote_guard::~remote_guard() {
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void remote_guard::run() {
  std::vector<std::unique_ptr<connection>> conns;
  guard_framing::budget announced{
      0, std::max<std::uint64_t>(announced_budget, limits_.max_payload)};
  std::vector<pollfd> fds;
  const bool timed = limits_.silence.count() > 0;  // 0: no limit
  for (;;) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listener_, POLLIN, 0});
    // Per connection: the peer's fd, then CAF's (-1, ignored, until a TLS
    // peer's handshake is done). Read a side only when its direction has
    // nothing left to write (backpressure); a TLS peer only when its
    // session has nothing left to decrypt (else: poll without waiting).
    int wait_ms = -1;
    for (auto& c : conns) {
      const bool decrypting = c->tls && !c->tls->needs_input();
      if (decrypting && !c->in.pending()) wait_ms = 0;
      if (c->tls && c->tls->has_output() && !c->out.pending()) wait_ms = 0;
      short peer = c->in.pending() || decrypting ? 0 : POLLIN;
      short caf = c->out.pending() ? 0 : POLLIN;
      if (c->out.pending()) peer |= POLLOUT;
      if (c->in.pending()) caf |= POLLOUT;
      fds.push_back({c->in.from, peer, 0});
      fds.push_back({c->in.to, caf, 0});
    }
    // Wake for the next peer to fall silent past the limit.
    const auto now = clock_type::now();
    for (const auto& c : conns) {
      if (!timed || wait_ms == 0) break;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          c->framing.last_heard() + limits_.silence - now);
      const int ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
      if (wait_ms < 0 || ms < wait_ms) wait_ms = ms;
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) continue;
    if (fds[0].revents) break;                // the destructor
    const std::size_t polled = conns.size();  // accept() adds after them
    if (fds[1].revents & POLLIN) accept_peers(conns);
    for (std::size_t i = 0; i < polled; ++i) {
      auto& c = *conns[i];
      const short peer_ev = fds[2 + 2 * i].revents;
      const short caf_ev = fds[3 + 2 * i].revents;
      pump(c, c.in, peer_ev, caf_ev, announced);
      pump(c, c.out, caf_ev, peer_ev, announced);
    }
    const auto checked_at = clock_type::now();
    for (auto& c : conns)
      if (timed && !c->broken &&
          checked_at - c->framing.last_heard() >= limits_.silence) {
        c->broken = true;
        c->refused = (c->tls && !c->tls->established()
                          ? "finished no TLS handshake within "
                          : "completed no message for ") +
                     std::to_string(limits_.silence.count()) +
                     " ms (the connection timeout)";
      }
    std::erase_if(conns, [&](const std::unique_ptr<connection>& c) {
      if (!c->broken) return false;
      c->framing.settle(announced);
      close_connection(*c);
      if (!c->refused.empty()) report(c->peer, c->refused);
      return true;
    });
  }
  for (auto& c : conns) close_connection(*c);
}

void remote_guard::accept_peers(
    std::vector<std::unique_ptr<connection>>& conns) {
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const int peer = ::accept4(listener_, reinterpret_cast<sockaddr*>(&from),
                               &from_len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (peer < 0) return;
    if (conns.size() >= limits_.max_connections) {
      ::close(peer);  // full: refused before CAF hears of it
      report(address_of(from), "max_connections (" +
                                   std::to_string(limits_.max_connections) +
                                   ") already served");
      continue;
    }
    if (const auto verdict = admission_.admit(from, clock_type::now());
        verdict != handshake_admission::verdict::admitted) {
      ::close(peer);  // before any TLS work
      report(address_of(from),
             verdict == handshake_admission::verdict::over_address
                 ? "over " + std::to_string(limits_.tls_handshakes_per_second) +
                       " TLS handshakes a second from this address"
                 : "over " +
                       std::to_string(limits_.tls_handshakes_per_second_total) +
                       " TLS handshakes a second from all addresses");
      continue;
    }
    no_delay(peer);
    auto c = std::make_unique<connection>(limits_.tls.get());
    c->peer = address_of(from);
    c->in.from = c->out.to = peer;
    // TLS: CAF hears of the peer once its handshake is done.
    if (!c->tls && !connect_to_node(*c)) {
      report(c->peer, c->refused);
      ::close(peer);
      continue;
    }
    conns.push_back(std::move(c));
  }
}

namespace {

constexpr short readable = POLLIN | POLLHUP | POLLERR;

constexpr const char* node_closed_reason =
    "the node's middleman closed the connection (CAF drops a peer whose "
    "message it cannot read, or silent past its connection timeout)";

/// Reads what fd has into buf: the count, 0 when nothing came; sets
/// `ended` at its end or on an error.
std::size_t read_some(int fd, std::vector<unsigned char>& buf, bool& ended) {
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n > 0) return static_cast<std::size_t>(n);
  if (n == 0 || (errno != EAGAIN && errno != EINTR)) ended = true;
  return 0;
}

}  // namespace

std::size_t remote_guard::fill(connection& c, pipe_dir& d,
                               short from_ev) const {
  const bool from_peer = &d == &c.in;
  // CAF ends a connection on its own when it cannot read a message (the
  // guard checks framing only) or the peer was silent past CAF's timeout
  // (a large message sent slowly): said, as the guard's own closings are.
  const auto from_node = [&] {
    const bool open = !c.broken;
    const auto n = read_some(d.from, d.buf, c.broken);
    if (open && c.broken && c.refused.empty()) c.refused = node_closed_reason;
    return n;
  };
  if (!c.tls) {
    if (!(from_ev & readable)) return 0;
    return from_peer ? read_some(d.from, d.buf, c.broken) : from_node();
  }
  auto& tls = *c.tls;
  if (!from_peer) {  // CAF's plaintext, encrypted for the peer
    if (!tls.has_output() && d.from >= 0 && (from_ev & readable)) {
      const auto n = from_node();
      if (n > 0 && !tls.write(d.buf.data(), n)) {
        c.broken = true;
        c.refused = tls.why();
      }
    }
    return c.broken ? 0 : tls.take_output(d.buf.data(), d.buf.size());
  }
  if (tls.needs_input()) {  // the peer's records, decrypted for CAF
    if (!(from_ev & readable)) return 0;
    const auto n = read_some(d.from, d.buf, c.broken);
    if (n == 0) return 0;
    tls.feed(d.buf.data(), n);
  }
  std::size_t n = 0;
  switch (tls.read(d.buf.data(), d.buf.size(), n)) {
    case tls_session::outcome::data:
    case tls_session::outcome::needs_input:
      return n;
    case tls_session::outcome::closed:
      c.broken = true;
      return 0;
    case tls_session::outcome::failed:
      c.broken = true;
      c.refused = tls.why();
      return 0;
  }
  return 0;
}

void remote_guard::pump(connection& c, pipe_dir& d, short from_ev, short to_ev,
                        guard_framing::budget& announced) const {
  const bool checked = &d == &c.in;
  if (!d.pending()) {
    const std::size_t n = fill(c, d, from_ev);
    if (checked && n > 0) {
      c.refused =
          c.framing.check(d.buf.data(), n, limits_.max_payload, announced);
      c.broken = c.broken || !c.refused.empty();
    }
    // A TLS peer reaches CAF once its handshake is done (CAF then writes
    // its server handshake, which the client waits for).
    if (!c.broken && checked && c.in.to < 0 &&
        (!c.tls || c.tls->established()) && !connect_to_node(c))
      return;
    if (n > 0) {
      d.begin = 0;
      d.end = n;
      to_ev |= POLLOUT;  // try at once
    }
  }
  if (!c.broken && d.pending() && (to_ev & (POLLOUT | POLLERR))) {
    const ssize_t w =
        ::send(d.to, d.buf.data() + d.begin, d.end - d.begin, MSG_NOSIGNAL);
    if (w > 0)
      d.begin += static_cast<std::size_t>(w);
    else if (w < 0 && errno != EAGAIN && errno != EINTR)
      c.broken = true;
  }
}

bool remote_guard::connect_to_node(connection& c) const {
  const int caf = upstream_();
  if (caf < 0) {
    c.broken = true;
    c.refused = "the node's middleman refused the relay (" +
                std::string{std::strerror(errno)} + ")";
    return false;
  }
  c.in.to = c.out.from = caf;
  return true;
}

void remote_guard::close_connection(connection& c) {
  // A TLS session that failed holds its alert for the peer (why it was
  // refused: "unknown ca", say): sent, if the socket takes it at once and
  // nothing else is half written, before the close.
  if (c.tls && !c.out.pending()) {
    unsigned char alert[512];
    while (const std::size_t n = c.tls->take_output(alert, sizeof alert))
      if (::send(c.in.from, alert, n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
          static_cast<ssize_t>(n))
        break;
  }
  ::close(c.in.from);
  if (c.in.to >= 0) ::close(c.in.to);
}

}  // namespace vitrine::detail
