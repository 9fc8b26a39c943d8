#include "vitrine/core/hazard_pointer.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace vitrine::core {
namespace {

using record = hazard_pointer_reclaimer::thread_record;
using slot = hazard_pointer_reclaimer::slot;
using node_header = hazard_pointer_reclaimer::node_header;
using overflow_block = hazard_pointer_reclaimer::overflow_block;

constexpr std::size_t minimum_scan_threshold = 128;

// The process-wide part. It is never destroyed: threads (and their
// thread_local destructors) may outlive static destruction.
struct domain {
  std::atomic<record*> records{nullptr};   // (8) release push, acquire walk
  std::atomic<std::size_t> slot_count{0};  // inline and overflow, all records
  std::mutex orphans_mutex;
  node_header* orphans = nullptr;  // retired by exited threads
  std::atomic<std::size_t> orphan_count{0};
  std::atomic<std::uint64_t> scans{0};
};

domain& the_domain() noexcept {
  static domain* instance = new domain;
  return *instance;
}

void push_list(node_header*& list, node_header* node) noexcept {
  node->next_retired = list;
  list = node;
}

// Calls f(slot) for every slot of `r`, inline and overflow. (8') acquire
// pairs with the owner's release when it links a block.
template <class F>
void for_each_slot(record& r, F f) {
  for (auto& s : r.slots) f(s);
  for (overflow_block* b = r.overflow.load(std::memory_order_acquire); b;
       b = b->next.load(std::memory_order_acquire))
    for (auto& s : b->slots) f(s);
}

}  // namespace

namespace detail {
// Releases the calling thread's record when the thread exits.
struct hazard_thread_exit {
  record* owned = nullptr;
  ~hazard_thread_exit() {
    if (owned != nullptr)
      hazard_pointer_reclaimer::detach_current_thread(*owned);
  }
};
}  // namespace detail

namespace {
thread_local detail::hazard_thread_exit thread_exit;

}  // namespace

constinit thread_local record* hazard_pointer_reclaimer::current_record =
    nullptr;

std::size_t hazard_pointer_reclaimer::scan_threshold() noexcept {
  const std::size_t slots =
      the_domain().slot_count.load(std::memory_order_relaxed);
  return std::max(minimum_scan_threshold, 2 * slots);
}

[[gnu::cold]] record*
hazard_pointer_reclaimer::attach_current_thread() noexcept {
  // Before this thread's first light_fence() (see asymmetric_fence.hpp).
  detail::prepare_fences();
  auto& d = the_domain();
  record* mine = nullptr;
  for (record* r = d.records.load(std::memory_order_acquire); r; r = r->next) {
    bool expected = false;
    if (!r->owned.load(std::memory_order_relaxed) &&
        r->owned.compare_exchange_strong(expected, true,
                                         std::memory_order_acquire)) {
      mine = r;
      break;
    }
  }
  if (mine == nullptr) {
    mine = new record;
    mine->owned.store(true, std::memory_order_relaxed);
    record* head = d.records.load(std::memory_order_relaxed);
    do {
      mine->next = head;
    } while (!d.records.compare_exchange_weak(
        head, mine, std::memory_order_release, std::memory_order_relaxed));
    d.slot_count.fetch_add(slots_per_thread, std::memory_order_relaxed);
  }
  current_record = mine;
  thread_exit.owned = mine;
  return mine;
}

