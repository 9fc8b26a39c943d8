#include "log_follower.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

namespace vitrine::cli {
namespace {

constexpr std::size_t chunk_size = 64 << 10;

/// An unfinished line held back past this is passed on as it comes.
constexpr std::size_t max_held = 64 << 10;

/// Tries this often to find the file after the one read, when a rotation
/// is moving the names under the lookup, before waiting for the next poll.
constexpr int successor_attempts = 3;

/// Polls after which a file read to its end, still linked but under no
/// rotated name (renamed away by someone else), is left for the new PATH.
constexpr unsigned max_unplaced_polls = 10;

/// `path` opened for reading if it is a regular file (`st`: its status).
os::unique_fd open_regular(const std::string& path, struct stat& st) {
  // O_NONBLOCK: a FIFO put in the capture's place cannot hang the reader.
  os::unique_fd fd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return fd;
}

/// The last `n` lines of the concatenation of the files, oldest first; the
/// first file is already open (`fd`, `size` bytes are read of it), the
/// others (older ones) are opened by path until one is missing.
std::string tail_of(int fd, std::uint64_t size,
                    const std::vector<std::string>& older, std::size_t n) {
  if (n == 0) return {};
  std::vector<std::string> chunks;  // newest first
  std::size_t newlines = 0;
  std::size_t final_newline = 0;  // 1 if the text ends in one: no separator
  auto read_back = [&](int from, std::uint64_t end) {
    while (end > 0) {
      const std::size_t len =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, end));
      std::string chunk(len, '\0');
      const ssize_t got =
          ::pread(from, chunk.data(), len, static_cast<off_t>(end - len));
      if (got < 0 && errno == EINTR) continue;
      if (got != static_cast<ssize_t>(len)) return false;  // shrank: stop
      end -= len;
      if (chunks.empty() && chunk.back() == '\n') final_newline = 1;
      newlines += static_cast<std::size_t>(
          std::count(chunk.begin(), chunk.end(), '\n'));
      chunks.push_back(std::move(chunk));
      if (newlines - final_newline >= n) return true;
    }
    return false;
  };
  bool enough = read_back(fd, size);
  for (std::size_t i = 0; !enough && i < older.size(); ++i) {
    const os::unique_fd file{::open(older[i].c_str(), O_RDONLY | O_CLOEXEC)};
    struct stat st {};
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) break;
    enough = read_back(file.get(), static_cast<std::uint64_t>(st.st_size));
  }
  std::string text;
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) text += *it;
  // Keep what follows the n-th separator from the end.
  std::size_t end = text.size();
  if (!text.empty() && text.back() == '\n') --end;
  std::size_t seen = 0;
  for (std::size_t i = end; i-- > 0;)
    if (text[i] == '\n' && ++seen == n) return text.substr(i + 1);
  return text;
}

}  // namespace

log_follower::log_follower(std::string path, unsigned backups)
    : path_(std::move(path)), backups_(backups) {}

bool log_follower::open_at_end(bool at_line) {
  if (!open(path_, true)) return false;
  opened_size_ = static_cast<std::uint64_t>(::lseek(fd_.get(), 0, SEEK_CUR));
  char last = '\n';
  if (at_line && opened_size_ > 0 &&
      ::pread(fd_.get(), &last, 1, static_cast<off_t>(opened_size_ - 1)) == 1)
    resume_after_newline_ = last != '\n';
  return true;
}

std::optional<std::string> log_follower::open_with_tail(std::size_t lines) {
  // -n 0: no line before the end is shown, nor the end of one.
  bool opened = open_at_end(lines == 0);
  // A rotation renames PATH to PATH.1, then its new empty file to PATH: a
  // reader in between (now and then, under a busy program) finds no PATH
  // but PATH.1. It looks again for a moment before it says PATH is missing.
  for (auto waited = std::chrono::milliseconds{0};
       !opened && backups_ > 0 && waited < rotation_patience &&
       ::access(rotated_name(1).c_str(), F_OK) == 0;
       waited += std::chrono::milliseconds{1}) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
    opened = open_at_end(lines == 0);
  }
  if (!opened) return std::nullopt;
  std::vector<std::string> older;
  for (unsigned i = 1; i <= backups_; ++i) older.push_back(rotated_name(i));
  return tail_of(fd_.get(), opened_size_, older, lines);
}

