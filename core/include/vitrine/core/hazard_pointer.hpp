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
// thread is attached on its first announcement and detached by a pthread
// key destructor when it exits, after its C++ thread_local destructors, so
// those may read too). retire() may be called from any thread; each thread
// keeps its own retired list.
//
// Slots: every thread has one slot of its own in static thread-local
// storage (the "own slot": the reader's fast path reaches it by a %fs-relative
// access, with no pointer to load first). Its low bit is the owner's "a
// guard is using me" flag, which scanners mask off. Guards made while the own
// slot is busy (nesting) take one of slots_per_thread - 1 nested slots of the
// thread's heap record, and beyond those as many overflow slots as needed
// (blocks of overflow_block_slots, allocated on first need, kept with the
// record and scanned too). Any number of live guards per thread is valid;
// each nested one costs an out-of-line call, and the 9th and later, the
// first time, an allocation (its failure terminates: guards are noexcept).
//
// Lazy release: a guard's destructor leaves its slot announcing its node, so
// rereading an unchanged snapshot needs no fence and no re-load. Bound: such
// a node stays allocated until the thread protects something else in that
// slot, calls reclaim_now(), or exits, so an idle reader pins at most
// slots_per_thread nodes, each a single snapshot. Overflow slots and eager
// guards (guard{eager_release}: the registry's lookups, whose table would
// pin every erased entry) withdraw their announcement when they end and pin
// nothing afterwards.
//
// Costs: an unnested guard + protect of an unchanged source + release = one
// load and two plain stores of the own slot, one acquire load of the source
// and a compare (no read-modify-write, no fence: 13 x86 instructions more
// than a bare pointer load in the benchmark's loop, docs/design.md section
// 3). Of a changed source, also a store, a compiler-only barrier (a seq_cst
// fence in the fallback, see asymmetric_fence.hpp) and a re-load. Wait-free
// unless the writer publishes between the two loads, then lock-free. retire()
// is a push on a thread-local list; every scan_threshold() retirements one scan
// runs: one heavy fence, a read of every slot (under a mutex that only scans
// and thread exits take), a sort, and the frees. Garbage is bounded by
// scan_threshold() nodes per writing thread plus the nodes protected at the
// last scan.
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
  /// derive from it). Only the reclaimer touches its fields. Aligned to 8 at
  /// least, so bit 0 of a node's address is free for the busy flag.
  struct node_header {
    node_header* next_retired = nullptr;
    void (*destroy)(node_header*) noexcept = nullptr;
  };
  static_assert(alignof(node_header) >= 2);

  using slot = std::atomic<const node_header*>;
  /// The own slot: a node_header address, or-ed with own_busy while a guard
  /// uses it.
  using own_slot = std::atomic<std::uintptr_t>;
  static constexpr std::uintptr_t own_busy = 1;
  /// The own slot and the nested slots of a thread's record.
  static constexpr unsigned slots_per_thread = 8;
  static constexpr unsigned overflow_block_slots = 32;

  /// Extra slots of one thread, chained from its record. Never freed.
  struct overflow_block {
    slot slots[overflow_block_slots] = {};       // (1) as the nested slots
    std::uint32_t used = 0;                      // owner-only bitmask
    std::atomic<overflow_block*> next{nullptr};  // (8') release by the owner
  };

  /// A thread's heap part, reused by a later thread once its owner exited.
  /// Never freed.
  struct alignas(64) thread_record {
    // (1) stored by the owning thread, loaded by scanners (7).
    slot nested[slots_per_thread - 1] = {};
    std::uint32_t nested_used = 0;  // owner-only bitmask of live guards
    std::atomic<bool> owned{false};
    thread_record* next = nullptr;  // immutable once the record is listed
    // The owner's own slot while the owner lives; set and cleared under the
    // domain's slot mutex, which scans hold while they read it.
    own_slot* own = nullptr;
    std::atomic<overflow_block*> overflow{nullptr};  // (8') as above
    node_header* retired = nullptr;                  // owner-only
    std::atomic<std::size_t> retired_count{0};  // written by the owner only
    bool scanning = false;  // owner-only, stops reentrant scans
    // Owner-only scratch for scans; lives with the record (records are never
    // freed), so a scan from a thread-exit destructor can still use it.
    std::vector<const node_header*> scan_buffer;
  };

  /// Protects at most one node at a time. Guards of one thread may nest
  /// without limit and be released in any order. Two words: what the own
  /// slot announces, and which slot the guard uses (0 for the own slot), so
  /// that an unnested guard stays in two registers.
  class guard {
   public:
    guard() noexcept { claim(own_lazy); }
    /// A guard whose destructor withdraws the announcement (see the file
    /// comment): one more store per use, nothing pinned afterwards.
    explicit guard(eager_release_t) noexcept { claim(own_eager); }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    /// Moving hands the slot over, on the owning thread only (the slot and
    /// its bookkeeping belong to the thread that made the guard): the
    /// moved-from guard protects and releases nothing. No shared-memory
    /// access; the announcement stays as it is.
    guard(guard&& other) noexcept
        : kept_(other.kept_), where_(std::exchange(other.where_, moved_from)) {}
    guard& operator=(guard&& other) noexcept {
      if (this != &other) {
        release();
        kept_ = other.kept_;
        where_ = std::exchange(other.where_, moved_from);
      }
      return *this;
    }
    /// Lazy release (see the file comment): the slot keeps announcing its
    /// node, so the next protect of an unchanged source is one load.
    ~guard() { release(); }

    /// Loads `source` and keeps the node it points to alive until this guard
    /// is destroyed or protects something else.
    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      // (5) acquire: the node's contents were written before it was
      // published with a release store.
      Node* seen = source.load(std::memory_order_acquire);
      if (where_ <= own_eager) [[likely]] {
        // Announced earlier, validated then, never withdrawn since: a
        // scanner that could free it must see the announcement (see (6)).
        if (word_of(seen) == kept_) [[likely]] {
          // Equal values, but release() must store the one that came from
          // the source, not from the own slot: otherwise each read's slot
          // load would wait, through store forwarding, for the previous
          // read's slot load (a chain across back-to-back reads). The empty
          // asm hides the equality from the compiler; it emits nothing.
          std::uintptr_t from_source = word_of(seen);
          asm("" : "+r"(from_source));
          kept_ = from_source;
          return seen;
        }
        seen = announce_own(source, seen);
        kept_ = word_of(seen);
        return seen;
      }
      return protect_nested(source, seen);
    }

   private:
    // where_: the own slot, lazily or eagerly released; moved from; or the
    // address of a nested or overflow slot or-ed with eager_bit.
    static constexpr std::uintptr_t own_lazy = 0;
    static constexpr std::uintptr_t own_eager = 1;
    static constexpr std::uintptr_t moved_from = 2;
    static constexpr std::uintptr_t eager_bit = 1;

    /// `own_kind`: own_lazy or own_eager (a constant at every call site).
    void claim(std::uintptr_t own_kind) noexcept {
      const std::uintptr_t announced =
          own_slot_of_thread.load(std::memory_order_relaxed);
      if (!(announced & own_busy)) [[likely]] {
        // Unnested: mark the own slot busy (a plain store: only this thread
        // writes it, and scanners ignore the bit). It keeps announcing what
        // it announced, which protect() compares against without a load.
        own_slot_of_thread.store(announced | own_busy,
                                 std::memory_order_relaxed);
        kept_ = announced;
        where_ = own_kind;
        return;
      }
      where_ = claim_nested(own_kind == own_eager);
    }

    static std::uintptr_t word_of(const node_header* node) noexcept {
      return reinterpret_cast<std::uintptr_t>(node);
    }

    // (3) announce `seen` in the own slot until a re-load confirms it.
    template <class Node>
    static Node* announce_own(const std::atomic<Node*>& source,
                              Node* seen) noexcept {
      // Scanners find the own slot through the record: attach first.
      if (current_record == nullptr) [[unlikely]]
        attach_current_thread();
      for (;;) {
        // release orders our reads of the node this slot named before,
        // ahead of a scanner that sees the replacement (7).
        own_slot_of_thread.store(word_of(seen) | own_busy,
                                 std::memory_order_release);
        detail::light_fence();  // (4) pairs with the heavy fence (6)
        Node* now = source.load(std::memory_order_acquire);  // (5)
        if (now == seen) return seen;
        seen = now;
      }
    }

    template <class Node>
    Node* protect_nested(const std::atomic<Node*>& source,
                         Node* seen) noexcept {
      slot& announced = *reinterpret_cast<slot*>(where_ & ~eager_bit);
      if (announced.load(std::memory_order_relaxed) == seen) return seen;
      for (;;) {
        announced.store(seen, std::memory_order_release);    // (3)
        detail::light_fence();                               // (4)
        Node* now = source.load(std::memory_order_acquire);  // (5)
        if (now == seen) return seen;
        seen = now;
      }
    }

    void release() noexcept {
      if (where_ == own_lazy) [[likely]] {
        // Same node, busy bit cleared: no ordering needed.
        own_slot_of_thread.store(kept_, std::memory_order_relaxed);
        return;
      }
      if (where_ == own_eager)
        own_slot_of_thread.store(0, std::memory_order_release);  // (2)
      else if (where_ != moved_from)
        release_nested(where_);
    }

    /// A nested or overflow slot (its address or-ed with eager_bit when
    /// `eager`; overflow slots are always eager). Out of line.
    static std::uintptr_t claim_nested(bool eager) noexcept;
    static void release_nested(std::uintptr_t where) noexcept;

    std::uintptr_t kept_ = 0;  // own slot: the node it announces
    std::uintptr_t where_ = moved_from;
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

  /// Slots (own, nested and overflow) of the calling thread; for tests.
  static std::size_t slots_of_current_thread() noexcept;

  // -- internals --------------------------------------------------------------

 private:
  friend struct detail::hazard_thread_exit;
  static thread_record* attach_current_thread() noexcept;
  static void detach_current_thread(thread_record& record) noexcept;
  /// Returns how many nodes it freed.
  static std::size_t scan(thread_record& self) noexcept;

  static constinit thread_local thread_record* current_record;
  // (1) the own slot: stored by this thread, loaded by scanners (7) through
  // the record while the thread is attached.
  static constinit thread_local own_slot own_slot_of_thread;
};

}  // namespace vitrine::core
