// display: what `vitrine run` shows while it supervises: a live table on a
// terminal (every supervisor, then the processes), or with --plain a line
// per transition (transition_log.hpp); and the JSON status file it keeps
// current (--json-status).
//
// Threads: the run loop's thread only. Costs: row_cache::refresh() reads at
// most tick_budget states lock-free; update() formats only what changed,
// redraws the table only when its text changed, and spaces the status
// file writes so that they take at most a tenth of the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "running_order.hpp"
#include "status.hpp"
#include "transition_log.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {

/// Every process's row, in the run's order (running_order: the file's,
/// as reloads leave it; else registry order), and its handle. A
/// refresh turns into a row only the states whose version changed, and
/// reads at most `budget` states (round-robin): an idle tick over 100,000
/// programs would otherwise cost a few cache misses per program, 10% of a
/// core at 10 ticks/s.
class row_cache {
 public:
  /// States read per tick: a change among 100,000 programs shows within a
  /// second; up to this many programs, every tick reads them all.
  static constexpr std::size_t tick_budget = 10'000;

  /// Reads up to `budget` states (all of them when the registry changed);
  /// returns the indices of the rows that changed (also changed()).
  /// Lists the rows in `order` from the next refresh on (it must outlive
  /// the cache).
  void follow(const running_order& order) noexcept { order_ = &order; }

  const std::vector<std::size_t>& refresh(const runtime& rt,
                                          const clock_pair& now,
                                          std::size_t budget = tick_budget);

  /// Whether the rows show every change up to `publications` (a value of
  /// runtime::publications()): a whole round of reads began after it.
  bool up_to_date(std::uint64_t publications) const noexcept {
    return shown_publications_ == publications;
  }
  const std::vector<status_row>& rows() const noexcept { return rows_; }
  const std::vector<std::size_t>& changed() const noexcept { return changed_; }
  const process_handle& handle(std::size_t i) const { return handles_[i]; }
  /// The processes that left the registry since the previous refresh (a
  /// reload removed or replaced them): their last states are still to be
  /// shown, as the handles keep reading them.
  const std::vector<process_handle>& departed() const noexcept {
    return departed_;
  }

 private:
  /// The handles in the order's place (unknown names last, as they were).
  void put_in_order();

  const running_order* order_ = nullptr;
  std::uint64_t order_version_ = 0;
  std::uint64_t revision_ = ~std::uint64_t{0};
  std::vector<status_row> rows_;
  std::vector<process_handle> handles_;
  std::vector<std::size_t> changed_;
  std::vector<process_handle> departed_;
  std::size_t next_ = 0;        ///< where the next partial refresh starts
  std::size_t round_left_ = 0;  ///< reads until the round of reads ends
  std::uint64_t round_publications_ = 0;  ///< when the round began
  std::uint64_t shown_publications_ = ~std::uint64_t{0};
};

/// Every supervisor of `rt` (the runtime's root first), in build order.
std::vector<supervisor_handle> supervisors_of(const runtime& rt);

/// Shows the states: a live table (terminal) or a line per transition
/// (plain), and keeps the JSON status file current.
class display {
 public:
  display(bool live, std::string json_path)
      : live_(live), json_path_(std::move(json_path)) {}

  /// Why the status file cannot be written, when that shows without
  /// writing it (its directory is missing or not a writable directory, or
  /// it is a directory itself); "" otherwise. Checked before the state
  /// directory is claimed: a run refused for it leaves nothing behind.
  std::string status_path_problem() const;
  /// Writes "[]" to the status file: fails early on an unusable path.
  std::string init_status_file();

  /// A line under the table (live) or a timestamped line (plain).
  void note(const std::string& text);

  /// How long the run loop may wait before the next update: 100 ms, or
  /// 5 ms in plain mode while transitions keep coming (at most 1,000
  /// processes), so that a crash loop is not outrun by the histories.
  std::chrono::milliseconds wait_time() const noexcept;
  /// The longest an idle loop (nothing published, nothing due) sleeps:
  /// live, a second (the uptimes advance); plain, without a limit
  /// (negative), as nothing a plain log shows changes with time alone.
  std::chrono::milliseconds idle_wait() const noexcept {
    return std::chrono::milliseconds{live_ ? 1000 : -1};
  }

  /// The next update redraws the whole table (the terminal was resized).
  void invalidate() {
    drawn_.clear();
    due_ = true;
  }

  /// Whether an update is due although no state changed: a note or a
  /// resize to show, a status file write that was put off, the plain
  /// log's fast ticks to end, or (live) the uptimes to advance, once a
  /// second.
  bool due(std::chrono::steady_clock::time_point now) const noexcept {
    using namespace std::chrono_literals;
    return due_ || status_pending_ || busy_ || (live_ && now >= drawn_at_ + 1s);
  }

  /// Shows what changed since the last update: the rows of
  /// `rows.changed()` and every supervisor; `last` (after the stop) also
  /// writes the status file if a write is pending.
  void update(const row_cache& rows,
              const std::vector<supervisor_handle>& supervisors,
              const clock_pair& now, bool last = false);

 private:
  void write_status(const std::vector<status_row>& rows,
                    const std::vector<supervisor_row>& supervisors,
                    const clock_pair& now);
  void redraw(const std::vector<status_row>& rows,
              const std::vector<supervisor_row>& supervisors,
              const clock_pair& now);

  const bool live_;
  const std::string json_path_;
  transition_log log_;
  std::map<std::string, std::uint64_t> supervisor_versions_;
  /// The supervisors of the last update: one that is gone from the next
  /// (a reload removed its group) gets a last look.
  std::vector<supervisor_handle> supervisors_;
  std::string note_, drawn_, last_error_;
  std::size_t drawn_lines_ = 0;
  bool busy_ = false;            ///< the last plain update printed something
  bool status_pending_ = false;  ///< rows changed since the last write
  bool due_ = true;              ///< a note or a resize not shown yet
  std::chrono::steady_clock::time_point drawn_at_{};  ///< live: last update
  std::chrono::steady_clock::time_point next_status_write_{};
};

}  // namespace vitrine::cli