bool log_follower::open(const std::string& path, bool at_end) {
  struct stat st {};
  os::unique_fd fd = open_regular(path, st);
  if (!fd) return false;
  if (at_end) ::lseek(fd.get(), 0, SEEK_END);
  adopt(std::move(fd), st);
  return true;
}

void log_follower::adopt(os::unique_fd fd, const struct stat& st) {
  fd_ = std::move(fd);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
}

bool log_follower::drain(const text_sink& out) {
  char buffer[chunk_size];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (!pass({buffer, static_cast<std::size_t>(n)}, out)) return false;
  }
}

bool log_follower::pass(std::string_view data, const text_sink& out) {
  if (resume_after_newline_) {
    const auto newline = data.find('\n');
    if (newline == std::string_view::npos) return true;
    data.remove_prefix(newline + 1);
    resume_after_newline_ = false;
  }
  const auto last = data.rfind('\n');
  if (last == std::string_view::npos) {
    held_.append(data);
    if (held_.size() < max_held) return true;
    unfinished_passed_ = true;
    const std::string text = std::move(held_);
    held_.clear();
    return out(text);
  }
  const auto whole = data.substr(0, last + 1);
  bool ok = true;
  if (held_.empty()) {
    ok = out(whole);
  } else {
    held_.append(whole);
    ok = out(held_);
  }
  held_.assign(data.substr(last + 1));
  unfinished_passed_ = false;
  return ok;
}

bool log_follower::abandon_line(const text_sink& out) {
  held_.clear();
  const bool ended = !unfinished_passed_ || out("\n");
  unfinished_passed_ = false;
  return ended;
}

bool log_follower::finish(const text_sink& out, const notice_sink& notice) {
  if (notice) say_skips(notice, false);
  if (held_.empty()) return true;
  const std::string text = std::move(held_);
  held_.clear();
  unfinished_passed_ = true;
  return out(text);
}

bool log_follower::is_current(const struct stat& st) const noexcept {
  return fd_ && st.st_dev == dev_ && st.st_ino == ino_;
}

std::string log_follower::rotated_name(unsigned index) const {
  return path_ + "." + std::to_string(index);
}

unsigned log_follower::rotated_index() const {
  for (unsigned i = 1; i <= backups_; ++i) {
    struct stat st {};
    if (::stat(rotated_name(i).c_str(), &st) == 0 && is_current(st)) return i;
  }
  return 0;
}

log_follower::successor log_follower::open_successor() {
  successor missed = successor::not_yet;
  for (int attempt = 0; attempt < successor_attempts; ++attempt) {
    const unsigned k = rotated_index();
    if (k == 0) {
      // Not seen under any name: rotations moved it past the lookup (look
      // again), the last one deleted it (no link left), or someone else
      // renamed it.
      struct stat own {};
      if (::fstat(fd_.get(), &own) == 0 && own.st_nlink == 0)
        return successor::lost;
      missed = successor::unplaced;
      continue;
    }
    missed = successor::not_yet;
    const std::string newer = k == 1 ? path_ : rotated_name(k - 1);
    struct stat st {};
    os::unique_fd next = open_regular(newer, st);
    struct stat at_k {};
    // Names only move up, and a rotation moves the file at PATH.k before
    // the one at PATH.(k-1): while the file read is still at PATH.k, the
    // name one newer holds the file that followed it (or nothing, for an
    // instant). So it must still be there after `newer` was opened.
    if (!next || ::stat(rotated_name(k).c_str(), &at_k) != 0 ||
        !is_current(at_k))
      continue;
    adopt(std::move(next), st);
    return successor::opened;
  }
  return missed;
}

