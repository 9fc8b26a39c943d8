#include "vitrine/core/detail/asymmetric_fence.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace vitrine::core::detail {

bool readers_fence = false;

namespace {

long membarrier(int cmd) noexcept {
  return ::syscall(SYS_membarrier, cmd, 0, 0);
}

bool fallback_forced() noexcept {
  const char* v = std::getenv("VITRINE_FENCE_FALLBACK");
  return v != nullptr && std::string_view{v} == "1";
}

// Before: an mprotect() TLB shootdown stood in for membarrier. It is a
// barrier only where the kernel flushes remote TLBs by inter-processor
// interrupt (x86); arm64 broadcasts TLB invalidation in hardware and
// interrupts nobody. Reader-side fences are correct everywhere instead.
fence_kind choose() noexcept {
  if (!fallback_forced()) {
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported >= 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
      return fence_kind::membarrier;
  }
  readers_fence = true;
  return fence_kind::thread_fence;
}

}  // namespace

fence_kind prepare_fences() noexcept {
  static const fence_kind kind = choose();
  return kind;
}

void heavy_fence() noexcept {
  const fence_kind kind = prepare_fences();
  full_fence();
  if (kind == fence_kind::thread_fence) return;
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) [[unlikely]] {
    // Registered, so this cannot fail on a sane kernel; readers do not fence
    // in this mode, so going on would risk a use-after-free.
    std::fprintf(stderr,
                 "vitrine: membarrier(PRIVATE_EXPEDITED) failed after "
                 "registration: %s; aborting rather than freeing memory "
                 "readers may still use\n",
                 std::strerror(errno));
    std::abort();
  }
}

}  // namespace vitrine::core::detail
