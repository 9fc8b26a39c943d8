// status_mapping: the Linux side of the shared-memory status table (format
// in core/status_table.hpp): the owner's file (create, grow, heartbeat),
// a read-only mapping for other processes, and owner liveness.
//
// Threads: a status_table_file is used by one thread at a time (the
// runtime's status_table_writer serializes it); a status_mapping likewise.
// Different instances are independent.
//
// Cost: create/grow make a few system calls (open, flock, fallocate,
// mmap/mremap, rename); a mapping's reads make none. owner_condition_of() reads
// `/proc/<pid>/stat` (one open+read, ~5 us): call it when needed, not per slot.
//
// Limit: a table file is a plain file (mode 0600) so that any process of
// the same uid can open it by path. A process of that uid that truncates
// it makes readers fault (SIGBUS); memfd seals would prevent that but
// cannot be opened by path. Readers of another uid are refused by the mode.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "vitrine/core/status_table.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

/// The owner's table file, mapped read-write.
class status_table_file {
 public:
  /// Creates `path` (0600; a relative path is made absolute now) through
  /// a temporary file beside it, so an opener never sees a half-written
  /// header, and holds an exclusive flock(2) on it until destroyed. Never
  /// replaces a file that is not a status table (EEXIST) nor the table of
  /// a live owner, one whose lock is held (EBUSY); replaces the table of an
  /// owner that is gone. Throws std::system_error ("status table PATH: ...").
  status_table_file(std::string path, std::uint32_t capacity,
                    std::uint64_t heartbeat_period_ns);
  /// Marks the table closed (readers see the owner gone), unmaps, unlinks
  /// the path if it still names this file, and closes it (dropping the
  /// lock).
  ~status_table_file();
  status_table_file(const status_table_file&) = delete;
  status_table_file& operator=(const status_table_file&) = delete;

  /// Grows to at least `capacity` slots (fallocate + mremap), then tells
  /// readers (core::status_table::table_writer_unsafe::set_capacity).
  /// Throws std::system_error (ENOSPC: a full file system) leaving the
  /// table as it was.
  void grow(std::uint32_t capacity);
  /// Whether another process damaged the file since the last call: it is
  /// repaired (shrunk: grown back, as when an access to a page that was
  /// cut raised SIGBUS, which would have killed this process, see
  /// os/src/truncation_rescue.hpp; grown: cut back; its header overwritten;
  /// removed or renamed away: a new file with the table put at the path
  /// once no other file holds it) and its header written again before it
  /// returns true; the slots are the caller's to write again. One fstat,
  /// one lstat and a look at the header when nothing happened. Call it
  /// with the table's writes serialized, as grow().
  bool take_damage();
  void* base() noexcept { return base_; }
  std::uint32_t capacity() const noexcept { return capacity_; }
  const std::string& path() const noexcept { return path_; }

 private:
  void write_header();
  /// Maps a new file at path_ in place of the one removed; false when it
  /// cannot (yet).
  bool put_back();

  std::string path_;
  unique_fd fd_;
  void* base_ = nullptr;
  std::uint32_t capacity_ = 0;
  std::uint64_t heartbeat_period_ns_ = 0;
  int rescue_ = -1;  ///< its truncation_rescue entry
};

/// A read-only mapping of a table file opened by path.
class status_mapping {
 public:
  /// Opens `path` (O_RDONLY|O_NOFOLLOW|O_NONBLOCK: a FIFO or a device
  /// there is refused without waiting; must be a regular file), reads and
  /// checks its header (pread) and maps it whole. A file larger than the
  /// table its header describes (once a growth in progress had 100 ms to
  /// finish) is refused before anything is mapped, so a reader's memory is
  /// bounded by the table, not by whatever the file holds. Throws
  /// std::system_error (errno of the failing call; ELOOP for a symbolic link),
  /// or std::runtime_error naming the format error. Both messages begin "status
  /// table PATH: ".
  explicit status_mapping(const std::string& path);
  ~status_mapping();
  status_mapping(const status_mapping&) = delete;
  status_mapping& operator=(const status_mapping&) = delete;

  /// Maps the file again at its current size (after needs_remap).
  void remap();
  /// Whether the file was shrunk under the mapping since the last call: an
  /// access to a page that was cut raised SIGBUS, which would have killed
  /// this process; zero pages replaced the mapping instead (see
  /// os/src/truncation_rescue.hpp). remap() before reading on.
  bool take_damage() noexcept;
  const core::status_table::table_reader& reader() const noexcept {
    return reader_;
  }

 private:
  void map_current();
  /// fstat: the size of a regular file at least a header long.
  std::size_t file_size() const;
  /// pread of the header: the table size it describes, once its static
  /// fields are checked.
  std::uint64_t described_size() const;
  [[noreturn]] void fail(const std::string& reason) const;
  std::string path_;
  unique_fd fd_;
  const void* base_ = nullptr;
  std::size_t size_ = 0;
  int rescue_ = -1;  ///< its truncation_rescue entry
  core::status_table::table_reader reader_;
};

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or
/// nothing if the process does not exist or is a zombie.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);
/// CLOCK_MONOTONIC now, in ns (the clock of heartbeats and slot times).
std::uint64_t monotonic_ns() noexcept;

enum class owner_condition {
  alive,    ///< publishing: its heartbeat is recent
  stopped,  ///< its process exists but is stopped (SIGSTOP, SIGTSTP, a
            ///< tracer): nothing it shows changes until it is continued
  gone      ///< closed the table, dead, a zombie, its pid reused (another
            ///< start time), or its heartbeat is older than the limit
};
/// The owner's condition; the heartbeat counts as stale after
/// `stale_periods` periods.
owner_condition owner_condition_of(const core::status_table::header_snapshot& h,
                                   std::uint64_t now_ns,
                                   unsigned stale_periods = 5);
/// owner_condition_of() is alive.
bool owner_alive(const core::status_table::header_snapshot& h,
                 std::uint64_t now_ns, unsigned stale_periods = 5);

}  // namespace vitrine::os
