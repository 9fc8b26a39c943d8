// status_reader: reads a running vitrine's shared-memory status table from
// any process of the same uid, without messaging (or ever blocking) the
// runtime that writes it. The embedding API behind `vitrine status`.
//
// Threads: one status_reader per thread (it caches names and may re-map);
// several readers, in as many processes, may read one table at once.
//
// A reader stays with the file it opened: a new runtime at the same path
// replaces the file (a new one renamed over it), so once owner() says
// `gone`, construct a new reader to see a later run. The table alone is
// known here: `vitrine status` also checks the state directory's lock (a
// copy of a live table reads `alive` here).
//
// Cost: read(index) is a seqlock copy of one slot's 248-byte payload (no
// system call, no allocation once mapped); for_each() copies one slot at a time
// into one buffer, so nothing grows with the table; read_all() copies every
// slot (or those a filter keeps) into a vector whose capacity is reused (a
// vector of 1,000 slots is 61 fresh pages to a short-lived process, whose
// page faults cost more than the copies: docs/cli.md); owner() reads
// `/proc/<pid>/stat` (~5 us). A table that grew is re-mapped transparently
// (mmap + munmap).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vitrine/core/status_table.hpp"
#include "vitrine/os/status_mapping.hpp"

namespace vitrine {

using status_slot = core::status_table::slot_payload;
using status_error = core::status_table::read_error;

class status_reader {
 public:
  static constexpr std::chrono::milliseconds busy_patience{100};

  /// Opens and maps the table at `path`, without blocking. Throws
  /// std::system_error (open, mmap: e.g. ENOENT when no runtime publishes
  /// there, EACCES for another uid, ELOOP for a symbolic link) or
  /// std::runtime_error (not a regular file, not a status table, a bad
  /// header); what() begins "status table PATH: ".
  explicit status_reader(const std::string& path);

  enum class owner_state { alive, stopped, gone };
  /// `stopped` while the owner's process is stopped (SIGSTOP, SIGTSTP, a
  /// tracer: nothing changes until it is continued); `gone` when it closed
  /// the table, or its pid is dead, a zombie, reused by another process
  /// (start time differs), or its heartbeat is stale (5 periods).
  owner_state owner();
  /// When the owner last beat (CLOCK_MONOTONIC, the steady_clock of this
  /// machine); nullopt when the header cannot be read or promises no
  /// heartbeat. For a gone owner: about when it was last alive.
  std::optional<std::chrono::steady_clock::time_point> last_heartbeat();

  /// Slot `index` (0 .. slot_count()-1). A free slot reads as kind free.
  /// A slot the writer is inside is polled (yield, then 100 us sleeps) for
  /// up to busy_patience: `busy` means it stayed mid-write that long (a
  /// writer stopped or killed inside a write).
  status_error read(std::uint32_t index, status_slot& out);
  /// Calls `visit(index, slot)` for every slot in use (free slots are
  /// skipped), in slot order, each copied into one buffer in turn: `slot`
  /// is valid during the call only. Unreadable slots are passed over and
  /// the first one's error returned, as read_all() does; a bad header: its
  /// error, and no call.
  status_error for_each(
      const std::function<void(std::uint32_t, const status_slot&)>& visit);
  /// Every slot in use (free slots are skipped), in slot order. A slot that
  /// cannot be read (`busy`: a writer killed or stopped inside it;
  /// `corrupt_slot`) is left out and the first such error returned, `out`
  /// still holding every readable slot; a bad header: `out` empty.
  status_error read_all(std::vector<status_slot>& out);
  /// read_all() keeping only the slots `keep` accepts (called once per
  /// readable slot in use): `out` grows by those alone.
  status_error read_all(std::vector<status_slot>& out,
                        const std::function<bool(const status_slot&)>& keep);
  /// The slot of the process or supervisor `name`: one read when its index
  /// is cached and still holds that name, else a scan that passes over
  /// unreadable slots. out_of_range when no readable slot holds that name
  /// and none was unreadable; else the first unreadable slot's error (the
  /// name may be in it). A bad header: its error, as read_all().
  status_error find(std::string_view name, status_slot& out);
  /// Slots ever used, as the header says now (bounded by the mapping).
  std::uint32_t slot_count();
  /// States the owner had no room for when it last wrote the header (a
  /// full file system): the slots lack that many. 0 from older owners.
  std::uint32_t states_left_out();

 private:
  status_error header(core::status_table::header_snapshot& out);
  /// Maps the file again; false (and due again) when it cannot be now.
  bool remapped();
  status_error read_slot(std::uint32_t index, status_slot& out) const;
  template <class Start, class Buffer, class Visit>
  status_error scan(Start start, Buffer buffer, Visit visit);
  os::status_mapping mapping_;
  bool remap_due_ = false;  ///< the last remap failed: try again first
  std::unordered_map<std::string, std::uint32_t> index_;
};

/// Renders a slot's status ("running", "backoff", "free", ...).
std::string_view status_name(const status_slot& slot) noexcept;

}  // namespace vitrine
