#include "tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <tuple>

namespace vitrine::test {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

struct pair_fds {
  int a, b;
};

}  // namespace

tcp_relay::tcp_relay(std::uint16_t target_port) : target_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (listener_ < 0 ||
      ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("tcp_relay: cannot listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread{[this] { run(); }};
}

tcp_relay::~tcp_relay() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_relay::cut() {
  blocked_ = true;
  cut_requested_ = true;
  (void)!::write(wake_[1], "x", 1);
}

void tcp_relay::allow() {
  blocked_ = false;
}

void tcp_relay::run() {
  std::vector<pair_fds> pairs;
  auto close_all = [&] {
    for (auto& p : pairs) {
      ::close(p.a);
      ::close(p.b);
    }
    pairs.clear();
  };
  char buf[65536];
  while (!stop_) {
    if (cut_requested_.exchange(false)) close_all();
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (auto& p : pairs) {
      fds.push_back({p.a, POLLIN, 0});
      fds.push_back({p.b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents) (void)!::read(wake_[0], buf, sizeof buf);
    if (fds[1].revents & POLLIN) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto addr = loopback(target_);
        if (blocked_ || server < 0 ||
            ::connect(server, reinterpret_cast<sockaddr*>(&addr),
                      sizeof addr) != 0) {
          ::close(client);
          if (server >= 0) ::close(server);
        } else {
          pairs.push_back({client, server});
        }
      }
    }
    // Copy what is readable; a closed side closes the pair.
    std::vector<pair_fds> alive;
    // Pairs accepted in this round have no pollfd yet: next round.
    const std::size_t polled = (fds.size() - 2) / 2;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (i >= polled) {
        alive.push_back(pairs[i]);
        continue;
      }
      bool ok = true;
      const pollfd& pa = fds[2 + 2 * i];
      const pollfd& pb = fds[3 + 2 * i];
      for (auto [from, to, ev] :
           {std::tuple{pairs[i].a, pairs[i].b, pa.revents},
            std::tuple{pairs[i].b, pairs[i].a, pb.revents}}) {
        if (!ok || !(ev & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) {
          ok = false;
          break;
        }
        ssize_t done = 0;
        while (done < n) {  // blocking write: loopback, small test traffic
          const ssize_t w = ::write(to, buf + done, n - done);
          if (w <= 0) {
            ok = false;
            break;
          }
          done += w;
        }
      }
      if (ok) {
        alive.push_back(pairs[i]);
      } else {
        ::close(pairs[i].a);
        ::close(pairs[i].b);
      }
    }
    pairs = std::move(alive);
  }
  close_all();
}

}  // namespace vitrine::test
