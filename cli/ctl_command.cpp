// `vitrine ctl` and `vitrine reload`: the control socket's client. One
// connection, one request, one reply (control_protocol.hpp).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "control_protocol.hpp"
#include "ctl_line.hpp"
#include "print_line.hpp"
#include "signal_argument.hpp"
#include "socket_io.hpp"
#include "state_dir.hpp"
#include "text_escape.hpp"
#include "timeout_seconds.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;

/// How long after the request's deadline the client still waits for the
/// reply: the run's waits end at the deadline, so this covers building and
/// writing the reply (docs/cli.md, "vitrine ctl").
constexpr std::chrono::milliseconds reply_grace{500};

/// --timeout's seconds as an ostream writes a double ("30", "0.5").
std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

/// Connects to the socket at `path` before `deadline` (a stopped run's full
/// backlog would block connect(2) forever: SO_SNDTIMEO bounds it); -1 with
/// `code` and a message printed. EAGAIN: timed out, nothing printed.
os::unique_fd connect_to(const std::string& path, clock::time_point deadline,
                         int& code) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    print_error({"control socket path too long: ", path});
    code = 1;
    return {};
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  os::unique_fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd) {
    print_error({"socket: ", std::strerror(errno)});
    code = 1;
    return {};
  }
  const auto left = std::max<long long>(
      1, std::chrono::ceil<std::chrono::microseconds>(deadline - clock::now())
             .count());
  const timeval limit{static_cast<time_t>(left / 1'000'000),
                      static_cast<suseconds_t>(left % 1'000'000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address),
                   sizeof address);
  } while (rc != 0 && errno == EINTR && clock::now() < deadline);
  if (rc == 0) return fd;
  const int saved = errno;
  if (saved == EAGAIN || saved == EINTR) {
    code = -1;  // the caller says why
    return {};
  }
  struct stat at_path {};
  if (saved == ECONNREFUSED && ::lstat(path.c_str(), &at_path) == 0 &&
      !S_ISSOCK(at_path.st_mode)) {
    // Another file took the socket's name (an outside tester's `mv`): not
    // a run that is gone. The run binds its socket again once the name is
    // free.
    print_error({path,
                 " is not a socket (another file took its place?): remove it, "
                 "and the run, if it lives, binds its socket there again"});
    code = 1;
  } else if (saved == ENOENT || saved == ECONNREFUSED) {
    print_error(
        {"no vitrine run serves ", path, " (", std::strerror(saved), ")"});
    code = exit_not_running;
  } else {
    print_error({"cannot connect to ", path, ": ", std::strerror(saved),
                 saved == EACCES ? " (only the run's user and root may)" : ""});
    code = 1;
  }
  return {};
}

