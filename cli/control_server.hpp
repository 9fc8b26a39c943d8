// control_server: the control socket of a running `vitrine run`
// (STATE_DIR/control, docs/cli.md "Control socket"). It accepts local
// connections, admits only peers of the run's own uid or root (SO_PEERCRED),
// reads one request (control_protocol.hpp), executes it
// (control_actions.hpp) and writes one reply.
//
// Threads: construct and stop() from one thread (the run's main thread;
// begin_stop() from any). The server runs on its own thread (accept loop)
// plus one thread per connection in progress (at most max_clients; more
// are answered "busy"), so neither a slow command nor a silent client
// blocks the run's main loop or another client. begin_stop() refuses new
// requests and ends every wait within a wait slice (50 ms); stop() then
// joins every thread and removes the socket file: it also waits for the
// commands in progress to end (a reload ends once the runtime shut down,
// which is why `vitrine run` calls begin_stop(), shuts down, then stop()),
// plus the time a reply write may take (bounded by io_timeout).
// The accept thread also watches the socket's directory (inotify): a
// removed socket is bound again at once, other removed entries are passed
// to options::on_removed.
// Cost: idle, the threads sleep in poll(2); a request costs one thread
// start, a JSON parse and the commands' messages.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "control_actions.hpp"
#include "vitrine/os/fd_reserve.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

/// A peer may command the run if it runs as `owner` or as root.
bool peer_allowed(uid_t peer, uid_t owner) noexcept;

class control_server {
 public:
  struct options {
    /// A client that connected has this long to send its request, and a
    /// reply write gives up after it.
    std::chrono::milliseconds io_timeout{3000};
    std::size_t max_clients = 32;
    /// control_context::until_added, for every request.
    added_hook until_added;
    /// Lent to accept(2) a client when the run is out of descriptors
    /// (may be null).
    os::fd_reserve* reserve = nullptr;
    /// Called on the accept thread with the name of each other entry
    /// removed from (or moved out of) the socket's directory.
    std::function<void(std::string_view leaf)> on_removed;
  };

  /// Binds `path` (a stale socket file there is replaced: the caller holds
  /// the state directory's lock), makes it 0600 and starts serving. Throws
  /// std::system_error (socket, bind, listen) or std::invalid_argument
  /// (path longer than a socket address holds).
  control_server(std::string path, runtime& rt, reload_hook reload,
                 options opts);
  control_server(std::string path, runtime& rt, reload_hook reload)
      : control_server(std::move(path), rt, std::move(reload), options{}) {}
  ~control_server();  ///< stop()
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  /// Answers each new connection from now on that the run is stopping
  /// (without reading its request) and ends the waits in progress (their
  /// clients are told the wait was abandoned); does not wait for the
  /// commands in progress, which may need the runtime's shutdown to end
  /// (a reload waiting for a program it started). Idempotent; any thread.
  void begin_stop();
  /// begin_stop(), then joins every thread (each command in progress
  /// answered, if its client is still there) and removes the socket file.
  /// Idempotent.
  void stop();

 private:
  struct connection {
    explicit connection(os::fd_reserve::loan r) : room(std::move(r)) {}
    os::fd_reserve::loan room;  ///< the reserve's descriptor the socket took
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  /// After begin_stop() and until stop(): each new client is told that
  /// the run is stopping (its request is not read).
  void refuse_until_closed();
  void serve(int fd);
  void reap_finished();
  /// Reads what was removed from the socket's directory. The socket
  /// removed or moved away (rm, a cleaner of /tmp): bound again at its
  /// path, unless another file took it; any other entry: on_removed.
  void take_removals();

  const std::string path_;
  runtime& rt_;
  const reload_hook reload_;
  const options options_;
  const uid_t owner_;
  os::unique_fd listen_fd_;
  os::unique_fd stop_fd_;   ///< eventfd: readable once begin_stop() ran
  os::unique_fd removals_;  ///< inotify on the socket's directory, or none
  /// The socket file's device and inode, as bound (accept thread; stop()
  /// reads it once that thread ended).
  std::optional<std::pair<dev_t, ino_t>> socket_file_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> closing_{false};   ///< stop() ends refuse_until_closed()
  std::list<connection> connections_;  ///< touched by the accept thread only
  std::thread acceptor_;
  std::once_flag begun_;
  std::once_flag stopped_;
};

}  // namespace vitrine::cli