void hazard_pointer_reclaimer::detach_current_thread(record& r) noexcept {
  reclaim_now();
  auto& d = the_domain();
  if (r.retired != nullptr) {
    std::lock_guard lock{d.orphans_mutex};
    while (node_header* n = r.retired) {
      r.retired = n->next_retired;
      push_list(d.orphans, n);
    }
    d.orphan_count.fetch_add(r.retired_count.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
    r.retired_count.store(0, std::memory_order_relaxed);
  }
  for_each_slot(r,
                [](slot& s) { s.store(nullptr, std::memory_order_relaxed); });
  r.first_busy = 0;
  r.used_slots = 1;
  for (overflow_block* b = r.overflow.load(std::memory_order_relaxed); b;
       b = b->next.load(std::memory_order_relaxed))
    b->used = 0;
  current_record = nullptr;
  thread_exit.owned = nullptr;
  r.owned.store(false, std::memory_order_release);  // pairs with the claim
}

[[gnu::cold]] std::size_t hazard_pointer_reclaimer::scan(
    record& self) noexcept {
  if (self.scanning) return 0;  // a destructor retired a node mid-scan
  self.scanning = true;
  auto& d = the_domain();
  d.scans.fetch_add(1, std::memory_order_relaxed);

  // Adopt what exited threads left behind.
  if (d.orphan_count.load(std::memory_order_relaxed) != 0) {
    std::lock_guard lock{d.orphans_mutex};
    std::size_t adopted = d.orphan_count.exchange(0, std::memory_order_relaxed);
    while (node_header* n = d.orphans) {
      d.orphans = n->next_retired;
      push_list(self.retired, n);
    }
    self.retired_count.store(
        self.retired_count.load(std::memory_order_relaxed) + adopted,
        std::memory_order_relaxed);
  }

  // (6) After this, every announcement (3) that a reader made before our
  // unlink is visible to the loads below; pairs with the light fence (4).
  detail::heavy_fence();

  auto& protected_nodes = self.scan_buffer;
  protected_nodes.clear();
  for (record* r = d.records.load(std::memory_order_acquire); r; r = r->next) {
    for_each_slot(*r, [&](slot& s) {
      // (7) acquire, pairs with (2) and (3): a reader's last use of a node
      // happens before we see its slot move on.
      if (const node_header* p = s.load(std::memory_order_acquire))
        protected_nodes.push_back(p);
    });
  }
  std::sort(protected_nodes.begin(), protected_nodes.end());

  node_header* candidates = self.retired;
  self.retired = nullptr;
  self.retired_count.store(0, std::memory_order_relaxed);
  std::size_t kept = 0;
  std::size_t freed = 0;
  while (candidates != nullptr) {
    node_header* n = candidates;
    candidates = n->next_retired;
    if (std::binary_search(protected_nodes.begin(), protected_nodes.end(), n)) {
      push_list(self.retired, n);
      ++kept;
    } else {
      n->destroy(n);  // may retire more nodes onto self.retired
      ++freed;
    }
  }
  self.retired_count.store(
      self.retired_count.load(std::memory_order_relaxed) + kept,
      std::memory_order_relaxed);
  self.scanning = false;
  return freed;
}

void hazard_pointer_reclaimer::reclaim_now() noexcept {
  record* self = current_record;
  if (self == nullptr) self = attach_current_thread();
  if (self->first_busy == 0)
    self->slots[0].store(nullptr, std::memory_order_release);  // (2)
  for (unsigned i = 1; i < slots_per_thread; ++i)
    if (!(self->used_slots & (1u << i)))
      self->slots[i].store(nullptr, std::memory_order_release);  // (2)
  // Destructors may retire further nodes (a registry table owning cells):
  // repeat while a pass still frees something.
  while (scan(*self) != 0 &&
         self->retired_count.load(std::memory_order_relaxed) != 0) {
  }
}

std::uint64_t hazard_pointer_reclaimer::scans() noexcept {
  return the_domain().scans.load(std::memory_order_relaxed);
}

std::size_t hazard_pointer_reclaimer::slots_of_current_thread() noexcept {
  record* self = current_record;
  if (self == nullptr) return 0;
  std::size_t n = 0;
  for_each_slot(*self, [&](slot&) { ++n; });
  return n;
}

// The 9th and later live guard of a thread: a free slot in an overflow
// block, or a new block linked at the end of the chain. Overflow guards
// release eagerly, so these slots pin nothing once their guards end.
[[gnu::cold]] hazard_pointer_reclaimer::guard::overflow_claim
hazard_pointer_reclaimer::guard::claim_overflow(thread_record& r) noexcept {
  constexpr std::uint32_t all_used =
      ~std::uint32_t{0} >> (32 - overflow_block_slots);
  std::atomic<overflow_block*>* link = &r.overflow;
  overflow_block* block = link->load(std::memory_order_relaxed);
  while (block != nullptr && block->used == all_used) {
    link = &block->next;
    block = link->load(std::memory_order_relaxed);
  }
  if (block == nullptr) {
    block = new overflow_block;  // noexcept context: failure terminates
    link->store(block, std::memory_order_release);  // (8')
    the_domain().slot_count.fetch_add(overflow_block_slots,
                                      std::memory_order_relaxed);
  }
  const auto index = static_cast<unsigned>(std::countr_one(block->used));
  block->used |= 1u << index;
  return {&block->slots[index], &block->used, 1u << index};
}

std::size_t hazard_pointer_reclaimer::pending() noexcept {
  auto& d = the_domain();
  std::size_t total = d.orphan_count.load(std::memory_order_relaxed);
  for (record* r = d.records.load(std::memory_order_acquire); r; r = r->next)
    total += r->retired_count.load(std::memory_order_relaxed);
  return total;
}

}  // namespace vitrine::core
