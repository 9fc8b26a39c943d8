#include "logs_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <utility>
#include <variant>

#include "capture_moves.hpp"
#include "config.hpp"
#include "log_follower.hpp"
#include "regular_file.hpp"
#include "signal_channel.hpp"
#include "state_dir.hpp"
#include "stdout_check.hpp"
#include "text_escape.hpp"
#include "vitrine/os/unique_fd.hpp"
#include "vitrine/status_reader.hpp"

namespace vitrine::cli {
namespace {

using namespace std::chrono_literals;
using os::unique_fd;

/// Set when a write to stdout failed other than by EPIPE (and said so on
/// stderr): `logs` then exits 1 (docs/cli.md, exit codes).
bool stdout_failed = false;

bool write_all(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      stdout_failed = report_stdout_error("logs", n < 0 ? errno : EIO) ==
                      stdout_state::failed;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Waits up to `timeout` for a stop signal or a hangup, or for stdout to lose
/// its reader; true when either came. A pipe whose reader is gone polls as
/// POLLERR even when nothing is written to it: an idle follower then ends
/// at once (as tail -f does), not at its next write.
bool stop_requested(signal_channel& signals,
                    std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
  if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return false;
  if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
  // A hangup ends a follower too (its terminal is gone), as it ends tail -f.
  const int sig = signals.wait(0ms);
  return sig && (action_for(sig) == signal_action::stop ||
                 action_for(sig) == signal_action::reload);
}

/// Whether the run whose status table is at `table` no longer has the
/// program `name`: a reload removed it (its slot is freed), so nothing more
/// is written to its captures. False while that is not known (no table: the
/// run ended or has not published it; a slot being written).
bool left_the_run(const std::string& table, const std::string& name) {
  try {
    status_reader reader{table};
    status_slot slot;
    return reader.find(name, slot) == status_error::out_of_range;
  } catch (const std::exception&) {
    return false;
  }
}

/// What a look at the run (once a second) found.
struct run_look {
  bool gone = false;  ///< no more is written to the captures
  /// Set when an applied reload changed where the program's output goes:
  /// the new capture paths (stdout's first) and their rotation.
  std::optional<capture_files> moved;
};

/// A start time in the file system's clock (coarse: a file created after
/// it is never stamped before it).
timespec file_clock_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return now;
}

/// Whether `path` was created at or after `since` (false when not known).
bool created_since(const std::string& path, const timespec& since) {
  struct statx st {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_BTIME, &st) != 0 ||
      !(st.stx_mask & STATX_BTIME))
    return false;
  const auto ns = [](std::int64_t sec, std::int64_t nsec) {
    return sec * std::int64_t{1'000'000'000} + nsec;
  };
  return ns(st.stx_btime.tv_sec, st.stx_btime.tv_nsec) >=
         ns(since.tv_sec, since.tv_nsec);
}

/// Prints what is written to `files` (under a header when it comes from
/// another file than the last output, if there are several) until a stop
/// signal, until stdout's reader is gone, or (looked at once a second)
/// until `look()` says no more will be written. When it says the captures
/// moved, the files left are read to their end and the new ones followed:
/// from their start if they were created since following began, else as
/// `logs -f -n LINES` starts (their last LINES lines, then what follows).
void follow(std::vector<log_follower>& files, std::string_view name,
            std::size_t lines, signal_channel& signals,
            const std::function<run_look()>& look) {
  const auto notice = [](const std::string& text) {
    std::cerr << "vitrine: " << terminal_safe(text) << "\n";
  };
  const timespec started = file_clock_now();
  std::size_t last_shown = files.size() - 1;
  const auto shower = [&](std::size_t i) {
    return [&, i](std::string_view text) {
      if (files.size() > 1 && i != last_shown &&
          !write_all("\n==> " + terminal_safe(files[i].path()) + " <==\n"))
        return false;
      last_shown = i;
      return write_all(text);  // EPIPE: the reader is gone
    };
  };
  // Reads every file to its current end; false when the reader is gone.
  const auto catch_up = [&] {
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto progress = log_follower::progress::more;
      while (progress == log_follower::progress::more)
        progress = files[i].poll(shower(i), notice);
      if (progress == log_follower::progress::reader_gone) return false;
    }
    return true;
  };
  auto next_look = std::chrono::steady_clock::now() + 1s;
  bool is_gone = false;
  for (;;) {
    if (const auto now = std::chrono::steady_clock::now();
        !is_gone && now >= next_look) {
      next_look = now + 1s;
      auto found = look();
      is_gone = found.gone;
      if (found.moved) {
        // What the replaced program wrote comes first, then the new files.
        if (!catch_up()) return;
        const auto& [paths, backups] = *found.moved;
        const auto kept = [&](const log_follower& file) {
          return std::find(paths.begin(), paths.end(), file.path()) !=
                 paths.end();
        };
        for (std::size_t i = 0; i < files.size(); ++i)
          if (!kept(files[i]) && !files[i].finish(shower(i), notice)) return;
        std::vector<log_follower> next;
        std::vector<std::string> tails;  // of files that existed before
        for (const auto& path : paths) {
          const auto same =
              std::find_if(files.begin(), files.end(),
                           [&](const auto& f) { return f.path() == path; });
          if (same != files.end()) {
            next.push_back(std::move(*same));
            tails.emplace_back();
            continue;
          }
          notice("program '" + std::string{name} + "' now writes to " + path +
                 " (a reload changed its capture); following it");
          log_follower file{path, backups};
          tails.push_back(created_since(path, started)
                              ? std::string{}
                              : file.open_with_tail(lines).value_or(""));
          next.push_back(std::move(file));
        }
        files = std::move(next);
        last_shown = files.size();  // the next output names its file
        for (std::size_t i = 0; i < files.size(); ++i)
          if (!tails[i].empty() && !shower(i)(tails[i])) return;
      }
    }
    bool behind = false;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto progress = files[i].poll(shower(i), notice);
      if (progress == log_follower::progress::reader_gone) return;
      behind = behind || progress == log_follower::progress::more;
    }
    // Gone: what was written before it went is read, then it ends.
    if (is_gone && !behind) break;
    if (stop_requested(signals, behind ? 0ms : 100ms)) break;
  }
  // An unfinished line held back is the program's output too.
  for (std::size_t i = 0; i < files.size(); ++i)
    if (!files[i].finish(shower(i), notice)) return;
}

