// truncation_rescue: keeps a process alive when another process shrinks a
// file it has mapped shared (truncate(1), `> file`). Touching a page past
// the file's new end raises SIGBUS, whose default action kills the
// process: for the status table's owner, the whole supervision tree.
//
// For a watched range the process-wide SIGBUS handler repairs the mapping
// and returns, so the access that faulted runs again:
// - the owner's range (grow_back): the file is grown back to the range's
//   size (what was cut reads as zeros) and the range is marked damaged, for
//   the owner to rewrite; should the page fault again (the file system
//   cannot back it: a full tmpfs), anonymous memory replaces the range and
//   the owner's writes no longer reach the file;
// - a reader's range: anonymous zero pages replace it (a reader never
//   writes another process's file), and what it reads there is an empty
//   table's bytes, which its checks reject.
// A SIGBUS anywhere else goes to the handler this one replaced (the
// default one: the process dies as before).
//
// Threads: watch(), moved() and unwatch() may be called from any thread,
// never while another thread may fault in the same range (the table's
// writer holds its mutex around both). take_damage() from any thread.
// Cost: nothing until a SIGBUS; then a scan of `capacity` entries, fstat
// and ftruncate or mmap in the handler (all async-signal-safe system
// calls).
#pragma once

#include <cstddef>

namespace vitrine::os::detail {

class truncation_rescue {
 public:
  /// Ranges watched at once, process-wide.
  static constexpr int capacity = 64;

  /// Watches [base, base + size), a shared mapping of `fd` from offset 0;
  /// installs the handler on first use. Returns the entry, or -1 when all
  /// are taken (the range is then not rescued).
  static int watch(void* base, std::size_t size, int fd,
                   bool grow_back) noexcept;
  /// The range of `entry` now (after an mremap).
  static void moved(int entry, void* base, std::size_t size) noexcept;
  /// Before the range is unmapped. Ignores -1.
  static void unwatch(int entry) noexcept;
  /// Whether the range of `entry` was rescued since the last call.
  static bool take_damage(int entry) noexcept;
  /// Whether anonymous memory replaced the range of `entry` (its writes no
  /// longer reach the file), until reattached() says it maps it again.
  static bool detached(int entry) noexcept;
  static void reattached(int entry) noexcept;
};

}  // namespace vitrine::os::detail
