#include "vitrine/os/log_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vitrine::os {

log_sink::log_sink(std::string path, std::uint64_t max_bytes, unsigned backups)
    : path_(std::move(path)), max_bytes_(max_bytes), backups_(backups) {
  reopen();
}

void log_sink::reopen() {
  // O_NONBLOCK: a FIFO put at the path must never hold the I/O thread
  // (opening it with no reader fails, a full one fails a write: both
  // count as errors); a regular file ignores the flag.
  fd_.reset(::open(path_.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK,
                   0644));
  size_ = 0;
  const auto now = std::chrono::steady_clock::now();
  if (!fd_) {
    open_error_ = errno;
    ++errors_;
    next_open_attempt_ = now + reopen_interval;
    return;
  }
  next_path_check_ = now + reopen_interval;
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) {
    size_ = static_cast<std::uint64_t>(st.st_size);
    device_ = st.st_dev;
    inode_ = st.st_ino;
  }
}

bool log_sink::still_at_path() const {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 && st.st_dev == device_ &&
         st.st_ino == inode_;
}

void log_sink::rotate() {
  ++rotations_;
  fd_.reset();
  // The new file is made first and renamed into place last, and the oldest
  // backup is deleted last: `path` is missing only between the last two
  // renames (backups > 0), never with backups == 0. Before, `vitrine logs`
  // found it missing for ~10 ms at a rotation while a 10 MiB backup was
  // freed (a rename over it, then the open).
  const std::string fresh = path_ + ".vitrine-new";
  const std::string oldest = path_ + ".vitrine-old";
  ::unlink(fresh.c_str());  // left by a run that died here
  unique_fd next{::open(
      fresh.c_str(),
      O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, 0644)};
  if (backups_ > 0) {
    const std::string last = path_ + "." + std::to_string(backups_);
    if (::rename(last.c_str(), oldest.c_str()) != 0 && errno != ENOENT)
      ++errors_;
    for (unsigned i = backups_; i > 1; --i) {
      const std::string from = path_ + "." + std::to_string(i - 1);
      const std::string to = path_ + "." + std::to_string(i);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) ++errors_;
    }
    const std::string first = path_ + ".1";
    if (::rename(path_.c_str(), first.c_str()) != 0 && errno != ENOENT)
      ++errors_;
  }
  if (next && ::rename(fresh.c_str(), path_.c_str()) == 0) {
    adopt_new_file(std::move(next));
  } else {
    if (next) ::unlink(fresh.c_str());
    if (backups_ == 0 && ::unlink(path_.c_str()) != 0 && errno != ENOENT)
      ++errors_;
    reopen();
  }
  if (backups_ > 0 && ::unlink(oldest.c_str()) != 0 && errno != ENOENT)
    ++errors_;
}

void log_sink::adopt_new_file(unique_fd fd) {
  fd_ = std::move(fd);
  size_ = 0;
  next_path_check_ = std::chrono::steady_clock::now() + reopen_interval;
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0) {
    device_ = st.st_dev;
    inode_ = st.st_ino;
  }
}

bool log_sink::retry_open() {
  if (std::chrono::steady_clock::now() < next_open_attempt_) return false;
  reopen();
  return static_cast<bool>(fd_);
}

void log_sink::append(std::string_view data) {
  // Removed or replaced by someone (`rm PATH`, a logrotate without
  // copytruncate): written at its path again, looked at once a second.
  if (fd_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_path_check_) {
      next_path_check_ = now + reopen_interval;
      if (!still_at_path()) reopen();
    }
  }
  // Without a file (its directory was removed when it rotated, say), the
  // output is dropped, but not for good: once its place can be opened
  // again, the next write goes there.
  if (!fd_ && !retry_open()) {
    drop(data, open_error_);
    return;
  }
  if (dropped_bytes_ != 0) {
    // Said where it happened, before what comes next (if this fails, so
    // does what follows, and is counted with the rest).
    const std::string note = dropped_note();
    std::string_view rest = note;
    if (write_all(rest)) dropped_bytes_ = 0;
  }
  if (write_all(data)) return;
  int error = errno;
  // A full file system: with rotation on, the oldest output makes room for
  // the newest, as rotations by size would have.
  while ((error == ENOSPC || error == EDQUOT) && max_bytes_ != 0 &&
         make_room()) {
    if (fd_ && write_all(data)) return;
    error = fd_ ? errno : open_error_;
  }
  drop(data, error);
}

bool log_sink::make_room() {
  for (unsigned k = backups_; k >= 1; --k)
    if (::unlink((path_ + "." + std::to_string(k)).c_str()) == 0) return true;
  if (size_ == 0) return false;  // nothing left to give up
  rotate();  // to PATH.1 (deleted next time), or deleted (no backups)
  return true;
}

bool log_sink::write_all(std::string_view& data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;  // no progress: not to be tried forever
      return false;
    }
    const auto written = static_cast<std::size_t>(n);
    size_ += written;
    bytes_written_ += written;
    ends_with_newline_ = data[written - 1] == '\n';
    data.remove_prefix(written);
  }
  return true;
}

void log_sink::drop(std::string_view data, int error) {
  ++errors_;
  if (dropped_bytes_ == 0) drop_reason_ = error;
  dropped_bytes_ += data.size();
}

std::string log_sink::dropped_note() const {
  std::string note = ends_with_newline_ ? "" : "\n";
  note += "[vitrine: " + std::to_string(dropped_bytes_) +
          " bytes of output were dropped here: " + std::strerror(drop_reason_) +
          "]\n";
  return note;
}

void log_sink::write(std::string_view data) {
  if (max_bytes_ == 0) {
    append(data);
    return;
  }
  while (!data.empty()) {
    std::uint64_t room = size_ < max_bytes_ ? max_bytes_ - size_ : 0;
    if (data.size() <= room) {
      append(data);
      return;
    }
    // Fill the current file up to the last newline that fits; when none
    // fits, cut hard only if the file is empty (else rotate first).
    std::size_t take = 0;
    if (room > 0) {
      auto nl = data.substr(0, room).rfind('\n');
      if (nl != std::string_view::npos) {
        take = nl + 1;
      } else if (size_ == 0) {
        take = room;
      }
    }
    if (take > 0) {
      append(data.substr(0, take));
      data.remove_prefix(take);
    }
    if (!data.empty()) rotate();
    if (!fd_) {  // cannot open a new file: drop the rest (retried later)
      drop(data, open_error_);
      return;
    }
  }
}

}  // namespace vitrine::os
