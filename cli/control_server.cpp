#include "control_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "socket_io.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_un socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw std::invalid_argument(
        "control socket path too long (" + std::to_string(path.size()) +
        " bytes, at most " + std::to_string(sizeof address.sun_path - 1) +
        "): " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

/// A listening socket bound at `path`, which must not exist (bind(2) fails
/// with EADDRINUSE otherwise). Throws std::system_error.
os::unique_fd listen_at(const std::string& path) {
  const sockaddr_un address = socket_address(path);
  os::unique_fd fd{
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (!fd) throw_errno("control socket");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address),
             sizeof address) != 0)
    throw_errno("control socket: bind " + path);
  // The directory (0700) already keeps other users out between bind and
  // chmod; the mode and the peer check are two more fences. The largest
  // backlog the kernel allows: a burst of clients queues instead of
  // blocking in connect(2) until their SO_SNDTIMEO.
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    errno = saved;
    throw_errno("control socket: " + path);
  }
  return fd;
}

/// The device and inode of the file at `path` (not followed), if any.
std::optional<std::pair<dev_t, ino_t>> file_id_at(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
  return std::pair{info.st_dev, info.st_ino};
}

/// An inotify descriptor told of names removed from or moved out of the
/// directory of `path`; empty when inotify is not available (a removed
/// socket is then not put back).
os::unique_fd watch_removals_beside(const std::string& path) {
  os::unique_fd fd{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
  const auto slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash + (slash == 0));
  if (fd && ::inotify_add_watch(fd.get(), dir.c_str(),
                                IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR) < 0)
    fd.reset();
  return fd;
}

/// The names the events waiting on `fd` carry, each once (reads them all).
std::set<std::string, std::less<>> names_in_events(int fd) {
  alignas(inotify_event) char buffer[4096];
  std::set<std::string, std::less<>> names;
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
    for (ssize_t at = 0; at < n;) {
      inotify_event event;
      std::memcpy(&event, buffer + at, sizeof event);
      if (event.len != 0) names.emplace(buffer + at + sizeof event);
      at += static_cast<ssize_t>(sizeof event + event.len);
    }
  }
  return names;
}

}  // namespace

bool peer_allowed(uid_t peer, uid_t owner) noexcept {
  return peer == owner || peer == 0;
}

control_server::control_server(std::string path, runtime& rt,
                               reload_hook reload, options opts)
    : path_(std::move(path)),
      rt_(rt),
      reload_(std::move(reload)),
      options_(opts),
      owner_(::geteuid()) {
  (void)socket_address(path_);  // a path too long: before anything
  stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_) throw_errno("control socket: eventfd");
  // Before the socket exists: its removal is not missed.
  removals_ = watch_removals_beside(path_);
  // The caller holds the state directory's lock: a socket file left there
  // is a killed run's.
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
    throw_errno("control socket: unlink " + path_);
  listen_fd_ = listen_at(path_);
  socket_file_ = file_id_at(path_);
  acceptor_ = std::thread{[this] { accept_loop(); }};
}

control_server::~control_server() {
  stop();
}

void control_server::begin_stop() {
  std::call_once(begun_, [this] {
    stopping_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_.get(), &one, sizeof one);
  });
}

void control_server::stop() {
  begin_stop();
  std::call_once(stopped_, [this] {
    closing_.store(true);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& c : connections_) c.thread.join();
    connections_.clear();
    // Only our own socket: a file that took its name is not ours.
    if (socket_file_ && file_id_at(path_) == socket_file_)
      ::unlink(path_.c_str());
  });
}

void control_server::reap_finished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->done.load(std::memory_order_acquire)) {  // (1) pairs with (2)
      it->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void control_server::refuse_until_closed() {
  // Polled: only while the run stops (its graceful stop can take a
  // program's stop_timeout), so that a client is told at once instead of
  // waiting in the backlog until the socket closes.
  while (!closing_.load()) {
    pollfd listening{listen_fd_.get(), POLLIN, 0};
    if (::poll(&listening, 1, 50) <= 0) continue;
    os::unique_fd client{
        ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC)};
    if (client.get() < 0) continue;
    write_all(client.get(),
              control::encode_error(
                  "the run is stopping: this request was not carried out"),
              clock::now() + options_.io_timeout, -1);
  }
}

