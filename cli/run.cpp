// `vitrine run`: supervise in the foreground, show states, stop on a signal.
//
// Threads: the main thread blocks every signal a user may send (see
// signal_channel.hpp) *before* any other thread starts, so CAF's workers
// and the I/O thread inherit the mask and no signal lands in them. The
// configuration is loaded on a worker thread (interruptible_load.hpp) and
// the tree is added by another (runtime::supervise() blocks until it is),
// while the main thread loops: wait up to 100 ms on the signalfd, read the
// process states lock-free (only those whose version changed are turned
// into rows), redraw only what changed. A stop signal starts rt.shutdown()
// on a helper thread while the loop keeps showing the children stopping; a
// second one has every process actor SIGKILL its process group.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "commands.hpp"
#include "config.hpp"
#include "fd_limit.hpp"
#include "interruptible_load.hpp"
#include "render.hpp"
#include "signal_channel.hpp"
#include "status.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {
namespace {

using namespace std::chrono_literals;

winsize terminal_size() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return {};
  return size;
}

/// Every process's row, in registry (start) order. A refresh turns into a
/// row only the states whose version changed, and reads at most `budget`
/// states (round-robin): an idle tick over 100,000 programs would otherwise
/// cost a few cache misses per program, 10% of a core at 10 ticks/s.
class row_cache {
 public:
  /// States read per tick: a change among 100,000 programs shows within a
  /// second; up to this many programs, every tick reads them all.
  static constexpr std::size_t tick_budget = 10'000;

  /// Reads up to `budget` states (all of them when the registry changed);
  /// returns the indices of the rows that changed.
  const std::vector<std::size_t>& refresh(const runtime& rt,
                                          const clock_pair& now,
                                          std::size_t budget = tick_budget) {
    changed_.clear();
    const auto list = rt.processes();
    const bool all =
        list.revision() != revision_ || list.size() != rows_.size();
    revision_ = list.revision();
    rows_.resize(list.size());
    const std::size_t n = list.size();
    if (all || budget >= n) budget = n, next_ = 0;
    for (std::size_t k = 0; k < budget; ++k) {
      const std::size_t i = (next_ + k) % n;
      const auto state = list[i].read();
      if (!all && state->version == rows_[i].version) continue;
      rows_[i] = make_row(*state, now);
      changed_.push_back(i);
    }
    if (n) next_ = (next_ + budget) % n;
    std::sort(changed_.begin(), changed_.end());  // file order when wrapped
    return changed_;
  }

  const std::vector<status_row>& rows() const noexcept { return rows_; }

 private:
  std::uint64_t revision_ = ~std::uint64_t{0};
  std::vector<status_row> rows_;
  std::vector<std::size_t> changed_;
  std::size_t next_ = 0;  ///< where the next partial refresh starts
};

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

  /// The next update redraws the whole table (the terminal was resized).
  void invalidate() { drawn_.clear(); }

  /// Shows the rows that changed; `last` (after the stop) also writes the
  /// status file if a write is pending.
  void update(const std::vector<status_row>& rows,
              const std::vector<std::size_t>& changed,
              const std::vector<supervisor_row>& supervisors,
              const core::supervisor_state& top, const clock_pair& now,
              bool last = false) {
    bool supervisors_changed = false;
    for (const auto& sup : supervisors) {
      auto& seen = supervisor_versions_[sup.name];
      if (seen != sup.version) supervisors_changed = true;
      seen = sup.version;
    }
    if (!live_)
      for (const std::size_t i : changed)
        std::cout << render_line(rows[i], now.unix_ms()) << "\n";
    if (top.status != top_status_ || top.restarts != top_restarts_) {
      top_status_ = top.status;
      top_restarts_ = top.restarts;
      if (!live_)
        std::cout << format_clock(now.unix_ms()) << " supervisor " << top.name()
                  << " " << core::to_string(top.status)
                  << " restarts=" << top.restarts << "\n";
    }
    if (!live_) std::cout.flush();
    status_pending_ =
        status_pending_ || !changed.empty() || supervisors_changed;
    if (status_pending_ && !json_path_.empty() &&
        (last || now.steady >= next_status_write_))
      write_status(rows, supervisors, now);
    if (live_) redraw(rows, top, now);
  }

 private:
  /// Writes the status file, and spaces the writes so that they take at
  /// most a tenth of the time: a file of 100,000 rows (25 MB) is rewritten
  /// every few seconds at most, one of 100 rows at every change.
  void write_status(const std::vector<status_row>& rows,
                    const std::vector<supervisor_row>& supervisors,
                    const clock_pair& now) {
    status_pending_ = false;
    const auto error = write_file_atomic(
        json_path_, to_json(rows, now.unix_ms(), supervisors));
    const auto took = std::chrono::steady_clock::now() - now.steady;
    next_status_write_ = now.steady + 10 * took;
    if (!error.empty() && error != last_error_)
      std::cerr << "vitrine: status file: " << error << std::endl;
    last_error_ = error;
  }

  void redraw(const std::vector<status_row>& rows,
              const core::supervisor_state& top, const clock_pair& now) {
    const winsize size = terminal_size();
    const std::size_t width = size.ws_col;
    std::string text = "supervisor " + std::string{top.name()} + ": " +
                       std::string{core::to_string(top.status)} +
                       ", restarts " + std::to_string(top.restarts) +
                       "   (Ctrl-C stops everything)\n";
    if (width && text.size() > width + 1) {
      text.resize(width);
      text += "\n";
    }
    // As many rows as fit: the cursor cannot move above the screen.
    const std::size_t room = size.ws_row > 4 ? size.ws_row - 4u : 0u;
    if (size.ws_row && rows.size() > room) {
      const std::vector<status_row> shown(
          rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(room));
      text += render_table(shown, now.unix_ms(), width);
      text += "... and " + std::to_string(rows.size() - room) +
              " more (--json-status PATH lists them all)\n";
    } else {
      text += render_table(rows, now.unix_ms(), width);
    }
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
  std::map<std::string, std::uint64_t> supervisor_versions_;
  core::supervisor_status top_status_ = core::supervisor_status::starting;
  std::uint32_t top_restarts_ = 0;
  std::string note_, drawn_, last_error_;
  std::size_t drawn_lines_ = 0;
  bool status_pending_ = false;  ///< rows changed since the last write
  std::chrono::steady_clock::time_point next_status_write_{};
};

