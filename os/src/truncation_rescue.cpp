// The SIGBUS handler of truncation_rescue.hpp.
#include "truncation_rescue.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

namespace vitrine::os::detail {
namespace {

struct entry {
  std::atomic<bool> used{false};  // (1) release after the fields below
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::size_t> size{0};
  std::atomic<int> fd{-1};
  std::atomic<bool> grow_back{false};
  std::atomic<bool> damaged{false};
  std::atomic<bool> detached{false};
};

entry entries[truncation_rescue::capacity];
struct sigaction replaced {};  // written once, before the handler
std::once_flag installed;

/// Makes the page of `e` that faulted usable again; false when `e` cannot
/// be repaired (then the fault goes to the replaced handler).
bool repair(entry& e) noexcept {
  const std::uintptr_t begin = e.begin.load(std::memory_order_relaxed);
  const std::size_t size = e.size.load(std::memory_order_relaxed);
  if (e.grow_back.load(std::memory_order_relaxed)) {
    const int fd = e.fd.load(std::memory_order_relaxed);
    struct stat info {};
    // Shrunk: grown back to the mapping's size. Not shrunk, yet a page
    // faults: the file system cannot back it; the anonymous memory below.
    if (::fstat(fd, &info) == 0 && static_cast<std::uint64_t>(info.st_size) <
                                       static_cast<std::uint64_t>(size)) {
      if (::ftruncate(fd, static_cast<off_t>(size)) == 0) {
        e.damaged.store(true, std::memory_order_relaxed);
        return true;
      }
    }
  }
  void* at = reinterpret_cast<void*>(begin);
  const int protection = e.grow_back.load(std::memory_order_relaxed)
                             ? PROT_READ | PROT_WRITE
                             : PROT_READ;
  if (::mmap(at, size, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
             0) == MAP_FAILED)
    return false;
  e.detached.store(true, std::memory_order_relaxed);
  e.damaged.store(true, std::memory_order_relaxed);
  return true;
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (info != nullptr && info->si_code == BUS_ADRERR) {
    const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    for (auto& e : entries) {
      if (!e.used.load(std::memory_order_acquire)) continue;  // pairs (1)
      const std::uintptr_t begin = e.begin.load(std::memory_order_relaxed);
      if (address < begin ||
          address - begin >= e.size.load(std::memory_order_relaxed))
        continue;
      const int saved = errno;
      const bool repaired = repair(e);
      errno = saved;
      if (repaired) return;  // the access runs again
      break;
    }
  }
  if (replaced.sa_flags & SA_SIGINFO) {
    if (replaced.sa_sigaction != nullptr) {
      replaced.sa_sigaction(sig, info, context);
      return;
    }
  } else if (replaced.sa_handler != SIG_DFL && replaced.sa_handler != SIG_IGN) {
    replaced.sa_handler(sig);
    return;
  }
  // The default action: restored, and the access faults again (a fault's
  // SIGBUS cannot be ignored).
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  ::sigaction(SIGBUS, &fallback, nullptr);
}

void install() noexcept {
  struct sigaction ours {};
  ours.sa_sigaction = on_sigbus;
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
  sigemptyset(&ours.sa_mask);
  ::sigaction(SIGBUS, &ours, &replaced);
}

}  // namespace

int truncation_rescue::watch(void* base, std::size_t size, int fd,
                             bool grow_back) noexcept {
  std::call_once(installed, install);
  static std::mutex claiming;  // entries are claimed and freed under it
  std::lock_guard lock{claiming};
  for (int i = 0; i < capacity; ++i) {
    entry& e = entries[i];
    if (e.used.load(std::memory_order_relaxed)) continue;
    e.begin.store(reinterpret_cast<std::uintptr_t>(base),
                  std::memory_order_relaxed);
    e.size.store(size, std::memory_order_relaxed);
    e.fd.store(fd, std::memory_order_relaxed);
    e.grow_back.store(grow_back, std::memory_order_relaxed);
    e.damaged.store(false, std::memory_order_relaxed);
    e.detached.store(false, std::memory_order_relaxed);
    e.used.store(true, std::memory_order_release);  // (1)
    return i;
  }
  return -1;
}

void truncation_rescue::moved(int i, void* base, std::size_t size) noexcept {
  if (i < 0) return;
  entries[i].begin.store(reinterpret_cast<std::uintptr_t>(base),
                         std::memory_order_relaxed);
  entries[i].size.store(size, std::memory_order_relaxed);
}

void truncation_rescue::unwatch(int i) noexcept {
  if (i >= 0) entries[i].used.store(false, std::memory_order_release);
}

bool truncation_rescue::take_damage(int i) noexcept {
  return i >= 0 && entries[i].damaged.exchange(false);
}

bool truncation_rescue::detached(int i) noexcept {
  return i >= 0 && entries[i].detached.load(std::memory_order_relaxed);
}

void truncation_rescue::reattached(int i) noexcept {
  if (i >= 0) entries[i].detached.store(false, std::memory_order_relaxed);
}

}  // namespace vitrine::os::detail
