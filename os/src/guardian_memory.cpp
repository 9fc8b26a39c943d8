// The guardian gives back the host's memory (guardian_process.hpp): raw
// system calls only.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstdint>

#include "guardian_process.hpp"

namespace vitrine::os::detail {

namespace {

// Drops [low, high) except the pages of the keep ranges. One maps line may
// be a host mapping that the kernel merged with a range we keep (seen: a
// 128 MiB vector merged with the main thread's TLS block): drop around the
// kept pages, not nothing.
VITRINE_CHILD_CODE void drop_outside(const keep_ranges& keep,
                                     std::uintptr_t low, std::uintptr_t high) {
  constexpr std::uintptr_t page = 4096;
  while (low < high) {
    // The first kept range (page-rounded) that reaches into [low, high).
    std::uintptr_t next_low = high, next_high = high;
    for (int i = 0; i < 3; ++i) {
      const std::uintptr_t k_low = keep.low[i] & ~(page - 1);
      const std::uintptr_t k_high = (keep.high[i] + page - 1) & ~(page - 1);
      if (k_high <= low || k_low >= high || k_low >= next_low) continue;
      next_low = k_low < low ? low : k_low;
      next_high = k_high;
    }
    if (low < next_low)
      raw(SYS_madvise, static_cast<long>(low),
          static_cast<long>(next_low - low), MADV_DONTNEED);
    low = next_high;
  }
}

VITRINE_CHILD_CODE std::uintptr_t parse_hex(const char*& p, const char* end) {
  std::uintptr_t value = 0;
  for (; p < end; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9')
      value = value * 16 + static_cast<std::uintptr_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      value = value * 16 + static_cast<std::uintptr_t>(c - 'a' + 10);
    else
      break;
  }
  return value;
}

// One line of /proc/self/maps: "start-end perms offset dev inode   [path]".
VITRINE_CHILD_CODE void maybe_drop(const char* line, const char* end,
                                   const keep_ranges& keep) {
  const char* p = line;
  const std::uintptr_t low = parse_hex(p, end);
  ++p;  // '-'
  const std::uintptr_t high = parse_hex(p, end);
  ++p;  // ' '
  if (end - p < 4 || p[0] != 'r' || p[1] != 'w' || p[3] != 'p') return;
  // Skip offset, dev and inode; what follows (if anything) is the path.
  int fields = 0;
  while (p < end && fields < 4) {
    if (*p == ' ') {
      ++fields;
      while (p < end && *p == ' ') ++p;
    } else {
      ++p;
    }
  }
  const bool inode_zero = p - line >= 3 && p[-2] == '0' && p[-3] == ' ';
  const bool anonymous = p >= end && inode_zero;
  const bool heap = end - p >= 6 && p[0] == '[' && p[1] == 'h' && p[2] == 'e' &&
                    p[3] == 'a' && p[4] == 'p' && p[5] == ']';
  if (!anonymous && !heap) return;
  if (!heap && high - low < (std::uintptr_t{256} << 10)) return;
  drop_outside(keep, low, high);
}

}  // namespace

VITRINE_CHILD_CODE void release_host_memory(const keep_ranges& keep) {
  const long fd =
      raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/maps"),
          O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buffer[4096];
  long have = 0;
  for (;;) {
    const long n = raw(SYS_read, fd, reinterpret_cast<long>(buffer + have),
                       static_cast<long>(sizeof buffer) - have);
    if (n <= 0) break;
    have += n;
    long start = 0;
    for (long i = 0; i < have; ++i) {
      if (buffer[i] != '\n') continue;
      maybe_drop(buffer + start, buffer + i, keep);
      start = i + 1;
    }
    // Keep the unfinished line (volatile: no memmove call in this code).
    volatile char* out = buffer;
    for (long i = start; i < have; ++i) out[i - start] = buffer[i];
    have -= start;
    if (have == static_cast<long>(sizeof buffer)) have = 0;  // absurd line
  }
  raw(SYS_close, fd);
}

}  // namespace vitrine::os::detail
