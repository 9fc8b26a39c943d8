// epoch_domain: the bookkeeping that epoch_reclaimer (EBR) and
// qsbr_reclaimer share: a global epoch counter, one record per thread that
// has used the reclaimer, and per-thread lists of retired nodes tagged with
// the epoch after which they may be freed. A baseline
// (vitrine::baseline_epoch), measured beside hazard pointers and liburcu in the
// design study.
//
// The rule both reclaimers obey: a record's `mark` is 0 when its thread can
// hold no node (EBR: outside every guard; QSBR: offline or never read),
// otherwise an epoch the thread has observed: EBR, the epoch it entered its
// outermost guard in; QSBR, the epoch of its last quiescent state. A batch of
// retired nodes is tagged T = the epoch that one fetch_add on the counter
// made, after the nodes were unlinked; it may be freed once every record is
// 0 or >= T (a thread that observed T or later read the counter after the
// unlink, with acquire, so it can no longer reach those nodes). A thread that
// never moves its mark past T (a stalled reader) keeps every later batch:
// garbage is unbounded, as with liburcu.
//
// Threads: records are owned by their thread (depth, retired lists); the
// record list and the orphans of exited threads are under a mutex, taken
// once per batch (collect) and at attach/detach. Cost: retire is a push;
// every retire_batch-th retire does one fetch_add, one pass over the
// records (O(threads)) and frees the safe prefix of the thread's list.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace vitrine::baseline::detail {

struct epoch_node {
  epoch_node* next = nullptr;
  void (*destroy)(epoch_node*) noexcept = nullptr;
  std::uint64_t epoch = 0;  ///< the batch's tag T; 0 while untagged
};

/// A FIFO list of retired nodes (owner only, or under the domain's mutex).
struct epoch_list {
  epoch_node* head = nullptr;
  epoch_node* tail = nullptr;
  std::size_t size = 0;
  void push(epoch_node* n) noexcept;
  void append(epoch_list& other) noexcept;  ///< moves all of `other` here
};

struct alignas(64) epoch_record {
  std::atomic<std::uint64_t> mark{0};  ///< see the file comment
  // -- owner only ------------------------------------------------------------
  unsigned depth = 0;  ///< nesting of live guards
  bool collecting = false;
  epoch_list untagged;  ///< retired since the last collect
  epoch_list tagged;    ///< tagged batches, epochs nondecreasing
  // -- the domain's list, under its mutex ------------------------------------
  epoch_record* next = nullptr;
};

class epoch_domain {
 public:
  static constexpr std::size_t retire_batch = 128;

  std::atomic<std::uint64_t> epoch{1};

  /// A new record (mark 0) in the list. Cold.
  epoch_record* attach();
  /// Tags what the record still holds, hands it to the orphans, unlinks and
  /// deletes the record. Called by its thread at exit.
  void detach(epoch_record* record) noexcept;

  /// Queues `node`; every retire_batch-th call collects. `self_quiescent`:
  /// QSBR's collecting thread reports a quiescent state (when it holds no
  /// guard), so that it never waits for itself.
  void retire(epoch_record& record, epoch_node* node,
              void (*destroy)(epoch_node*) noexcept,
              bool self_quiescent) noexcept;
  /// Tags the untagged nodes with a fresh epoch and frees every node (the
  /// record's and the orphans') that no thread can still reach.
  void collect(epoch_record& record, bool self_quiescent) noexcept;

  /// Nodes retired and not yet freed (all threads).
  std::size_t pending() const noexcept {
    return pending_.load(std::memory_order_relaxed);
  }

 private:
  std::uint64_t oldest_mark() noexcept;  // under mutex_
  static epoch_list take_safe(epoch_list& list, std::uint64_t bound) noexcept;
  void free_all(epoch_list& list) noexcept;

  std::mutex mutex_;
  epoch_record* records_ = nullptr;  // under mutex_
  epoch_list orphans_;               // under mutex_
  std::atomic<std::size_t> pending_{0};
};

}  // namespace vitrine::baseline::detail
