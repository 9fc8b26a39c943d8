// `vitrine run`: supervise in the foreground, show states, stop on a signal.
//
// Threads: the main thread blocks SIGINT/SIGTERM/SIGHUP *before* the runtime
// starts its threads (so they inherit the mask and no signal lands in a CAF
// worker), then loops: wait up to 100 ms on a signalfd, read every process
// state lock-free, redraw only what changed. A signal starts rt.shutdown()
// on a helper thread while the loop keeps showing the children stopping; a
// second signal SIGKILLs their process groups.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "commands.hpp"
#include "config.hpp"
#include "render.hpp"
#include "status.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {
namespace {

using namespace std::chrono_literals;

/// Blocks the stop signals for the whole process (call before any thread
/// starts) and delivers them through a signalfd. Restores the mask after.
class signal_channel {
 public:
  signal_channel() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, sig);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
    fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~signal_channel() {
    if (fd_ >= 0) ::close(fd_);
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  signal_channel(const signal_channel&) = delete;
  signal_channel& operator=(const signal_channel&) = delete;

  bool ok() const noexcept { return fd_ >= 0; }

  /// The next stop signal, waiting up to `timeout`; 0 if none came.
  int wait(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != sizeof info) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
  int fd_ = -1;
};

std::size_t terminal_width() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 0;
}

/// Shows the states: a live table (terminal) or a line per change (plain),
/// and keeps the JSON status file current.
class display {
 public:
  display(bool live, std::string json_path)
      : live_(live), json_path_(std::move(json_path)) {}

  /// Writes "[]" to the status file: fails early on an unusable path.
  std::string init_status_file() {
    if (json_path_.empty()) return {};
    return write_file_atomic(json_path_, "[]\n");
  }

  void note(const std::string& text) {
    if (live_)
      note_ = text;
    else
      std::cout << format_clock(clock_pair::now().unix_ms()) << " " << text
                << std::endl;
  }

  void update(const std::vector<status_row>& rows,
              const std::vector<supervisor_row>& supervisors,
              const core::supervisor_state& top, const clock_pair& now) {
    bool changed = rows.size() != versions_.size();
    for (const auto& sup : supervisors) {
      auto& seen = supervisor_versions_[sup.name];
      if (seen != sup.version) changed = true;
      seen = sup.version;
    }
    for (const auto& row : rows) {
      auto& seen = versions_[row.name];
      if (seen == row.version) continue;
      seen = row.version;
      changed = true;
      if (!live_) std::cout << render_line(row, now.unix_ms()) << "\n";
    }
    if (top.status != top_status_ || top.restarts != top_restarts_) {
      top_status_ = top.status;
      top_restarts_ = top.restarts;
      if (!live_)
        std::cout << format_clock(now.unix_ms()) << " supervisor " << top.name()
                  << " " << core::to_string(top.status)
                  << " restarts=" << top.restarts << "\n";
    }
    if (!live_) std::cout.flush();
    if (changed && !json_path_.empty()) write_status(rows, supervisors, now);
    if (live_) redraw(rows, top, now);
  }

 private:
  void write_status(const std::vector<status_row>& rows,
                    const std::vector<supervisor_row>& supervisors,
                    const clock_pair& now) {
    const auto error = write_file_atomic(
        json_path_, to_json(rows, now.unix_ms(), supervisors));
    if (!error.empty() && error != last_error_)
      std::cerr << "vitrine: status file: " << error << std::endl;
    last_error_ = error;
  }

  void redraw(const std::vector<status_row>& rows,
              const core::supervisor_state& top, const clock_pair& now) {
    const std::size_t width = terminal_width();
    std::string text = "supervisor " + std::string{top.name()} + ": " +
                       std::string{core::to_string(top.status)} +
                       ", restarts " + std::to_string(top.restarts) +
                       "   (Ctrl-C stops everything)\n";
    if (width && text.size() > width + 1) {
      text.resize(width);
      text += "\n";
    }
    text += render_table(rows, now.unix_ms(), width);
    if (!note_.empty())
      text += note_.substr(0, width ? width : note_.size()) + "\n";
    if (text == drawn_) return;  // nothing visible changed
    std::string out;
    if (drawn_lines_) out = "\x1b[" + std::to_string(drawn_lines_) + "A\r";
    out += "\x1b[J" + text;
    std::cout << out << std::flush;
    drawn_ = std::move(text);
    drawn_lines_ = static_cast<std::size_t>(
        std::count(drawn_.begin(), drawn_.end(), '\n'));
  }

