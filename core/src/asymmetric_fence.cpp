#include "vitrine/core/detail/asymmetric_fence.hpp"

#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace vitrine::core::detail {
#if !defined(VITRINE_TSAN)
namespace {

long membarrier(int cmd) noexcept {
  return ::syscall(SYS_membarrier, cmd, 0, 0);
}

// Without membarrier, changing the protection of a page that this process
// has touched makes the kernel flush the TLB of every CPU running one of our
// threads through an inter-processor interrupt, which serialises them.
class tlb_shootdown_fence {
 public:
  tlb_shootdown_fence() noexcept {
    page_ = ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page_ == MAP_FAILED) std::abort();
  }
  void run() noexcept {
    std::lock_guard lock{mutex_};
    ::mprotect(page_, page_size(), PROT_READ | PROT_WRITE);
    *static_cast<volatile char*>(page_) = 1;  // populate, so a flush is due
    ::mprotect(page_, page_size(), PROT_READ);
  }

 private:
  static std::size_t page_size() noexcept {
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  }
  std::mutex mutex_;
  void* page_;
};

bool register_membarrier() noexcept {
  long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
    return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace
#endif

void heavy_fence() noexcept {
#if defined(VITRINE_TSAN)
  tsan_fence_word.fetch_add(1, std::memory_order_acq_rel);
#else
  static const bool use_membarrier = register_membarrier();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (use_membarrier) {
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
  }
  static tlb_shootdown_fence fallback;
  fallback.run();
#endif
}

}  // namespace vitrine::core::detail
