// status_table: the pure format of the shared-memory status table (issue
// 12): a header and fixed-size slots, one per process or supervisor, each
// guarded by its own sequence counter (a seqlock). No system calls here:
// os/status_mapping.hpp maps it, actors/ writes it, any process reads it.
//
// Threads: one writer per table (it serializes its own slot writes; see
// table_writer_unsafe); any number of readers, in any process, that never
// block the writer and never make it wait. Readers treat the bytes as
// untrusted: every field is checked, a bad table gives a read_error, never
// an out-of-bounds read.
//
// Cost: a slot read copies its 248-byte payload with relaxed word loads plus
// two loads of the counter and a checksum of 30 words (~tens of ns); it retries
// while the writer is inside that slot, at most max_read_attempts times.
//
// Protocol and memory orders (see also docs/design.md, "Status table"):
//  Slot write (writer):                     Slot read (reader):
//   (W1) seq := odd, relaxed                 (R1) s0 := seq, acquire
//   (W2) release fence                       (R2) payload words, relaxed
//   (W3) payload words, relaxed              (R3) acquire fence
//   (W4) seq := even, release                (R4) s1 := seq, relaxed
//  (R1) pairs with (W4): a reader that sees the even value sees the whole
//  payload written before it. (R3) pairs with (W2): if any payload load (R2)
//  saw a word of a write in progress, (R4) sees its odd (or a later) value,
//  so s0 != s1 and the copy is discarded. A copy is kept only if s0 == s1
//  and s0 is even.
//  Header: (H1) slot_count is stored with release after the new slot's
//  first write, paired with (H2), the reader's acquire load. (G1) the
//  writer stores table_size with release after growing the mapping,
//  paired with (G2), the reader's acquire load, which tells it to re-map.
//  The heartbeat, owner_closed and capacity are relaxed (a hint and a bound
//  checked against the reader's own mapping size).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vitrine/core/supervisor_state.hpp"
#include "vitrine/core/termination.hpp"

namespace vitrine::core::status_table {

inline constexpr std::uint64_t magic = 0x5441545352544956ull;  // "VITRSTAT"
/// 2: the exit kind may be `unknown` (3) and flags carry exit_core_dumped.
/// 3: supervisor slots carry their last failure's fields (pack_failure).
inline constexpr std::uint32_t format_version = 3;
inline constexpr std::size_t header_size = 128;
inline constexpr std::size_t slot_size = 256;
inline constexpr std::size_t name_capacity = 64;
inline constexpr std::size_t error_capacity = 120;
inline constexpr std::string_view truncation_marker = "...";
inline constexpr int max_read_attempts = 64;

enum class slot_kind : std::uint8_t { free = 0, process = 1, supervisor = 2 };

/// Payload flag bits.
inline constexpr std::uint8_t name_truncated = 1;
inline constexpr std::uint8_t error_truncated = 2;
inline constexpr std::uint8_t exit_core_dumped = 4;
/// Supervisor slots: the supervisor has a last failure (pack_supervisor).
inline constexpr std::uint8_t has_failure = 8;
/// Supervisor slots: supervisor_failure::child_gave_up.
inline constexpr std::uint8_t failure_child_gave_up = 16;

/// The header at offset 0 (128 bytes). Fields that change after creation
/// are accessed atomically; the others are written once before readers
/// can open the table.
struct header {
  std::uint64_t magic;
  std::uint32_t format_version;
  std::uint32_t header_size;
  std::uint32_t slot_size;
  std::uint32_t slot_capacity;  ///< slots the table holds (grows)
  std::uint32_t slot_count;     ///< slots ever used (high-water mark)
  /// States the owner has no room for (a full file system): the slots
  /// list is that much short. 0 in tables of owners before 2026-12-06.
  std::uint32_t states_left_out;
  std::uint64_t table_size;  ///< header_size + capacity * slot_size
  std::int32_t owner_pid;
  std::uint32_t owner_closed;         ///< 1 once the owner shut the table down
  std::uint64_t owner_start_ticks;    ///< `/proc/<pid>/stat` field 22
  std::uint64_t heartbeat_ns;         ///< CLOCK_MONOTONIC, last beat
  std::uint64_t heartbeat_period_ns;  ///< how often the owner beats
  std::uint64_t generation;           ///< +1 with every growth
  std::uint64_t reserved[6];
};
static_assert(sizeof(header) == header_size);

/// One slot's payload (248 bytes), the part the sequence counter guards.
/// Times are CLOCK_MONOTONIC (steady_clock) nanoseconds, 0 = never. A
/// supervisor slot has no pid, exit or times: with has_failure set, its
/// last failure is in error (the child's name, then its exit's text),
/// exit_value, failure_intensity and started_ns (see pack_failure).
struct slot_payload {
  std::uint8_t kind;    ///< slot_kind
  std::uint8_t status;  ///< process_status or supervisor_status
  std::uint8_t name_length;
  std::uint8_t error_length;
  std::uint8_t exit_how;  ///< termination::kind
  std::uint8_t flags;
  /// Supervisors: the failed child's name is error[0, failed_child_length).
  std::uint16_t failed_child_length;
  std::int32_t pid;
  std::uint32_t restarts;
  /// Supervisors: the failure's restarts within its window.
  std::int32_t exit_value;
  std::int32_t spawn_errno;
  std::uint32_t child_count;        ///< supervisors only
  std::uint32_t failure_intensity;  ///< supervisors only
  std::uint64_t version;
  /// Supervisors: the failure's period, in milliseconds.
  std::int64_t started_ns;
  std::int64_t ended_ns;
  char name[name_capacity];
  char error[error_capacity];
  std::uint64_t checksum;  ///< of the 30 words before it (payload_checksum)

