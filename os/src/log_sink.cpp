#include "vitrine/os/log_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

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
  if (!fd_) {
    ++errors_;
    next_open_attempt_ = std::chrono::steady_clock::now() + reopen_interval;
    return;
  }
  struct stat st {};
  if (::fstat(fd_.get(), &st) == 0)
    size_ = static_cast<std::uint64_t>(st.st_size);
}

void log_sink::rotate() {
  ++rotations_;
  fd_.reset();
  if (backups_ == 0) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) ++errors_;
  } else {
    for (unsigned i = backups_; i > 1; --i) {
      std::string from = path_ + "." + std::to_string(i - 1);
      std::string to = path_ + "." + std::to_string(i);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        ++errors_;
      }
    }
    std::string first = path_ + ".1";
    if (::rename(path_.c_str(), first.c_str()) != 0 && errno != ENOENT) {
      ++errors_;
    }
  }
  reopen();
}

bool log_sink::retry_open() {
  if (std::chrono::steady_clock::now() < next_open_attempt_) return false;
  reopen();
  return static_cast<bool>(fd_);
}

void log_sink::append(std::string_view data) {
  // Without a file (its directory was removed when it rotated, say), the
  // output is dropped, but not for good: once its place can be opened
  // again, the next write goes there.
  if (!fd_ && !retry_open()) {
    ++errors_;
    return;
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ++errors_;
      return;
    }
    auto written = static_cast<std::size_t>(n);
    size_ += written;
    bytes_written_ += written;
    data.remove_prefix(written);
  }
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
      ++errors_;
      return;
    }
  }
}

}  // namespace vitrine::os
