// Internal to vitrine_os: what the host (guardian.cpp), a freshly cloned
// child (launch_child.cpp) and the guardian process share.
//
// The table of guarded process groups is one bit per possible group id in
// a MAP_SHARED anonymous mapping made before the guardian's fork: the host
// and its CLONE_VM children write it, every guardian forked from the host
// sees the same pages, and reads them only once the host is gone. Marking
// a group therefore sends no message and wakes nobody (the guardian sleeps
// until the host dies or says quit). Bits are set and cleared with atomic
// read-modify-writes (two groups may share a word); the functions are plain
// inline code a child between clone and exec may run.
//
// The socket (SOCK_SEQPACKET, one guardian_record per message) carries
// only the guardian's ready and the host's quit; its EOF is the host's
// death.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace vitrine::os::detail {

enum guardian_op : std::uint32_t {
  guardian_quit = 3,  ///< the host shuts down normally: kill nothing
  /// The other way, guardian to host: it left the host's session, so a
  /// kill of the host's process group no longer reaches it.
  guardian_ready = 4,
};

struct guardian_record {
  std::uint32_t op;
  std::int32_t pgid;
};

namespace guardian_table {

// Layout: one page of summary bits (bit k: page k of the group bits was
// ever written) and the time of the latest mark, then the group bits. The
// guardian reads only the pages the summary names: reading the whole 512 KiB
// would fault in (allocate) every untouched page, ~6 ms at a host's death on a
// 2-vCPU VM.

/// Linux's PID_MAX_LIMIT on 64-bit: no pid (so no group id) reaches it,
/// whatever kernel.pid_max is set to, now or later.
inline constexpr std::size_t id_limit = std::size_t{1} << 22;
inline constexpr std::size_t page_words = 4096 / sizeof(std::uint64_t);
inline constexpr std::size_t group_words = id_limit / 64;       // 65,536
inline constexpr std::size_t pages = group_words / page_words;  // 128
inline constexpr std::size_t bytes =
    (page_words + group_words) * sizeof(std::uint64_t);  // 516 KiB

/// Word of the summary page, past the summary bits: the CLOCK_BOOTTIME
/// (ns) of the latest mark, read after the mark was made. Every marked
/// group's leader started before it (the host, alive, made them all), so a
/// process holding a marked id that started after it took the id over
/// while the host was gone: the guardian spares it.
inline constexpr std::size_t latest_mark_word = pages / 64;
static_assert(latest_mark_word < page_words);

/// Group ids the table can hold (1 is init's: never ours to kill).
[[gnu::always_inline]] inline bool holds(pid_t pgid) noexcept {
  return pgid > 1 && static_cast<std::size_t>(pgid) < id_limit;
}

/// Raises the latest mark's time to now (a raw system call: a child between
/// clone and exec runs this, where a sanitizer's interceptor must not).
[[gnu::always_inline]] inline void stamp_latest_mark(
    std::uint64_t* table) noexcept {
  struct timespec now {};
  if (::syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &now) != 0) return;
  const auto ns = static_cast<std::uint64_t>(now.tv_sec) * 1000000000u +
                  static_cast<std::uint64_t>(now.tv_nsec);
  std::uint64_t seen =
      __atomic_load_n(&table[latest_mark_word], __ATOMIC_RELAXED);
  while (seen < ns &&
         !__atomic_compare_exchange_n(&table[latest_mark_word], &seen, ns, true,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
  }
}

/// Marks `pgid` guarded, then stamps the time (stamp_latest_mark): its
/// leader, already running, started before the stamp.
[[gnu::always_inline]] inline void mark(std::uint64_t* table,
                                        pid_t pgid) noexcept {
  if (!holds(pgid)) return;
  const std::size_t word = static_cast<std::size_t>(pgid) / 64;
  __atomic_fetch_or(&table[page_words + word], std::uint64_t{1} << (pgid % 64),
                    __ATOMIC_RELEASE);
  const std::size_t page = word / page_words;
  const std::uint64_t seen = std::uint64_t{1} << (page % 64);
  if ((__atomic_load_n(&table[page / 64], __ATOMIC_RELAXED) & seen) == 0)
    __atomic_fetch_or(&table[page / 64], seen, __ATOMIC_RELEASE);
  stamp_latest_mark(table);
}

[[gnu::always_inline]] inline void clear(std::uint64_t* table,
                                         pid_t pgid) noexcept {
  if (!holds(pgid)) return;
  __atomic_fetch_and(&table[page_words + static_cast<std::size_t>(pgid) / 64],
                     ~(std::uint64_t{1} << (pgid % 64)), __ATOMIC_RELEASE);
}

[[gnu::always_inline]] inline bool marked(const std::uint64_t* table,
                                          pid_t pgid) noexcept {
  if (!holds(pgid)) return false;
  return (__atomic_load_n(
              &table[page_words + static_cast<std::size_t>(pgid) / 64],
              __ATOMIC_ACQUIRE) >>
          (pgid % 64)) &
         1;
}

/// Whether page `page` (of `pages`) of the group bits was ever written:
/// the others hold no mark and need not be read.
[[gnu::always_inline]] inline bool page_written(const std::uint64_t* table,
                                                std::size_t page) noexcept {
  return (__atomic_load_n(&table[page / 64], __ATOMIC_ACQUIRE) >> (page % 64)) &
         1;
}

/// Word `word` (of `group_words`) of the group bits: group 64 * word + k
/// is marked when bit k is set.
[[gnu::always_inline]] inline std::uint64_t group_word(
    const std::uint64_t* table, std::size_t word) noexcept {
  return __atomic_load_n(&table[page_words + word], __ATOMIC_ACQUIRE);
}

/// The latest mark's CLOCK_BOOTTIME in ns (0: nothing was ever marked).
[[gnu::always_inline]] inline std::uint64_t latest_mark_ns(
    const std::uint64_t* table) noexcept {
  return __atomic_load_n(&table[latest_mark_word], __ATOMIC_ACQUIRE);
}

}  // namespace guardian_table
}  // namespace vitrine::os::detail
