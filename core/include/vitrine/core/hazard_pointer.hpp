// hazard_pointer_reclaimer: safe memory reclamation for single-writer
// publication, with an asymmetric fence so that readers pay no fence and no
// read-modify-write.
//
// A reader announces the node it is about to dereference in a slot owned by
// its thread, then re-checks that the node is still published. A writer that
// unlinks a node retires it; retired nodes are freed in batches, after one
// heavy fence (membarrier) proves that every announcement made before it is
// visible, and only when no slot names them.
//
// Threads: any thread may hold guards; no registration call is required (a
// thread's record is attached on its first guard and released by a
// thread_local destructor when it exits). retire() may be called from any
// thread; each thread keeps its own retired list.
//
// Slots: a thread has slots_per_thread inline slots and, when more guards
// than that are alive at once, as many overflow slots as it needs (blocks of
// overflow_block_slots, allocated on first need, kept with the thread's
// record and scanned too). Any number of live guards per thread is valid;
// the 9th and later cost an out-of-line call (and, the first time, an
// allocation; its failure terminates, since guards are noexcept).
//
// Lazy release: a guard's destructor leaves an inline slot announcing its
// node, so rereading an unchanged snapshot needs no store and no fence.
// Bound: such a node stays allocated until the thread protects something
// else in that slot, calls reclaim_now(), or exits, so an idle reader pins at
// most slots_per_thread nodes (one per inline slot), each a single snapshot.
// Overflow slots and eager guards (guard{eager_release}: the registry's
// lookups, whose table would pin every erased entry) withdraw their
// announcement when they end and pin nothing afterwards.
//
// Costs: guard + protect of an unchanged source = two loads and a compare
// (plus the owner-only slot bookkeeping); of a changed one, also a
// thread-local store and a compiler barrier (a seq_cst fence in the
// fallback, see asymmetric_fence.hpp). Wait-free unless the writer publishes
// between the two loads, then lock-free. retire() is a push on a
// thread-local list; every scan_threshold() retirements one scan runs: one
// heavy fence, a read of every slot, a sort, and the frees. Garbage is
// bounded by scan_threshold() nodes per writing thread plus the nodes
// protected at the last scan.
#pragma once

#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "vitrine/core/detail/asymmetric_fence.hpp"

namespace vitrine::core {
namespace detail {
struct hazard_thread_exit;
}

/// Tag for a guard that withdraws its announcement when it ends.
struct eager_release_t {
  explicit eager_release_t() = default;
};
inline constexpr eager_release_t eager_release{};

class hazard_pointer_reclaimer {
 public:
  /// Base of every node this reclaimer manages (the publication cell's nodes
  /// derive from it). Only the reclaimer touches its fields.
  struct node_header {
    node_header* next_retired = nullptr;
    void (*destroy)(node_header*) noexcept = nullptr;
  };

  using slot = std::atomic<const node_header*>;
  static constexpr unsigned slots_per_thread = 8;
  static constexpr unsigned overflow_block_slots = 32;

  /// Extra slots of one thread, chained from its record. Never freed.
  struct overflow_block {
    slot slots[overflow_block_slots] = {};       // (1) as the inline slots
    std::uint32_t used = 0;                      // owner-only bitmask
    std::atomic<overflow_block*> next{nullptr};  // (8') release by the owner
  };

  struct alignas(64) thread_record {
    // (1) stored by the owning thread, loaded by scanners (7).
    slot slots[slots_per_thread] = {};
    // Owner-only: whether slot 0 has a live guard (its own word, so that
    // releasing it is one store), and a bitmask of live guards in slots
    // 1..7 (bit 0 is always set).
    std::uint32_t first_busy = 0;
    std::uint32_t used_slots = 1;
    std::atomic<bool> owned{false};
    thread_record* next = nullptr;  // immutable once the record is listed
    std::atomic<overflow_block*> overflow{nullptr};  // (8') as above
    node_header* retired = nullptr;                  // owner-only
    std::atomic<std::size_t> retired_count{0};  // written by the owner only
    bool scanning = false;  // owner-only, stops reentrant scans
    // Owner-only scratch for scans; lives with the record (records are never
    // freed), so a scan from a thread_local destructor can still use it.
    std::vector<const node_header*> scan_buffer;
  };

