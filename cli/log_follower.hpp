// log_follower: reads a capture file (os::log_sink) as it grows, across the
// sink's rotations, for `vitrine logs -f`.
//
// The sink rotates by renaming: PATH.(K-1) -> PATH.K, ..., PATH -> PATH.1,
// then a new PATH. Between two polls it may rotate many times, so the file
// being read is found again by identity (device and inode), not by name:
// once PATH is another file, the file being read is read to its end (its
// writer closed it before the rename), then looked up among PATH.1 ...
// PATH.K, and the file one name newer (PATH.(k-1), or PATH) is the next
// one. Every file is read once, in the order written, while it still
// exists. When the file being read has left PATH.K too (the reader fell
// more than K rotations behind: it has no link left), what followed it
// may be gone: the reader says so through `notice` and goes on with the
// oldest file left. A file renamed elsewhere by someone else is left for
// the new PATH after a few polls, with a notice too. A file removed by
// someone (`rm PATH`; the sink opens a new PATH within a second) is told
// from one rotated away by its age: every rotated file left is older than
// it (or there is none); nothing was skipped then, and the new PATH is read
// from its start, after a notice. With backups = 0 the sink
// deletes PATH at each rotation, so what followed is simply the new PATH (a
// rotation missed entirely cannot be told).
//
// Output is passed on in whole lines: an unfinished line is held back until
// its newline is read (a sink may end a file in the middle of a line and
// go on in the next). On a skip the held part is dropped (the rest of its
// line was rotated away with the output the notice reports lost), and the
// file gone on with is passed from after its first newline (it may begin
// with the end of a lost line): no text of two files is ever joined. An
// unfinished line longer than 64 KiB is passed on as it comes; a skip then
// ends it with a newline. finish() passes what is held when reading stops.
//
// A reader behind a writer that rotates faster than it reads may skip at
// every poll (an outside tester's follower said so 2,897 times in 16 s):
// the first skip is said at once, the ones after it within a second are
// counted and said as one notice, at the first poll a second after the
// last notice (or at finish()).
//
// Threads: one thread per instance. Cost: per poll, one stat(2) and a
// read(2) per 64 KiB of new output; after a rotation, one stat(2) per
// rotated file up to the one being read, and one open(2).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

class log_follower {
 public:
  /// Receives output in order; false stops the poll (the reader is gone).
  using text_sink = std::function<bool(std::string_view)>;
  /// Receives a one-line message about output that was skipped.
  using notice_sink = std::function<void(const std::string&)>;

  /// Follows `path`, rotated by its sink with `backups` old files kept.
  log_follower(std::string path, unsigned backups);

  /// Opens PATH positioned at its end; false when it does not exist yet
  /// (the first poll() then reads it from its start). With `at_line`, an
  /// end in the middle of a line (its start not shown) is passed from
  /// after the line's newline.
  bool open_at_end(bool at_line = false);

  /// open_at_end(), returning the last `lines` lines before the end, read
  /// back through the rotated files when PATH holds fewer (oldest first; a
  /// last line without a newline is kept as is); nothing when PATH does
  /// not exist yet. A PATH missing beside a PATH.1 is looked for again for
  /// up to rotation_patience (a rotation between its two renames).
  std::optional<std::string> open_with_tail(std::size_t lines);
  static constexpr std::chrono::milliseconds rotation_patience{100};

  const std::string& path() const noexcept { return path_; }

  enum class progress {
    caught_up,   ///< nothing more to read now: wait before the next poll
    more,        ///< moved on to a newer file: poll again at once
    reader_gone  ///< `out` returned false
  };

  /// Passes what was written since the last call to `out`, in order: the
  /// rest of the file being read and, when it was rotated away, moves on
  /// to the next one (read by the next poll).
  progress poll(const text_sink& out, const notice_sink& notice);

  /// Passes the unfinished line held back, if any, and says the skips not
  /// said yet (reading stops).
  bool finish(const text_sink& out, const notice_sink& notice = {});

  // -- internals ----------------------------------------------------------

 private:
  /// What became of the file being read once PATH is another file.
  enum class successor {
    opened,    ///< the next file is open
    not_yet,   ///< mid-rotation: look again at the next poll
    unplaced,  ///< still linked, but under no rotated name
    lost       ///< deleted by rotation: what followed may be gone too
  };

  bool open(const std::string& path, bool at_end);
  void adopt(os::unique_fd fd, const struct stat& st);
  bool drain(const text_sink& out);
  /// Passes the whole lines of `data` on, holding back an unfinished end.
  bool pass(std::string_view data, const text_sink& out);
  /// Gives up the line being read (skip, truncation): the held part is
  /// dropped, one passed on already is ended with a newline.
  bool abandon_line(const text_sink& out);
  bool is_current(const struct stat& st) const noexcept;
  std::string rotated_name(unsigned index) const;
  /// The index k of the file being read among PATH.1 ... PATH.K, 0 if none.
  unsigned rotated_index() const;
  successor open_successor();
  /// Moves on to the file after the one read to its end; false when it
  /// cannot be opened yet (mid-rotation).
  bool next_file(const text_sink& out, const notice_sink& notice);
  void skip_to_oldest(const text_sink& out, const notice_sink& notice);
  /// Whether the deleted file being read was removed by someone rather
  /// than rotated away: no rotated file is as new as it.
  bool removed_not_rotated() const;
  /// Says the skips counted since the last notice, if any: when `due_only`,
  /// only once a second has passed since that notice.
  void say_skips(const notice_sink& notice, bool due_only);

  std::string path_;
  unsigned backups_;
  os::unique_fd fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t opened_size_ = 0;
  unsigned unplaced_polls_ = 0;        ///< next_file() found no successor yet
  std::string held_;                   ///< an unfinished line, not passed yet
  bool unfinished_passed_ = false;     ///< part of the line was passed on
  bool resume_after_newline_ = false;  ///< after a skip: drop to a newline
  unsigned skips_unsaid_ = 0;          ///< skips since the last notice
  std::string skipped_to_;             ///< the file the last skip went on with
  std::chrono::steady_clock::time_point skips_said_at_{};
};

}  // namespace vitrine::cli