/// The line printed for a signal that does not stop vitrine.
std::string describe_signal(int sig) {
  const std::string name{os::signal_name(sig)};
  switch (action_for(sig)) {
    case signal_action::resumed:
      return "received " + name + ": resumed after a stop";
    case signal_action::log:
      if (sig == SIGTSTP)
        return "received " + name +
               ": ignored, vitrine keeps supervising (Ctrl-C stops every "
               "program)";
      return "received " + name + ": ignored";
    default:
      return "received " + name;
  }
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
  signal_channel signals;  // first: every thread started later inherits it
  if (!signals.ok()) {
    std::cerr << "vitrine: signalfd failed\n";
    return 1;
  }
  auto config = load_config_interruptibly(options.file, signals, [](int sig) {
    if (const auto action = action_for(sig);
        action == signal_action::log || action == signal_action::resumed)
      std::cerr << "vitrine: " << describe_signal(sig) << std::endl;
  });
  for (const auto& problem : config.problems)
    std::cerr << to_string(problem) << "\n";
  if (!config.ok()) return 1;

  const fd_limit limit = raise_fd_limit();
  if (auto warning = fd_limit_warning(limit, estimate_fds(config.value.tree),
                                      config.value.program_count);
      !warning.empty())
    std::cerr << "vitrine: " << warning << std::endl;
  keep_program_fd_limit(config.value.tree, limit);

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
  // supervise() blocks until the whole tree is added: on its own thread, so
  // signals are answered meanwhile.
  supervisor_handle top;
  std::string start_error;
  std::atomic<bool> added{false};
  std::thread starter{[&] {
    try {
      top = rt.supervise(std::move(config.value.tree));
    } catch (const spec_error& e) {
      for (const auto& p : e.problems())
        start_error += options.file + ": " + p.field + ": " + p.message + "\n";
    } catch (const std::exception& e) {
      start_error = std::string{"vitrine: "} + e.what() + "\n";
    }
    added.store(true, std::memory_order_release);  // (1) pairs with (2), (3)
    added.notify_all();
  }};

  const auto adding = std::chrono::steady_clock::now();
  bool announced = false;
  row_cache rows;
  std::atomic<bool> stopped{false};
  std::thread stopper;
  bool top_failed = false;
  for (;;) {
    if (const int sig = signals.wait(100ms)) {
      const std::string name{os::signal_name(sig)};
      const auto action = action_for(sig);
      if (action == signal_action::stop && !stopper.joinable()) {
        screen.note("received " + name + ": stopping every program (" + name +
                    " again kills them)");
        stopper = std::thread{[&] {
          added.wait(false, std::memory_order_acquire);  // (2)
          rt.shutdown();
          stopped = true;
        }};
      } else if (action == signal_action::stop) {
        screen.note("received " + name + " again: killing every program");
        // Through each owning actor, which signals only a child it has not
        // reaped yet (a pid from a row could be reused by then).
        if (added.load(std::memory_order_acquire))
          rt.for_each([](const process_handle& h) { h.signal(SIGKILL); });
      } else if (action == signal_action::redraw) {
        screen.invalidate();
      } else if (action != signal_action::ignore) {
        screen.note(describe_signal(sig));
      }
    }
    if (!stopper.joinable() && added.load(std::memory_order_acquire) && top)
      if (auto failure = top_failure_message(*top.read()); !failure.empty()) {
        std::cerr << failure << std::endl;
        top_failed = true;
        stopper = std::thread{[&] {
          rt.shutdown();
          stopped = true;
        }};
      }
    const bool done = stopped.load();
    if (!added.load(std::memory_order_acquire)) {  // (3)
      if (!announced && std::chrono::steady_clock::now() - adding > 1s) {
        announced = true;
        std::cerr << "vitrine: still adding " << config.value.program_count
                  << " programs to the runtime" << std::endl;
      }
      continue;
    }
    if (!start_error.empty()) break;
    const auto now = clock_pair::now();
    // The last update reads every state: the final rows and status file.
    const auto& changed =
        done ? rows.refresh(rt, now, ~std::size_t{0}) : rows.refresh(rt, now);
    screen.update(rows.rows(), changed, collect_supervisors(rt), *top.read(),
                  now, done);
    if (done) break;
  }
  starter.join();
  if (stopper.joinable()) stopper.join();
  if (!start_error.empty()) {
    std::cerr << start_error;
    return 1;
  }
  return top_failed ? exit_top_supervisor_failed : 0;
}

}  // namespace vitrine::cli