std::string_view describe_target(const os::stdio_target& target) {
  using kind = os::stdio_target::kind;
  switch (target.mode) {
    case kind::inherit:
      return "inherited";
    case kind::null:
      return "discarded (null)";
    case kind::append_file:
      return "appended to a file";
    default:
      return "captured";
  }
}

/// The configuration file the run in `dir` was started with; "" and
/// `error` set when the state directory does not name one. The leaf must
/// be a small regular file (O_NONBLOCK: a FIFO there cannot hang us).
std::string config_of(const state_dir& dir, std::string& error) {
  const std::string leaf = dir.file(config_leaf);
  error = "cannot read the run's configuration path from " + leaf +
          " (was the run started with this state directory?)";
  const unique_fd fd{::open(leaf.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > 4096)
    return {};
  std::string path(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t n = ::pread(fd.get(), path.data(), path.size(), 0);
  if (n < 0) return {};
  path.resize(static_cast<std::size_t>(n));
  if (const auto end = path.find('\n'); end != std::string::npos)
    path.resize(end);
  if (path.empty() || path.front() != '/') return {};
  error.clear();
  return path;
}

}  // namespace

int logs_command(const logs_options& options) {
  signal_channel signals;  // before anything: stop signals end -f cleanly
  std::string error;
  const auto dir = state_dir::open_existing(options.state_dir, error);
  if (!dir) {
    std::cerr << "vitrine: " << terminal_safe(error) << "\n";
    return 1;
  }
  const std::string config_path = config_of(*dir, error);
  if (config_path.empty()) {
    std::cerr << "vitrine: " << terminal_safe(error) << "\n";
    return 1;
  }
  parse_options parse;
  parse.semantic_checks = false;  // the programs' files need not exist now
  const auto config = load_config_file(config_path, parse);
  if (!config.ok()) {
    std::cerr << "vitrine: the run's configuration "
              << terminal_safe(config_path) << " no longer loads:\n";
    for (const auto& problem : config.problems)
      std::cerr << describe(problem) << "\n";
    return 1;
  }
  const auto* program = find_program(config.value.tree, options.name);
  if (!program) {
    std::cerr << "vitrine: no program '" << terminal_safe(options.name)
              << "' in " << terminal_safe(config_path) << "\n";
    return 1;
  }
  const auto& out = program->launch.stdout_target;
  const auto& err = program->launch.stderr_target;
  const std::vector<std::string> paths = captures_of(*program).paths;
  if (paths.empty()) {
    std::cerr << "vitrine: program '" << terminal_safe(options.name)
              << "' does not capture its output (stdout is "
              << describe_target(out) << ", stderr is " << describe_target(err)
              << "): add `stdout = { capture = \""
              << terminal_safe(options.name)
              << ".log\" }` (and `stderr`, the same path or another) to its "
                 "[[program]] in "
              << terminal_safe(config_path)
              << ", then reload or restart vitrine\n";
    return 1;
  }

  for (const auto& path : paths) {
    if (const auto problem = existing_non_regular(path); !problem.empty()) {
      std::cerr << "vitrine: the capture of program '"
                << terminal_safe(options.name) << "', " << terminal_safe(path)
                << ", " << problem << "\n";
      return 1;
    }
  }

  const bool headers = paths.size() > 1;
  bool missing = false;
  std::vector<log_follower> files;
  for (const auto& path : paths) {
    log_follower file{path, program->logs.backups};
    const auto tail = file.open_with_tail(options.lines);
    const std::string text = tail.value_or("");
    if (!tail) {
      // The run creates it when the program first starts, and again at a
      // write once its directory is back if it was removed.
      missing = true;
      std::cerr << "vitrine: " << terminal_safe(path)
                << " does not exist (yet): program '"
                << terminal_safe(options.name)
                << "' has not started, or the file or its directory was "
                   "removed (written again once it can be)"
                << (options.follow ? "; following it once it is there\n"
                                   : "\n");
    }
    if ((headers && !write_all("==> " + terminal_safe(path) + " <==\n")) ||
        !write_all(text))
      return stdout_failed ? 1 : 0;
    files.push_back(std::move(file));
  }
  if (!options.follow) return missing ? 1 : 0;

  const std::string table = dir->file(status_table_leaf);
  capture_moves moves{*dir, config_path, options.name, paths};
  // Twice in a row, a second apart: a reload that replaces a changed
  // program frees its slot for an instant before the new one takes it.
  int absent = 0;
  follow(files, options.name, options.lines, signals, [&] {
    run_look found;
    found.moved = moves.look();
    absent = left_the_run(table, options.name) ? absent + 1 : 0;
    if (absent < 2) return found;
    std::cerr << "vitrine: program '" << terminal_safe(options.name)
              << "' was removed from the run (by a reload): nothing more is "
                 "written to its capture\n";
    found.gone = true;
    return found;
  });
  return stdout_failed ? 1 : 0;
}

}  // namespace vitrine::cli