void control_server::take_removals() {
  const std::string_view own =
      std::string_view{path_}.substr(path_.rfind('/') + 1);  // npos + 1: 0
  for (const auto& leaf : names_in_events(removals_.get())) {
    if (leaf != own) {
      if (options_.on_removed) options_.on_removed(leaf);
      continue;
    }
    struct stat there {};
    if (::lstat(path_.c_str(), &there) == 0) continue;  // another file took it
    try {
      // Clients still queued on the old socket are dropped with it: they
      // reached it by another name, or just before it was removed.
      listen_fd_ = listen_at(path_);
      socket_file_ = file_id_at(path_);
    } catch (const std::system_error&) {
      // A full file system, or the directory gone: not this time.
    }
  }
}

void control_server::accept_loop() {
  for (;;) {
    pollfd fds[3] = {{listen_fd_.get(), POLLIN, 0},
                     {stop_fd_.get(), POLLIN, 0},
                     {removals_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return refuse_until_closed();
    if (fds[2].revents) {
      take_removals();
      continue;
    }
    reap_finished();
    // The client's socket takes a descriptor of the reserve, not one a
    // program gave back.
    os::fd_reserve::loan room{options_.reserve};
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && options_.reserve) {
      os::fd_reserve::use room{
          *options_.reserve};  // the programs took them all
      fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (fd < 0) {
      // Out of fds or memory: the connection stays queued; don't spin on
      // it, try again in 100 ms (or stop). EAGAIN, ECONNABORTED: at once.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM)
        ::poll(&fds[1], 1, 100);
      continue;
    }
    os::unique_fd client{fd};
    const auto deadline = clock::now() + options_.io_timeout;
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
        !peer_allowed(peer.uid, owner_)) {
      write_all(fd,
                control::encode_error(
                    "permission denied: uid " + std::to_string(peer.uid) +
                    " is neither the owner of this vitrine run (uid " +
                    std::to_string(owner_) + ") nor root"),
                deadline, stop_fd_.get());
      continue;
    }
    if (connections_.size() >= options_.max_clients) {
      write_all(fd,
                control::encode_error(
                    "busy: " + std::to_string(options_.max_clients) +
                    " requests in progress; try again"),
                deadline, stop_fd_.get());
      continue;
    }
    auto& c = connections_.emplace_back(std::move(room));
    try {
      c.thread = std::thread{[this, &c, fd] {
        serve(fd);
        ::close(fd);
        c.done.store(true, std::memory_order_release);  // (2)
      }};
      (void)client.release();  // the thread closes it
    } catch (const std::system_error& e) {
      connections_.pop_back();  // no thread: `client` closes the fd
      // Said, not a silent close (which a client takes for a run that is
      // stopping): out of processes or threads (ulimit -u, a pids limit).
      write_all(fd,
                control::encode_error(
                    std::string{"the run could not start a thread to serve "
                                "this request ("} +
                    e.code().message() + "): nothing was done; try again"),
                deadline, stop_fd_.get());
    }
  }
}

void control_server::serve(int fd) {
  const int stop = stop_fd_.get();
  std::string line;
  const auto outcome =
      read_line(fd, control::max_request_bytes,
                clock::now() + options_.io_timeout, stop, line);
  std::string reply;
  if (outcome == read_outcome::stopped || outcome == read_outcome::error ||
      (outcome == read_outcome::eof && line.empty()))
    return;
  if (outcome == read_outcome::timeout) {
    reply = control::encode_error("timed out waiting for the request (" +
                                  std::to_string(options_.io_timeout.count()) +
                                  " ms)");
  } else if (outcome == read_outcome::too_large) {
    reply = control::encode_error("request too large (at most " +
                                  std::to_string(control::max_request_bytes) +
                                  " bytes)");
  } else {
    std::string error;
    if (const auto request = control::parse_request(line, error)) {
      control_context context{rt_, reload_, options_.until_added};
      context.keep_waiting = [this, fd] {
        return !stopping_.load(std::memory_order_relaxed) && !peer_hung_up(fd);
      };
      try {
        const auto result = execute(context, *request);
        if (peer_hung_up(fd)) return;
        reply = control::encode(result);
      } catch (const std::exception& e) {
        reply =
            control::encode_error(std::string{"internal error: "} + e.what());
      }
    } else {
      reply = control::encode_error(error);
    }
  }
  // Even while the run stops: a command that ran is answered (a reply
  // fits in the socket's buffer; io_timeout still bounds the write).
  write_all(fd, reply, clock::now() + options_.io_timeout,
            stopping_.load() ? -1 : stop);
}

}  // namespace vitrine::cli
