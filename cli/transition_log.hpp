// transition_log: the lines `vitrine run --plain` prints: every transition of
// every process and supervisor, with the time its owner published it, none
// dropped between two looks (a process that goes starting -> running ->
// exited -> backoff within one tick shows all four).
//
// It reads the bounded transition histories the actors publish beside their
// states (process_handle::history(), supervisor_state::history) and keeps,
// per process or supervisor, the last transition it printed: each look adds
// the entries after it. When more transitions happened between two looks
// than a history keeps, one line says how many were not seen.
//
// Threads: one owner thread (the run loop); the handles are read lock-free.
// Cost per look at a process: one history snapshot (a guarded load) and a
// line per new entry; nothing for one whose state did not change (callers
// only pass those, see row_cache).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "status.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine::cli {

class transition_log {
 public:
  /// Adds the transitions `process` published since the last look at it
  /// (all it keeps, the first time).
  void add(const process_handle& process, const clock_pair& now);
  /// The same for a supervisor.
  void add(const supervisor_handle& supervisor, const clock_pair& now);
  /// add() for a process or supervisor that is gone from the runtime (its
  /// handle reads its last state), then forgets it: no later look comes.
  template <class Handle>
  void add_last(const Handle& gone, const clock_pair& now) {
    add(gone, now);
    forget(gone.identity());
  }

  /// The lines added since the last take(), each ending in '\n', ordered by
  /// publication time (a process's own lines in version order).
  std::string take();

 private:
  struct line {
    std::chrono::steady_clock::time_point at;  ///< when it was published
    std::uint64_t sequence;  ///< keeps one entity's lines in version order
    std::string text;
  };
  /// Per process or supervisor: the place in its transitions looked at
  /// last (order_of()), and the last entry printed.
  template <class Entry>
  struct seen {
    std::uint64_t order = 0;
    Entry entry{};
    bool shown = false;
  };

  template <class History, class Suffix>
  void add_history(seen<typename History::value_type>& last,
                   const History& entries, std::string_view name,
                   std::string_view missed_name, const clock_pair& now,
                   Suffix suffix);
  void push(std::chrono::steady_clock::time_point at, std::string text);
  void forget(const std::weak_ptr<const void>& identity);
  void note_missed(std::string_view name, std::uint64_t missed,
                   std::size_t capacity,
                   std::chrono::steady_clock::time_point at,
                   const clock_pair& now);

  /// By identity (handles' identity()): a program that a reload replaced
  /// under the same name is a new entry.
  template <class Entry>
  using seen_by_identity =
      std::map<std::weak_ptr<const void>, seen<Entry>, std::owner_less<>>;
  seen_by_identity<core::transition> processes_;
  seen_by_identity<core::supervisor_transition> supervisors_;
  std::vector<line> pending_;
  std::uint64_t sequence_ = 0;
};

/// "12:00:01.234 web exited pid=0 restarts=2 last_exit=exit 1", local
/// time, escaped for the terminal, no newline: one process transition.
std::string render_transition(std::string_view name, const core::transition& t,
                              std::int64_t unix_ms);

/// "12:00:01.234 supervisor main running restarts=0".
std::string render_transition(std::string_view name,
                              const core::supervisor_transition& t,
                              std::int64_t unix_ms);

}  // namespace vitrine::cli