  const bool live_;
  const std::string json_path_;
  std::map<std::string, std::uint64_t> versions_;
  std::map<std::string, std::uint64_t> supervisor_versions_;
  core::supervisor_status top_status_ = core::supervisor_status::starting;
  std::uint32_t top_restarts_ = 0;
  std::string note_, drawn_, last_error_;
  std::size_t drawn_lines_ = 0;
};

std::vector<status_row> collect(const runtime& rt, const clock_pair& now) {
  std::vector<status_row> rows;
  rt.for_each([&](const process_handle& h) {
    rows.push_back(make_row(*h.read(), now));
  });
  return rows;
}

std::vector<supervisor_row> collect_supervisors(const runtime& rt) {
  std::vector<supervisor_row> rows;
  rt.for_each_supervisor([&](const supervisor_handle& h) {
    rows.push_back(make_supervisor_row(*h.read()));
  });
  return rows;
}

/// `vitrine run`'s answer to a failed top supervisor (its intensity was
/// exhausted; the root, with intensity 0, does not restart it): a message
/// naming the child and its exit, or "" while it has not failed.
std::string top_failure_message(const core::supervisor_state& top) {
  if (top.status != core::supervisor_status::failed || !top.last_failure)
    return {};
  return "vitrine: supervisor '" + std::string{top.name()} +
         "' failed: " + top.last_failure->describe() +
         "; stopping everything (exit status " +
         std::to_string(exit_top_supervisor_failed) + ")";
}

}  // namespace

int run_command(const run_options& options) {
  const auto config = load_config_file(options.file);
  for (const auto& problem : config.problems)
    std::cerr << to_string(problem) << "\n";
  if (!config.ok()) return 1;

  signal_channel signals;  // before any thread exists
  // A closed stdout (`vitrine run x | head`) must not kill the supervisor;
  // children get default dispositions back at launch.
  ::signal(SIGPIPE, SIG_IGN);
  if (!signals.ok()) {
    std::cerr << "vitrine: signalfd failed\n";
    return 1;
  }
  display screen{::isatty(STDOUT_FILENO) == 1 && !options.plain,
                 options.json_status};
  if (auto error = screen.init_status_file(); !error.empty()) {
    std::cerr << "vitrine: --json-status: " << error << "\n";
    return 1;
  }

  runtime_options rt_options;
  rt_options.subreaper = true;  // reap what escapes a child's process group
  // The top supervisor is the application: when it fails, the run ends
  // (see top_failure_message) instead of the root restarting it.
  rt_options.root_intensity = 0;
  runtime rt{rt_options};
  supervisor_handle top;
  try {
    top = rt.supervise(config.value.tree);
  } catch (const spec_error& e) {
    for (const auto& p : e.problems())
      std::cerr << options.file << ": " << p.field << ": " << p.message << "\n";
    return 1;
  }

  std::atomic<bool> stopped{false};
  std::thread stopper;
  bool top_failed = false;
  for (;;) {
    if (const int sig = signals.wait(100ms)) {
      const std::string name{os::signal_name(sig)};
      if (!stopper.joinable()) {
        screen.note("received " + name + ": stopping every program (" + name +
                    " again kills them)");
        stopper = std::thread{[&] {
          rt.shutdown();
          stopped = true;
        }};
      } else {
        screen.note("received " + name + " again: killing every program");
        for (const auto& row : collect(rt, clock_pair::now()))
          if (row.pid > 1) os::signal_group(row.pid, SIGKILL);
      }
    }
    if (!stopper.joinable())
      if (auto failure = top_failure_message(*top.read()); !failure.empty()) {
        std::cerr << failure << std::endl;
        top_failed = true;
        stopper = std::thread{[&] {
          rt.shutdown();
          stopped = true;
        }};
      }
    const bool done = stopped.load();
    const auto now = clock_pair::now();
    screen.update(collect(rt, now), collect_supervisors(rt), *top.read(), now);
    if (done) break;
  }
  stopper.join();
  return top_failed ? exit_top_supervisor_failed : 0;
}

}  // namespace vitrine::cli