  /// Protects at most one node at a time. Guards of one thread may nest
  /// without limit and be released in any order.
  class guard {
   public:
    guard() noexcept {
      thread_record* r = current_record;
      if (r == nullptr) [[unlikely]]
        r = attach_current_thread();
      if (r->first_busy == 0) [[likely]] {
        // Unnested: a constant slot and constant stores (here and in the
        // destructor), so back-to-back reads carry no dependency.
        r->first_busy = 1;
        slot_ = &r->slots[0];
        used_ = &r->first_busy;
        bit_ = 0;  // release by storing 0
        return;
      }
      claim_nested(*r, r->used_slots);
    }
    /// A guard whose destructor withdraws the announcement (see the file
    /// comment): one more store per use, nothing pinned afterwards.
    explicit guard(eager_release_t) noexcept : guard() { eager_ = true; }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    /// Moving hands the slot over, on the owning thread only (the slot and
    /// its bookkeeping belong to the thread that made the guard): the
    /// moved-from guard protects and releases nothing. No shared-memory
    /// access; the announcement stays as it is.
    guard(guard&& other) noexcept
        : slot_(other.slot_),
          used_(std::exchange(other.used_, nullptr)),
          bit_(other.bit_),
          eager_(other.eager_) {}
    guard& operator=(guard&& other) noexcept {
      if (this != &other) {
        release();
        slot_ = other.slot_;
        used_ = std::exchange(other.used_, nullptr);
        bit_ = other.bit_;
        eager_ = other.eager_;
      }
      return *this;
    }
    /// Lazy release for inline slots: the slot keeps announcing its node (see
    /// the file comment), so the next protect of an unchanged source is two
    /// loads.
    ~guard() { release(); }

    /// Loads `source` and keeps the node it points to alive until this guard
    /// is destroyed or protects something else.
    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      slot& announced = *slot_;
      // (5) acquire: the node's contents were written before it was
      // published with a release store.
      Node* seen = source.load(std::memory_order_acquire);
      // Announced earlier, validated then, never withdrawn since: a scanner
      // that could free it must see the announcement (see (6)).
      if (announced.load(std::memory_order_relaxed) == seen) [[likely]]
        return seen;
      for (;;) {
        // (3) announce; release orders our reads of the node this slot named
        // before, ahead of a scanner that sees the replacement (7).
        announced.store(seen, std::memory_order_release);
        detail::light_fence();  // (4) pairs with the heavy fence (6)
        Node* now = source.load(std::memory_order_acquire);  // (5)
        if (now == seen) return seen;
        seen = now;
      }
    }

   private:
    void release() noexcept {
      if (used_ == nullptr) [[unlikely]]
        return;  // moved from
      if (eager_) [[unlikely]]
        slot_->store(nullptr, std::memory_order_release);  // (2)
      if (bit_ == 0) [[likely]]
        *used_ = 0;  // slot 0
      else
        *used_ &= ~bit_;
    }

    void claim_nested(thread_record& r, std::uint32_t used) noexcept {
      constexpr std::uint32_t all_inline =
          ~std::uint32_t{0} >> (32 - slots_per_thread);
      if (used != all_inline) [[likely]] {
        const auto index = static_cast<unsigned>(std::countr_one(used));
        r.used_slots = used | (1u << index);
        slot_ = &r.slots[index];
        used_ = &r.used_slots;
        bit_ = 1u << index;
        return;
      }
      // Out of line and by value, so the guard itself never escapes to
      // memory on the fast path (its fields stay in registers).
      const overflow_claim c = claim_overflow(r);
      slot_ = c.where;
      used_ = c.used;
      bit_ = c.bit;
      eager_ = true;
    }
    struct overflow_claim {
      slot* where;
      std::uint32_t* used;
      std::uint32_t bit;
    };
    static overflow_claim claim_overflow(thread_record& r) noexcept;

    slot* slot_;
    std::uint32_t* used_;  // first_busy (bit_ 0) or the bitmask with bit_
    std::uint32_t bit_;
    bool eager_ = false;
  };
  /// Hands `node` over for destruction by `destroy` once no guard protects
  /// it. The node must already be unreachable for new readers.
  static void retire(node_header* node,
                     void (*destroy)(node_header*) noexcept) noexcept {
    node->destroy = destroy;
    thread_record* record = current_record;
    if (record == nullptr) [[unlikely]]
      record = attach_current_thread();
    node->next_retired = record->retired;
    record->retired = node;
    const std::size_t count =
        record->retired_count.load(std::memory_order_relaxed) + 1;
    record->retired_count.store(count, std::memory_order_relaxed);
    if (count >= scan_threshold()) [[unlikely]]
      scan(*record);
  }

  /// Withdraws this thread's lazily kept announcements (slots of no live
  /// guard), then frees every retired node of this thread and of exited
  /// threads that is not protected now. Call it when a writer goes idle,
  /// before shutdown, or when a reader wants its last snapshots freed.
  static void reclaim_now() noexcept;

  /// Retired nodes after which a thread scans.
  static std::size_t scan_threshold() noexcept;

  /// Nodes retired and not yet freed, all threads (approximate while others
  /// run; exact when quiescent). For tests and metrics.
  static std::size_t pending() noexcept;

  /// Scans run so far, all threads (each is one heavy fence and a walk of
  /// every slot). For tests and metrics.
  static std::uint64_t scans() noexcept;

  /// Slots (inline and overflow) of the calling thread's record; for tests.
  static std::size_t slots_of_current_thread() noexcept;

  // -- internals --------------------------------------------------------------

 private:
  friend struct detail::hazard_thread_exit;
  static thread_record* attach_current_thread() noexcept;
  static void detach_current_thread(thread_record& record) noexcept;
  /// Returns how many nodes it freed.
  static std::size_t scan(thread_record& self) noexcept;

  static constinit thread_local thread_record* current_record;
};

}  // namespace vitrine::core
