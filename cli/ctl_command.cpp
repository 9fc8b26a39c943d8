// `vitrine ctl` and `vitrine reload`: the control socket's client. One
// connection, one request, one reply (control_protocol.hpp).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "control_protocol.hpp"
#include "socket_io.hpp"
#include "state_dir.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;

/// How much longer than the request's own timeout the client waits for the
/// reply (the server answers at its timeout; this covers the slack).
constexpr std::chrono::seconds reply_slack{10};

/// Connects to the socket at `path`; -1 with `code` and a message printed.
os::unique_fd connect_to(const std::string& path, int& code) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    std::cerr << "vitrine: control socket path too long: " << path << "\n";
    code = 1;
    return {};
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  os::unique_fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address),
                      sizeof address) == 0)
    return fd;
  const int saved = errno;
  if (saved == ENOENT || saved == ECONNREFUSED) {
    std::cerr << "vitrine: no vitrine run serves " << path << " ("
              << std::strerror(saved) << ")\n";
    code = exit_not_running;
  } else {
    std::cerr << "vitrine: cannot connect to " << path << ": "
              << std::strerror(saved)
              << (saved == EACCES ? " (only the run's user and root may)" : "")
              << "\n";
    code = 1;
  }
  return {};
}

std::optional<control::request> make_request(const ctl_options& options) {
  control::request r;
  const auto command = control::verb_from_string(options.command);
  if (!command) {
    std::cerr << "vitrine: unknown ctl command '" << options.command << "'\n";
    return std::nullopt;
  }
  r.command = *command;
  r.names = options.names;
  r.wait = !options.no_wait;
  if (!(options.timeout_s >= 0) ||
      options.timeout_s * 1000 > control::max_timeout_ms) {
    std::cerr << "vitrine: --timeout must be 0.."
              << control::max_timeout_ms / 1000 << " seconds\n";
    return std::nullopt;
  }
  r.timeout_ms =
      static_cast<std::uint32_t>(std::lround(options.timeout_s * 1000));
  if (r.command == control::verb::signal) {
    const auto sig = core::signal_from_name(options.signal);
    if (!sig) {
      std::cerr << "vitrine: unknown signal '" << options.signal << "'\n";
      return std::nullopt;
    }
    r.signal = *sig;
  }
  return r;
}

void print_result(const control::result& x, bool waited) {
  std::cout << x.name << ": ";
  if (x.ok) {
    std::cout << (waited ? "" : "sent; ") << x.status;
    if (x.pid) std::cout << " pid=" << x.pid;
  } else {
    std::cout << "FAILED: " << x.error;
  }
  std::cout << "\n";
}

}  // namespace

int ctl_command(const ctl_options& options) {
  const auto request = make_request(options);
  if (!request) return 2;
  std::string error;
  const auto dir = state_dir::open_existing(options.state_dir, error);
  if (!dir) {
    std::cerr << "vitrine: " << error << "\n";
    return 1;
  }
  int code = 0;
  const auto fd = connect_to(dir->file(control_socket_leaf), code);
  if (!fd) return code;
  const auto deadline = clock::now() +
                        std::chrono::milliseconds{request->timeout_ms} +
                        reply_slack;
  std::string line;
  if (!write_all(fd.get(), control::encode(*request), deadline) ||
      read_line(fd.get(), control::max_reply_bytes, deadline, -1, line) !=
          read_outcome::line) {
    std::cerr << "vitrine: no reply from " << dir->file(control_socket_leaf)
              << " (the run stopped or timed out)\n";
    return 1;
  }
  const auto reply = control::parse_reply(line, error);
  if (!reply) {
    std::cerr << "vitrine: " << error << "\n";
    return 1;
  }
  if (reply->error.ends_with('\n'))  // a reload's report on the new file
    std::cerr << reply->error;
  else if (!reply->error.empty())
    std::cerr << "vitrine: " << reply->error << "\n";
  if (request->command == control::verb::reload && reply->ok)
    std::cout << "reloaded\n";
  bool timed_out = false;
  const bool waited =
      request->wait && request->command != control::verb::signal;
  for (const auto& x : reply->results) {
    print_result(x, waited);
    timed_out = timed_out || x.timed_out;
  }
  if (reply->ok) return 0;
  return timed_out ? exit_ctl_timeout : 1;
}

}  // namespace vitrine::cli
