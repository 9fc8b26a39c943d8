// The status table's pure functions and its seqlock reader and writer (the
// protocol and its memory orders are numbered in status_table.hpp).
#include "vitrine/core/status_table.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine::core::status_table {
namespace {

// Word access through the GCC/Clang builtins: they accept pointers to
// const (the reader's mapping is read-only), unlike std::atomic_ref in C++20.
template <class T>
T load(const T* p, int order) noexcept {
  return __atomic_load_n(p, order);
}
template <class T>
void store(T* p, T v, int order) noexcept {
  __atomic_store_n(p, v, order);
}

const header* header_at(const unsigned char* base) noexcept {
  return reinterpret_cast<const header*>(base);
}
header* header_at(unsigned char* base) noexcept {
  return reinterpret_cast<header*>(base);
}
const std::uint64_t* slot_words(const unsigned char* base,
                                std::uint32_t i) noexcept {
  return reinterpret_cast<const std::uint64_t*>(base + header_size +
                                                std::size_t{i} * slot_size);
}

// ThreadSanitizer does not model fences (GCC rejects them with -Wtsan).
// Under it, (W2)/(R3) become release stores and acquire loads of every
// payload word, which give the same guarantee (a payload load that reads a
// word of a write in progress synchronizes with it, so (R4) sees the odd
// counter) at the price of ordering each word.
#if defined(__SANITIZE_THREAD__)
#define VITRINE_STATUS_TABLE_NO_FENCES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VITRINE_STATUS_TABLE_NO_FENCES 1
#endif
#endif
#if defined(VITRINE_STATUS_TABLE_NO_FENCES)
constexpr int payload_store_order = __ATOMIC_RELEASE;
constexpr int payload_load_order = __ATOMIC_ACQUIRE;
void release_fence() noexcept {}
void acquire_fence() noexcept {}
#else
constexpr int payload_store_order = __ATOMIC_RELAXED;
constexpr int payload_load_order = __ATOMIC_RELAXED;
void release_fence() noexcept {
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
void acquire_fence() noexcept {
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
#endif

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

header make_header(std::uint32_t capacity, pid_t owner,
                   std::uint64_t owner_start_ticks,
                   std::uint64_t heartbeat_period_ns) noexcept {
  header h{};
  h.magic = magic;
  h.format_version = format_version;
  h.header_size = header_size;
  h.slot_size = slot_size;
  h.slot_capacity = capacity;
  h.table_size = table_size_for(capacity);
  h.owner_pid = owner;
  h.owner_start_ticks = owner_start_ticks;
  h.heartbeat_period_ns = heartbeat_period_ns;
  return h;
}

void pack_texts(slot_payload& p, std::string_view name,
                std::string_view error) noexcept {
  std::memset(p.name, 0, sizeof p.name);
  std::memset(p.error, 0, sizeof p.error);
  p.flags &= static_cast<std::uint8_t>(~(name_truncated | error_truncated));
  const auto n = std::min(name.size(), name_capacity);
  if (n != 0) std::memcpy(p.name, name.data(), n);  // data() may be null
  p.name_length = static_cast<std::uint8_t>(n);
  if (n < name.size()) p.flags |= name_truncated;
  if (error.size() <= error_capacity) {
    if (!error.empty()) std::memcpy(p.error, error.data(), error.size());
    p.error_length = static_cast<std::uint8_t>(error.size());
  } else {
    const auto keep = error_capacity - truncation_marker.size();
    std::memcpy(p.error, error.data(), keep);
    std::memcpy(p.error + keep, truncation_marker.data(),
                truncation_marker.size());
    p.error_length = static_cast<std::uint8_t>(error_capacity);
    p.flags |= error_truncated;
  }
}

void pack_supervisor(slot_payload& p, std::string_view name,
                     const supervisor_failure* failure) noexcept {
  p.flags &= static_cast<std::uint8_t>(~(has_failure | failure_child_gave_up));
  p.failed_child_length = 0;
  if (failure == nullptr) return pack_texts(p, name, {});
  // The child's name and the exit's text, one after the other: the child
  // fits (a name is at most 64 bytes and the error 120), the text is cut.
  char joined[name_capacity + error_capacity];
  const auto child = std::min(failure->child.size(), name_capacity);
  const auto exit = std::min(failure->exit.size(), sizeof joined - child);
  std::memcpy(joined, failure->child.data(), child);
  std::memcpy(joined + child, failure->exit.data(), exit);
  pack_texts(p, name, {joined, child + exit});
  p.failed_child_length = static_cast<std::uint16_t>(child);
  p.flags |= has_failure;
  if (failure->child_gave_up) p.flags |= failure_child_gave_up;
  p.exit_value = static_cast<std::int32_t>(failure->restarts_in_window);
  p.failure_intensity = failure->intensity;
  p.started_ns = failure->period.count();
}

std::optional<supervisor_failure> unpack_failure(const slot_payload& p) {
  if (p.kind != static_cast<std::uint8_t>(slot_kind::supervisor) ||
      !(p.flags & has_failure))
    return std::nullopt;
  const auto text = p.error_view();
  if (p.failed_child_length > text.size()) return std::nullopt;
  supervisor_failure f;
  f.child = std::string{text.substr(0, p.failed_child_length)};
  f.exit = std::string{text.substr(p.failed_child_length)};
  f.restarts_in_window = static_cast<std::uint32_t>(p.exit_value);
  f.intensity = p.failure_intensity;
  f.period = std::chrono::milliseconds{p.started_ns};
  f.child_gave_up = (p.flags & failure_child_gave_up) != 0;
  return f;
}

namespace {

// The checksum: independent products (position-dependent odd multipliers)
// summed, then mixed. Cheap and pipelined (one multiply per word, fused into
// the reader's copy); a copy mixing two writes changes it with high odds.
constexpr std::uint64_t checksum_multiplier(std::size_t word) noexcept {
  return 0x9E3779B97F4A7C15ull + 2 * word;
}
constexpr std::uint64_t finish_checksum(std::uint64_t sum) noexcept {
  sum ^= sum >> 29;
  return sum * 0xBF58476D1CE4E5B9ull;
}
constexpr std::size_t checksum_word = payload_words - 1;
constexpr std::uint8_t supervisor_flags = has_failure | failure_child_gave_up;
static_assert(offsetof(slot_payload, checksum) == 8 * checksum_word);

/// Every field a reader interprets is in range (the checksum aside).
bool fields_in_range(const slot_payload& p) noexcept {
  if (p.name_length > name_capacity || p.error_length > error_capacity)
    return false;
  if (p.exit_how > static_cast<std::uint8_t>(termination::kind::unknown))
    return false;
  switch (static_cast<slot_kind>(p.kind)) {
    case slot_kind::free:
      return true;
    case slot_kind::process:
      return p.status <= static_cast<std::uint8_t>(process_status::failed) &&
             (p.flags & supervisor_flags) == 0;
    case slot_kind::supervisor:
      return p.status <= static_cast<std::uint8_t>(supervisor_status::failed) &&
             p.failed_child_length <= p.error_length;
  }
  return false;
}

}  // namespace

void pack_exit(slot_payload& p, const termination& t) noexcept {
  p.exit_how = static_cast<std::uint8_t>(t.how);
  p.exit_value = t.value;
  if (t.core_dumped)
    p.flags |= exit_core_dumped;
  else
    p.flags &= static_cast<std::uint8_t>(~exit_core_dumped);
}

termination unpack_exit(const slot_payload& p) noexcept {
  return termination{static_cast<termination::kind>(p.exit_how), p.exit_value,
                     (p.flags & exit_core_dumped) != 0};
}

std::uint64_t payload_checksum(const slot_payload& p) noexcept {
  std::uint64_t words[payload_words];
  std::memcpy(words, &p, sizeof words);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < checksum_word; ++i)
    sum += words[i] * checksum_multiplier(i);
  return finish_checksum(sum);
}

void seal(slot_payload& p) noexcept {
  p.checksum = payload_checksum(p);
}

bool payload_valid(const slot_payload& p) noexcept {
  return fields_in_range(p) && p.checksum == payload_checksum(p);
}

std::string_view to_string(read_error e) noexcept {
  switch (e) {
    case read_error::none:
      return "ok";
    case read_error::too_small:
      return "file shorter than the table its header describes";
    case read_error::misaligned:
      return "table not 8-byte aligned";
    case read_error::bad_magic:
      return "not a vitrine status table";
    case read_error::bad_version:
      return "unsupported status table version";
    case read_error::bad_layout:
      return "status table header out of range";
    case read_error::needs_remap:
      return "status table grew; map it again";
    case read_error::out_of_range:
      return "no such slot (an index past the table, or no slot holds the "
             "name)";
    case read_error::busy:
      return "slot kept busy by the writer";
    case read_error::corrupt_slot:
      return "corrupt status slot";
  }
  return "unknown status table error";
}

// -- reader -----------------------------------------------------------------

read_error table_reader::attach(const void* base, std::size_t size) noexcept {
  base_ = nullptr;
  size_ = 0;
  mapped_capacity_ = 0;
  if (size < header_size) return read_error::too_small;
  if (reinterpret_cast<std::uintptr_t>(base) % 8 != 0)
    return read_error::misaligned;
  const auto* b = static_cast<const unsigned char*>(base);
  const header* h = header_at(b);
  if (load(&h->magic, __ATOMIC_RELAXED) != magic) return read_error::bad_magic;
  if (load(&h->format_version, __ATOMIC_RELAXED) != format_version)
    return read_error::bad_version;
  if (load(&h->header_size, __ATOMIC_RELAXED) != header_size ||
      load(&h->slot_size, __ATOMIC_RELAXED) != slot_size)
    return read_error::bad_layout;
  base_ = b;
  size_ = size;
  const std::size_t fits = (size - header_size) / slot_size;
  mapped_capacity_ =
      static_cast<std::uint32_t>(std::min<std::size_t>(fits, UINT32_MAX));
  return read_error::none;
}

read_error table_reader::read_header(header_snapshot& out) const noexcept {
  out = {};
  if (!base_) return read_error::bad_layout;
  const header* h = header_at(base_);
  out.table_size = load(&h->table_size, __ATOMIC_ACQUIRE);  // (G2) with (G1)
  out.slot_capacity = load(&h->slot_capacity, __ATOMIC_RELAXED);
  const std::uint32_t count =
      load(&h->slot_count, __ATOMIC_ACQUIRE);  // (H2) with (H1)
  out.owner_pid = load(&h->owner_pid, __ATOMIC_RELAXED);
  out.owner_closed = load(&h->owner_closed, __ATOMIC_RELAXED) != 0;
  out.owner_start_ticks = load(&h->owner_start_ticks, __ATOMIC_RELAXED);
  out.heartbeat_ns = load(&h->heartbeat_ns, __ATOMIC_RELAXED);
  out.heartbeat_period_ns = load(&h->heartbeat_period_ns, __ATOMIC_RELAXED);
  out.generation = load(&h->generation, __ATOMIC_RELAXED);
  out.states_left_out = load(&h->states_left_out, __ATOMIC_RELAXED);
  out.slot_count = std::min(count, mapped_capacity_);
  if (count > out.slot_capacity || out.owner_pid <= 0)
    return read_error::bad_layout;
  // capacity and table_size are stored one after the other on growth, so
  // they may disagree for a moment: only the mapping size bounds reads.
  if (out.table_size > size_ || count > mapped_capacity_)
    return read_error::needs_remap;
  return read_error::none;
}

read_error table_reader::read_slot(std::uint32_t index,
                                   slot_payload& out) const noexcept {
  if (!base_) return read_error::bad_layout;
  const std::uint32_t count =
      load(&header_at(base_)->slot_count, __ATOMIC_ACQUIRE);  // (H2)
  if (index >= count || index >= mapped_capacity_)
    return read_error::out_of_range;
  const std::uint64_t* seq = slot_words(base_, index);
  const std::uint64_t* words = seq + 1;
  // Copied straight into `out` (private to this thread: a torn copy is
  // simply overwritten by the next attempt), checksummed on the way.
  auto* to = reinterpret_cast<unsigned char*>(&out);
  for (int attempt = 0; attempt < max_read_attempts; ++attempt) {
    const std::uint64_t s0 = load(seq, __ATOMIC_ACQUIRE);  // (R1) with (W4)
    if (s0 & 1) {
      cpu_relax();
      continue;
    }
    std::uint64_t sum = 0;
    // Unrolled (30 words: 3 turns), the loop's own counting is a third of
    // its instructions; GCC does not unroll it by itself, even at -O3.
    static_assert(checksum_word % 10 == 0);
#pragma GCC unroll 10
    for (std::size_t i = 0; i < checksum_word; ++i) {
      const std::uint64_t word = load(words + i, payload_load_order);  // (R2)
      std::memcpy(to + 8 * i, &word, 8);
      sum += word * checksum_multiplier(i);
    }
    const std::uint64_t checksum =
        load(words + checksum_word, payload_load_order);  // (R2)
    std::memcpy(to + 8 * checksum_word, &checksum, 8);
    acquire_fence();                                       // (R3) with (W2)
    const std::uint64_t s1 = load(seq, __ATOMIC_RELAXED);  // (R4)
    if (s0 != s1) continue;
    return fields_in_range(out) && checksum == finish_checksum(sum)
               ? read_error::none
               : read_error::corrupt_slot;
  }
  return read_error::busy;
}

// -- writer -----------------------------------------------------------------

void table_writer_unsafe::write_slot(std::uint32_t index,
                                     slot_payload p) noexcept {
  seal(p);
  std::uint64_t copy[payload_words];
  std::memcpy(copy, &p, sizeof copy);
  auto* seq = reinterpret_cast<std::uint64_t*>(base_ + header_size +
                                               std::size_t{index} * slot_size);
  auto* words = seq + 1;
  const std::uint64_t s = load(seq, __ATOMIC_RELAXED) & ~std::uint64_t{1};
  store(seq, s + 1, __ATOMIC_RELAXED);  // (W1)
  release_fence();                      // (W2) with (R3)
  for (std::size_t i = 0; i < payload_words; ++i)
    store(words + i, copy[i], payload_store_order);  // (W3)
  store(seq, s + 2, __ATOMIC_RELEASE);               // (W4) with (R1)
}

void table_writer_unsafe::set_slot_count(std::uint32_t count) noexcept {
  store(&header_at(base_)->slot_count, count, __ATOMIC_RELEASE);  // (H1)
}

void table_writer_unsafe::set_states_left_out(std::uint32_t count) noexcept {
  store(&header_at(base_)->states_left_out, count, __ATOMIC_RELAXED);
}

void table_writer_unsafe::set_capacity(std::uint32_t capacity) noexcept {
  header* h = header_at(base_);
  store(&h->slot_capacity, capacity, __ATOMIC_RELAXED);
  store(&h->generation, load(&h->generation, __ATOMIC_RELAXED) + 1,
        __ATOMIC_RELAXED);
  store(&h->table_size, table_size_for(capacity), __ATOMIC_RELEASE);  // (G1)
}

void table_writer_unsafe::close() noexcept {
  store(&header_at(base_)->owner_closed, std::uint32_t{1}, __ATOMIC_RELAXED);
}

void table_writer_unsafe::beat(std::uint64_t now_ns) noexcept {
  store(&header_at(base_)->heartbeat_ns, now_ns, __ATOMIC_RELAXED);
}

}  // namespace vitrine::core::status_table
