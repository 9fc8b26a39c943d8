// log_sink: appends a child's output to a file, rotating it by size.
//
// Rotation: when the next bytes would make the file exceed max_bytes, the
// files shift (path.(n-1) -> path.n, ..., path -> path.1; the oldest is
// deleted) and an empty file, made beforehand as path.vitrine-new, is
// renamed to path: readers find path missing only between those two
// renames, never with backups == 0. A chunk is split at the last
// newline that fits, or hard-cut when no newline fits, so no file exceeds
// max_bytes (but by the line that says output was dropped, below). With
// backups == 0 the file is simply started anew.
//
// Thread contract: NOT thread-safe. One thread writes (the io_service
// thread); counters may be read from elsewhere only after that has stopped.
// Cost: one write(2) per chunk on a regular file opened O_APPEND (no fsync),
// and once per reopen_interval a stat(2) of the path: a file removed or
// replaced there (`rm`, a logrotate) is reopened at its path. A rotation
// costs `backups + 2` rename(2), one open(2) and one unlink(2).
//
// Errors are counted, never thrown. After an open failure (the directory
// was removed, say), writes are dropped until an open succeeds: a write
// tries again at most once per reopen_interval, and so do reopen() and
// the next rotation. On a full file system (ENOSPC, EDQUOT), with rotation
// on, the oldest output makes room for the newest: the oldest backup is
// deleted, or the file rotated, and the write tried again; what still
// cannot be written is dropped. The first write that succeeds after drops
// is preceded by a line saying so: `[vitrine: N bytes of output were
// dropped here: REASON]`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

/// A size-rotated append-only log file.
/// The smallest rotation size (besides 0, never): every rotation is a
/// rename and an open on the I/O thread, and a size of a few bytes made it
/// rotate for every byte a chatty program wrote, starving every other
/// program's exits and timers.
inline constexpr std::uint64_t min_rotation_bytes = 4096;

/// Why `max_bytes` is no rotation size ("" when it is one): what
/// vitrine::validate() and the configuration file's checks say.
inline std::string rotation_size_problem(std::uint64_t max_bytes) {
  if (max_bytes == 0 || max_bytes >= min_rotation_bytes) return {};
  return "must be 0 (never rotate) or at least " +
         std::to_string(min_rotation_bytes) + " (is " +
         std::to_string(max_bytes) + ")";
}

class log_sink {
 public:
  /// Opens (creates) `path` in append mode, mode 0644, O_CLOEXEC.
  /// max_bytes == 0: never rotate.
  log_sink(std::string path, std::uint64_t max_bytes, unsigned backups);
  log_sink(const log_sink&) = delete;
  log_sink& operator=(const log_sink&) = delete;
  ~log_sink() = default;

  /// Without a file, a write retries opening it at most this often.
  static constexpr std::chrono::milliseconds reopen_interval{1000};

  /// Appends `data`, rotating first when needed.
  void write(std::string_view data);

  /// Closes and reopens `path` (e.g. after an external logrotate).
  void reopen();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept {
    return bytes_written_;
  }
  [[nodiscard]] std::uint64_t rotations() const noexcept { return rotations_; }
  /// Failed open/rename calls, plus writes dropped (no file, or a failed
  /// write).
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }
  /// Bytes dropped since the last write that succeeded (said in the file
  /// by the next one).
  [[nodiscard]] std::uint64_t dropped_bytes() const noexcept {
    return dropped_bytes_;
  }

 private:
  void rotate();
  /// Writes to `fd` from now on: the empty file rotate() renamed to path.
  void adopt_new_file(unique_fd fd);
  void append(std::string_view data);
  /// reopen(), unless tried less than reopen_interval ago; true if open.
  bool retry_open();
  /// Whether path_ still names the open file.
  bool still_at_path() const;
  /// Writes all of `data` (what is left of it stays there); false on an
  /// error, errno says which.
  bool write_all(std::string_view& data);
  /// On a full file system: deletes the oldest backup, else rotates a
  /// file that is not empty; false if there was nothing to give up.
  bool make_room();
  /// Counts `data` as dropped for `error` (errno).
  void drop(std::string_view data, int error);
  std::string dropped_note() const;

  std::string path_;
  std::uint64_t max_bytes_;
  unsigned backups_;
  unique_fd fd_;
  std::uint64_t size_ = 0;  // current size of path_
  std::uint64_t bytes_written_ = 0;
  std::uint64_t rotations_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t dropped_bytes_ = 0;
  int drop_reason_ = 0;  // errno of the first drop since the last write
  int open_error_ = 0;   // errno of the last failed open
  bool ends_with_newline_ = true;  // what was last written
  dev_t device_ = 0;               // the open file's identity (still_at_path())
  ino_t inode_ = 0;
  std::chrono::steady_clock::time_point next_open_attempt_{};
  std::chrono::steady_clock::time_point next_path_check_{};
};

}  // namespace vitrine::os