void log_follower::skip_to_oldest(const text_sink& out,
                                  const notice_sink& notice) {
  // The rest of the line being read went with the lost output; the file
  // gone on with may begin with the end of a lost line.
  abandon_line(out);
  resume_after_newline_ = true;
  std::string from = path_;
  for (unsigned i = backups_; i > 0; --i) {
    if (open(rotated_name(i), false)) {
      from = rotated_name(i);
      break;
    }
  }
  if (from == path_ && !open(path_, false))
    fd_.reset();  // the next poll opens PATH once it exists
  ++skips_unsaid_;
  skipped_to_ = std::move(from);
  say_skips(notice, true);
}

void log_follower::say_skips(const notice_sink& notice, bool due_only) {
  const auto now = std::chrono::steady_clock::now();
  if (skips_unsaid_ == 0 ||
      (due_only && now - skips_said_at_ < std::chrono::seconds{1}))
    return;
  const std::string behind =
      "more than " + std::to_string(backups_) + " rotations behind";
  const std::string going_on =
      "going on with " + skipped_to_ + " after its first newline";
  if (skips_unsaid_ == 1)
    notice("skipped: some output of " + path_ +
           " was rotated away before it was read (" + behind + "); " +
           going_on);
  else
    notice("skipped: some output of " + path_ +
           " was rotated away before it was read, " +
           std::to_string(skips_unsaid_) + " times since the last notice (" +
           behind + " each time); " + going_on);
  skips_unsaid_ = 0;
  skips_said_at_ = now;
}

bool log_follower::removed_not_rotated() const {
  struct stat own {};
  if (::fstat(fd_.get(), &own) != 0) return false;
  struct stat newest {};
  if (::stat(rotated_name(1).c_str(), &newest) != 0) {
    // A rotation renames PATH.1 to PATH.2 (deleting the file there), then
    // PATH to PATH.1. Under a fast writer the follower often finds the
    // names between the two (an outside tester's `logs -f` said "removed"
    // 106 times in 8 s): PATH.2 without PATH.1 is a rotation.
    // Neither: never rotated, so removed.
    struct stat older {};
    return backups_ < 2 || ::stat(rotated_name(2).c_str(), &older) != 0;
  }
  const auto& a = newest.st_mtim;
  const auto& b = own.st_mtim;
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

bool log_follower::next_file(const text_sink& out, const notice_sink& notice) {
  // Without backups the sink deletes PATH: the new PATH follows.
  if (backups_ == 0) return open(path_, false);
  switch (open_successor()) {
    case successor::opened:
      unplaced_polls_ = 0;
      return true;
    case successor::not_yet:
      return false;
    case successor::unplaced:
      if (++unplaced_polls_ < max_unplaced_polls) return false;
      unplaced_polls_ = 0;
      notice("the file being read as " + path_ +
             " was renamed out of its rotation; going on with " + path_);
      return open(path_, false);
    case successor::lost:
      break;
  }
  if (removed_not_rotated()) {
    // Read to its end already; the line it left unfinished stays so.
    abandon_line(out);
    notice("the file being read as " + path_ +
           " was removed; going on with the new " + path_);
    return open(path_, false);
  }
  skip_to_oldest(out, notice);
  return true;
}

log_follower::progress log_follower::poll(const text_sink& out,
                                          const notice_sink& notice) {
  say_skips(notice, true);
  if (!fd_ && !open(path_, false)) return progress::caught_up;
  if (!drain(out)) return progress::reader_gone;
  struct stat st {};
  // No PATH: between the sink's rename and its new file.
  if (::stat(path_.c_str(), &st) != 0) return progress::caught_up;
  if (is_current(st)) {
    if (::lseek(fd_.get(), 0, SEEK_CUR) > st.st_size) {
      ::lseek(fd_.get(), 0, SEEK_SET);  // truncated: read it again
      // The line being read lost its rest with the truncation.
      return abandon_line(out) && drain(out) ? progress::caught_up
                                             : progress::reader_gone;
    }
    return progress::caught_up;
  }
  // PATH is another file: the sink closed this one before renaming it
  // away, so what is read now is the rest of it.
  if (!drain(out)) return progress::reader_gone;
  return next_file(out, notice) ? progress::more : progress::caught_up;
}

}  // namespace vitrine::cli
