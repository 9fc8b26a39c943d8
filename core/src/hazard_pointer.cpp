#include "vitrine/core/hazard_pointer.hpp"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace vitrine::core {
namespace {

using record = hazard_pointer_reclaimer::thread_record;
using slot = hazard_pointer_reclaimer::slot;
using node_header = hazard_pointer_reclaimer::node_header;
using overflow_block = hazard_pointer_reclaimer::overflow_block;
using own_slot = hazard_pointer_reclaimer::own_slot;

constexpr std::size_t minimum_scan_threshold = 128;

// The process-wide part. It is never destroyed: threads (and their
// thread_local destructors) may outlive static destruction.
struct domain {
  domain();
  std::atomic<record*> records{nullptr};   // (8) release push, acquire walk
  std::atomic<std::size_t> slot_count{0};  // own, nested and overflow
  // Held by a scan while it reads the own slots (thread-local storage of
  // other threads) and by a thread that attaches or detaches, so that no scan
  // reads the own slot of a thread that has exited.
  std::mutex own_slots_mutex;
  // Its destructor detaches an exiting thread, after the thread's C++
  // thread_local destructors (glibc runs pthread key destructors last).
  pthread_key_t exit_key;
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

// Calls f(slot) for every nested and overflow slot of `r`. (8') acquire
// pairs with the owner's release when it links a block.
template <class F>
void for_each_slot(record& r, F f) {
  for (auto& s : r.nested) f(s);
  for (overflow_block* b = r.overflow.load(std::memory_order_acquire); b;
       b = b->next.load(std::memory_order_acquire))
    for (auto& s : b->slots) f(s);
}

}  // namespace

namespace detail {
// Detaches an exiting thread (the exit key's destructor).
struct hazard_thread_exit {
  static void on_exit(void* r) noexcept {
    hazard_pointer_reclaimer::detach_current_thread(*static_cast<record*>(r));
  }
};
}  // namespace detail

namespace {
domain::domain() {
  if (pthread_key_create(&exit_key, &detail::hazard_thread_exit::on_exit) !=
      0) {
    std::fputs("vitrine: pthread_key_create failed\n", stderr);
    std::abort();
  }
}
}  // namespace

constinit thread_local record* hazard_pointer_reclaimer::current_record =
    nullptr;
constinit thread_local own_slot hazard_pointer_reclaimer::own_slot_of_thread{0};

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
  {
    std::lock_guard lock{d.own_slots_mutex};
    mine->own = &own_slot_of_thread;
  }
  current_record = mine;
  pthread_setspecific(d.exit_key, mine);
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
  {
    std::lock_guard lock{d.own_slots_mutex};
    r.own = nullptr;
  }
  // No scan reads it from now on; a guard made later re-attaches.
  own_slot_of_thread.store(0, std::memory_order_relaxed);
  r.nested_used = 0;
  for (overflow_block* b = r.overflow.load(std::memory_order_relaxed); b;
       b = b->next.load(std::memory_order_relaxed))
    b->used = 0;
  current_record = nullptr;
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
  {
    std::lock_guard lock{d.own_slots_mutex};
    for (record* r = d.records.load(std::memory_order_acquire); r;
         r = r->next) {
      // (7) acquire, pairs with (2) and (3): a reader's last use of a node
      // happens before we see its slot move on.
      if (r->own != nullptr) {
        const std::uintptr_t announced =
            r->own->load(std::memory_order_acquire) &
            ~hazard_pointer_reclaimer::own_busy;
        if (announced != 0)
          protected_nodes.push_back(
              reinterpret_cast<const node_header*>(announced));
      }
      for_each_slot(*r, [&](slot& s) {
        if (const node_header* p = s.load(std::memory_order_acquire))
          protected_nodes.push_back(p);
      });
    }
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
  if (!(own_slot_of_thread.load(std::memory_order_relaxed) & own_busy))
    own_slot_of_thread.store(0, std::memory_order_release);  // (2)
  for (unsigned i = 0; i + 1 < slots_per_thread; ++i)
    if (!(self->nested_used & (1u << i)))
      self->nested[i].store(nullptr, std::memory_order_release);  // (2)
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
  std::size_t n = 1;  // the own slot
  for_each_slot(*self, [&](slot&) { ++n; });
  return n;
}

// A guard made while the own slot is busy: a free nested slot of the
// record, else (the 9th and later live guard) a free slot in an overflow
// block, or a new block linked at the end of the chain. Overflow guards
// release eagerly, so these slots pin nothing once their guards end.
std::uintptr_t hazard_pointer_reclaimer::guard::claim_nested(
    bool eager) noexcept {
  record* r = current_record;
  if (r == nullptr) r = attach_current_thread();
  constexpr std::uint32_t all_nested =
      ~std::uint32_t{0} >> (32 - (slots_per_thread - 1));
  if (r->nested_used != all_nested) {
    const auto index = static_cast<unsigned>(std::countr_one(r->nested_used));
    r->nested_used |= 1u << index;
    return reinterpret_cast<std::uintptr_t>(&r->nested[index]) |
           (eager ? eager_bit : 0);
  }
  constexpr std::uint32_t all_used =
      ~std::uint32_t{0} >> (32 - overflow_block_slots);
  std::atomic<overflow_block*>* link = &r->overflow;
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
  return reinterpret_cast<std::uintptr_t>(&block->slots[index]) | eager_bit;
}

void hazard_pointer_reclaimer::guard::release_nested(
    std::uintptr_t where) noexcept {
  slot* s = reinterpret_cast<slot*>(where & ~eager_bit);
  if (where & eager_bit) s->store(nullptr, std::memory_order_release);  // (2)
  record* r = current_record;
  if (r == nullptr) return;  // detached meanwhile (thread exit): nothing kept
  // Compared as integers: the slot may lie in another array than the one
  // tested.
  const auto in = [s](const slot* first, std::size_t n) {
    const auto a = reinterpret_cast<std::uintptr_t>(s);
    const auto f = reinterpret_cast<std::uintptr_t>(first);
    return a >= f && a < f + n * sizeof(slot);
  };
  if (in(r->nested, slots_per_thread - 1)) {
    r->nested_used &= ~(1u << (s - r->nested));
    return;
  }
  for (overflow_block* b = r->overflow.load(std::memory_order_relaxed); b;
       b = b->next.load(std::memory_order_relaxed))
    if (in(b->slots, overflow_block_slots)) {
      b->used &= ~(1u << (s - b->slots));
      return;
    }
}

std::size_t hazard_pointer_reclaimer::pending() noexcept {
  auto& d = the_domain();
  std::size_t total = d.orphan_count.load(std::memory_order_relaxed);
  for (record* r = d.records.load(std::memory_order_acquire); r; r = r->next)
    total += r->retired_count.load(std::memory_order_relaxed);
  return total;
}

}  // namespace vitrine::core