  std::string_view name_view() const noexcept { return {name, name_length}; }
  std::string_view error_view() const noexcept { return {error, error_length}; }
};
static_assert(sizeof(slot_payload) == slot_size - 8);
inline constexpr std::size_t payload_words = sizeof(slot_payload) / 8;

// -- pure functions ---------------------------------------------------------

/// A fresh header for a table of `capacity` slots.
header make_header(std::uint32_t capacity, pid_t owner,
                   std::uint64_t owner_start_ticks,
                   std::uint64_t heartbeat_period_ns) noexcept;
constexpr std::uint64_t table_size_for(std::uint32_t capacity) noexcept {
  return header_size + std::uint64_t{capacity} * slot_size;
}

/// Copies `name` and `error` in, truncating (the error ends with
/// truncation_marker when cut) and sets the flags and the checksum; the
/// numeric fields are the caller's to set before.
void pack_texts(slot_payload& p, std::string_view name,
                std::string_view error) noexcept;
/// A supervisor slot's texts: its name, and its last failure if `failure`
/// is set (the child's name and the exit text in error, cut to its room;
/// the counts in the fields slot_payload names), with has_failure.
void pack_supervisor(slot_payload& p, std::string_view name,
                     const supervisor_failure* failure) noexcept;
/// The last failure a supervisor payload holds, if any (none for another
/// kind or a child length past the error); `at` is not kept. Its describe() is
/// the run's text (up to a cut exit text).
std::optional<supervisor_failure> unpack_failure(const slot_payload& p);
/// Stores `t` in exit_how, exit_value and the exit_core_dumped flag.
void pack_exit(slot_payload& p, const termination& t) noexcept;
/// The termination a (valid) payload holds.
termination unpack_exit(const slot_payload& p) noexcept;
/// Sets p.checksum from the other fields.
void seal(slot_payload& p) noexcept;
std::uint64_t payload_checksum(const slot_payload& p) noexcept;
/// True if every field is in range and the checksum matches.
bool payload_valid(const slot_payload& p) noexcept;

// -- reading ----------------------------------------------------------------

enum class read_error : std::uint8_t {
  none,
  too_small,     ///< shorter than the header
  misaligned,    ///< base not 8-byte aligned
  bad_magic,     ///< not a vitrine status table
  bad_version,   ///< another format version
  bad_layout,    ///< header/slot sizes or counts out of range
  needs_remap,   ///< the table grew past this mapping: map it again
  out_of_range,  ///< slot index >= slot count; find(): no slot has the name
  busy,          ///< the writer kept the slot busy max_read_attempts times
  corrupt_slot,  ///< a stable copy that fails validation
};
std::string_view to_string(read_error e) noexcept;

/// The header's fields as one reader saw them.
struct header_snapshot {
  std::uint32_t slot_capacity = 0;
  std::uint32_t slot_count = 0;  ///< bounded by what this mapping holds
  std::uint64_t table_size = 0;
  pid_t owner_pid = 0;
  bool owner_closed = false;
  std::uint64_t owner_start_ticks = 0;
  std::uint64_t heartbeat_ns = 0;
  std::uint64_t heartbeat_period_ns = 0;
  std::uint64_t generation = 0;
  std::uint32_t states_left_out = 0;
};

/// A validating reader over `size` bytes at `base` (a read-only mapping or
/// any buffer). Cheap to copy; holds no resources.
class table_reader {
 public:
  /// Checks the static header fields; the rest is checked on every read.
  read_error attach(const void* base, std::size_t size) noexcept;

  /// Loads the changing header fields; needs_remap if the table grew past
  /// this mapping (the snapshot is still filled, count bounded).
  read_error read_header(header_snapshot& out) const noexcept;
  /// A consistent, validated copy of slot `index`.
  read_error read_slot(std::uint32_t index, slot_payload& out) const noexcept;
  /// Slots this mapping can hold.
  std::uint32_t mapped_capacity() const noexcept { return mapped_capacity_; }

 private:
  const unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t mapped_capacity_ = 0;
};

// -- writing ----------------------------------------------------------------

/// Writes slots of a table at `base` (a writable mapping of a table whose
/// header make_header() wrote). The caller must serialize all calls (one
/// writer): _unsafe because nothing here checks it.
class table_writer_unsafe {
 public:
  explicit table_writer_unsafe(void* base) noexcept
      : base_(static_cast<unsigned char*>(base)) {}
  /// Seqlock-writes `p` (sealed here) into slot `index` (< capacity).
  void write_slot(std::uint32_t index, slot_payload p) noexcept;
  /// Publishes slot_count (H1).
  void set_slot_count(std::uint32_t count) noexcept;
  /// How many states the owner has no room for (relaxed: a count to
  /// report, nothing is read through it).
  void set_states_left_out(std::uint32_t count) noexcept;
  /// After the mapping grew to `capacity` slots (G1).
  void set_capacity(std::uint32_t capacity) noexcept;
  void beat(std::uint64_t now_ns) noexcept;
  /// The owner is done with the table (a clean shutdown).
  void close() noexcept;
  void rebase(void* base) noexcept {
    base_ = static_cast<unsigned char*>(base);
  }

 private:
  unsigned char* base_;
};

}  // namespace vitrine::core::status_table