/// Whether the state directory's run ends within `limit`: one that dies
/// (SIGKILL) closes the connection an instant before its lock is free.
bool run_ends_within(const state_dir& dir, std::chrono::milliseconds limit) {
  const auto until = clock::now() + limit;
  while (dir.owner_running()) {
    if (clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return true;
}

/// No reply came by the deadline (or the run closed the connection without
/// one): says why as well as it can tell and returns the exit code. `pid`:
/// the run's, read before the request was sent (0 if unknown).
int no_reply(const state_dir& dir, const ctl_options& options, pid_t pid,
             bool eof) {
  const std::string run =
      pid ? "the run (pid " + std::to_string(pid) + ")" : "the run";
  if (eof && run_ends_within(dir, std::chrono::milliseconds{250})) {
    print_error({run, " of ", dir.path(),
                 " ended before it replied (was it killed?): the request may "
                 "have been carried out in part"});
    return exit_not_running;
  }
  if (eof) {  // the run closed the connection: it is stopping
    print_error({"no reply from ", run, " of ", dir.path(),
                 ": it closed the connection (is it stopping?)"});
    return 1;
  }
  if (pid != 0 && process_stopped(pid)) {
    print_error({run, " of ", dir.path(),
                 " is stopped (SIGSTOP?): resume it with kill -CONT ",
                 std::to_string(pid),
                 " (a request it has not read by its deadline is dropped, "
                 "never carried out)"});
    return exit_not_running;
  }
  if (!dir.owner_running()) {
    print_error({"no vitrine run serves ", dir.path(),
                 " any more (it ended before replying)"});
    return exit_not_running;
  }
  print_error({"no reply from ", run, " of ", dir.path(), " within --timeout ",
               seconds_text(options.timeout_s),
               " s: a request it had not read by then is never carried out"});
  return exit_ctl_timeout;
}

std::optional<control::request> make_request(const ctl_options& options) {
  control::request r;
  const auto command = control::verb_from_string(options.command);
  if (!command) {
    print_error({"unknown ctl command '", options.command, "'"});
    return std::nullopt;
  }
  r.command = *command;
  // A name given twice counts once (docs/cli.md): sent once, so that 4,096
  // copies of one name are a request of one.
  std::set<std::string_view> seen;
  for (const auto& name : options.names)
    if (seen.insert(name).second) r.names.push_back(name);
  r.wait = !options.no_wait;
  // The run must read the request within the timeout: 0 would expire it
  // before it is sent. Both parsers refuse such a value already
  // (timeout_seconds.hpp); this is for other callers.
  if (!(options.timeout_s >= 0.001 && options.timeout_s <= max_timeout_s)) {
    print_error({"--timeout must be from 0.001 to ",
                 std::to_string(max_timeout_s), " seconds"});
    return std::nullopt;
  }
  r.timeout_ms = std::max<std::uint32_t>(
      1, static_cast<std::uint32_t>(std::lround(options.timeout_s * 1000)));
  if (r.command == control::verb::signal) {
    const auto sig = core::signal_from_name(options.signal);
    if (!sig) {
      print_usage_error({unknown_signal_text(options.signal)});
      return std::nullopt;
    }
    r.signal = *sig;
  }
  return r;
}

}  // namespace

int ctl_command(const ctl_options& options) {
  auto request = make_request(options);
  if (!request) return 2;
  std::string error;
  const auto dir = state_dir::open_existing(options.state_dir, error);
  if (!dir) {
    print_error({error});
    return 1;
  }
  // A name that is not UTF-8 would reach the run garbled (JSON carries
  // U+FFFD for its bad bytes), and it names nothing there: every name
  // vitrine accepts is ASCII. Refused here as the run refuses any unknown
  // name, shown byte for byte.
  std::vector<std::string> garbled;
  for (const auto& name : request->names)
    if (!valid_utf8(name) &&
        std::find(garbled.begin(), garbled.end(), name) == garbled.end())
      garbled.push_back(name);
  if (!garbled.empty()) {
    print_error({"unknown name", garbled.size() == 1 ? " " : "s ",
                 quoted_names(garbled), ": nothing was done"});
    return 1;
  }
  // One deadline for the whole exchange: the run drops the request if it
  // reads it later (docs/cli.md), and the client waits for the reply until
  // then plus reply_grace.
  const auto deadline =
      clock::now() + std::chrono::milliseconds{request->timeout_ms};
  request->deadline_ms = control::monotonic_now_ms() + request->timeout_ms;
  const auto give_up = deadline + reply_grace;
  int code = 0;
  const pid_t pid = dir->owner_pid();
  const auto fd = connect_to(dir->file(control_socket_leaf), give_up, code);
  if (!fd) return code < 0 ? no_reply(*dir, options, pid, false) : code;
  std::string line;
  // A write the run cut short (EPIPE) may still have its answer waiting:
  // the run refuses a request it will not read ("busy", "too large") with
  // a reply, then closes. Read it either way.
  write_all(fd.get(), control::encode(*request), give_up);
  const auto outcome =
      read_line(fd.get(), control::max_reply_bytes, give_up, -1, line);
  if (outcome != read_outcome::line)
    return no_reply(*dir, options, pid, outcome != read_outcome::timeout);
  const auto reply = control::parse_reply(line, error);
  if (!reply) {
    print_error({error});
    return 1;
  }
  if (reply->expired) {
    print_line(stderr,
               {"vitrine: ", terminal_safe_lines(reply->error), " (--timeout ",
                seconds_text(options.timeout_s), " s)"});
    return exit_ctl_timeout;
  }
  for (const auto& warning : reply->warnings)  // a reload's, on the new file
    print_line(stderr, {terminal_safe_lines(warning)});
  for (const auto& note : reply->notes)  // the reload's summary, as the run's
    print_line(stdout, {terminal_safe_lines(note)});
  if (reply->error.ends_with('\n')) {  // a reload's report on the new file
    const std::string report = terminal_safe_lines(reply->error);
    std::fwrite(report.data(), 1, report.size(), stderr);
  } else if (!reply->error.empty()) {
    print_line(stderr, {"vitrine: ", terminal_safe_lines(reply->error)});
  }
  if (request->command == control::verb::reload && reply->ok)
    std::fputs("reloaded\n", stdout);
  bool timed_out = false;
  const bool waited =
      request->wait && request->command != control::verb::signal;
  for (const auto& x : reply->results) {
    print_ctl_line(x, waited);
    timed_out = timed_out || x.timed_out;
  }
  if (reply->ok) return 0;
  return timed_out ? exit_ctl_timeout : 1;
}

}  // namespace vitrine::cli
