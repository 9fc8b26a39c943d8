// fd_reserve: descriptors held back for work that must not fail at the
// open-file limit. Where a process's children (their pidfds, pipes, log
// files) can take every descriptor the limit allows, its own work would
// then fail with EMFILE: `vitrine run` reading its file for a reload or
// accepting a `vitrine ctl`, the orphan reaper scanning /proc. And work
// that opens descriptors beside a start would take the ones a stop just
// gave back, so that start failed. A reserve holds a few descriptors open
// (/dev/null) and closes them only while such work runs, so the work's
// open(2)s and accept(2)s find room that nobody else counted on.
//
// Best effort: while the reserve is lent, a child starting meanwhile may
// take the room too; the reserve is taken back as far as the limit allows
// when the last use ends, and by refill().
//
// Threads: any; a mutex serializes lending and taking back (uses overlap).
// Cost: `count` close(2)s when the first use begins, as many dup(2)s when
// the last one ends.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "vitrine/os/unique_fd.hpp"

namespace vitrine::os {

class fd_reserve {
 public:
  /// Holds `count` descriptors, or as many as the limit allows now.
  explicit fd_reserve(std::size_t count);
  fd_reserve(const fd_reserve&) = delete;
  fd_reserve& operator=(const fd_reserve&) = delete;

  /// The reserve lent for one piece of work: its descriptors are closed
  /// while any use is alive. The destructor leaves errno as it was.
  class use {
   public:
    explicit use(fd_reserve& reserve);
    ~use();
    use(const use&) = delete;
    use& operator=(const use&) = delete;

   private:
    fd_reserve& reserve_;
  };

  /// One descriptor lent for as long as the loan lives (a control
  /// connection, which holds its socket while its command runs): the
  /// reserve holds one fewer meanwhile, so the connection does not take a
  /// descriptor a program gave back (a stopped one's, for the start that
  /// follows). A null reserve lends nothing. The destructor leaves errno
  /// as it was.
  class loan {
   public:
    explicit loan(fd_reserve* reserve);
    ~loan();
    loan(loan&& other) noexcept : reserve_(std::exchange(other.reserve_, {})) {}
    loan& operator=(loan&&) = delete;

   private:
    fd_reserve* reserve_;
  };

  /// Takes back what is missing if no use is alive (the limit allowing).
  void refill();
  /// Descriptors held now.
  std::size_t held() const;

 private:
  /// A use or a loan ends: `alive` (uses_ or lent_) counts one fewer, and
  /// the reserve is taken back if no use is alive. Keeps errno.
  void end(std::size_t& alive);
  void refill_locked();

  const std::size_t count_;
  mutable std::mutex mutex_;
  std::size_t uses_ = 0;
  std::size_t lent_ = 0;         ///< loans alive: held back from the count
  std::vector<unique_fd> held_;  ///< /dev/null, then duplicates
};

}  // namespace vitrine::os
