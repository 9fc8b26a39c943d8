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
// Lazy release: a guard's destructor leaves its slot announcing the node,
// so rereading an unchanged snapshot needs no store and no fence. Such a
// node stays allocated until the thread protects something else in that
// slot, calls reclaim_now(), or exits: at most slots_per_thread nodes per
// reading thread, on top of the bound below.
//
// Costs: guard + protect of an unchanged source = two loads and a compare
// (plus the slot bookkeeping); of a changed one, also a thread-local store and
// a compiler barrier. Wait-free unless the writer publishes between the two
// loads, then lock-free. retire() is a push on a thread-local list; every
// scan_threshold() retirements one scan runs: one membarrier, a read of every
// slot, a sort, and the frees. Garbage is bounded by scan_threshold() nodes
// per writing thread plus the nodes protected at the last scan.
#pragma once

#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vitrine/core/detail/asymmetric_fence.hpp"

namespace vitrine::core {
namespace detail {
struct hazard_thread_exit;
}

class hazard_pointer_reclaimer {
 public:
  /// Base of every node this reclaimer manages (the publication cell's nodes
  /// derive from it). Only the reclaimer touches its fields.
  struct node_header {
    node_header* next_retired = nullptr;
    void (*destroy)(node_header*) noexcept = nullptr;
  };

  static constexpr unsigned slots_per_thread = 8;

  struct alignas(64) thread_record {
    // (1) stored by the owning thread, loaded by scanners (7).
    std::atomic<const node_header*> slots[slots_per_thread] = {};
    std::uint32_t used_slots = 0;  // owner-only bitmask
    std::atomic<bool> owned{false};
    thread_record* next = nullptr;   // immutable once the record is listed
    node_header* retired = nullptr;  // owner-only
    std::atomic<std::size_t> retired_count{0};  // written by the owner only
    bool scanning = false;  // owner-only, stops reentrant scans
    // Owner-only scratch for scans; lives with the record (records are never
    // freed), so a scan from a thread_local destructor can still use it.
    std::vector<const node_header*> scan_buffer;
  };

  /// Protects at most one node at a time. Guards of one thread may nest and
  /// be released in any order, up to slots_per_thread at once.
  class guard {
   public:
    guard() noexcept {
      record_ = current_record;
      if (record_ == nullptr) [[unlikely]]
        record_ = attach_current_thread();
      const std::uint32_t used = record_->used_slots;
      if (used == 0) [[likely]] {
        // Unnested: a constant slot and a constant store, so back-to-back
        // reads carry no dependency through used_slots.
        index_ = 0;
        record_->used_slots = 1;
        return;
      }
      assert(used != ~std::uint32_t{0} >> (32 - slots_per_thread) &&
             "more than slots_per_thread guards in one thread");
      index_ = static_cast<unsigned>(std::countr_one(used));
      record_->used_slots = used | (1u << index_);
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    /// Lazy release: the slot keeps announcing its node (see the file
    /// comment), so the next protect of an unchanged source is two loads.
    ~guard() { record_->used_slots &= ~(1u << index_); }

    /// Loads `source` and keeps the node it points to alive until this guard
    /// is destroyed or protects something else.
    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      auto& slot = record_->slots[index_];
      // (5) acquire: the node's contents were written before it was
      // published with a release store.
      Node* seen = source.load(std::memory_order_acquire);
      // Announced earlier, validated then, never withdrawn since: a scanner
      // that could free it must see the announcement (see (6)).
      if (slot.load(std::memory_order_relaxed) == seen) [[likely]]
        return seen;
      for (;;) {
        // (3) announce; release orders our reads of the node this slot named
        // before, ahead of a scanner that sees the replacement (7).
        slot.store(seen, std::memory_order_release);
        detail::light_fence();  // (4) pairs with the heavy fence (6)
        Node* now = source.load(std::memory_order_acquire);  // (5)
        if (now == seen) return seen;
        seen = now;
      }
    }

   private:
    thread_record* record_;
    unsigned index_;
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
