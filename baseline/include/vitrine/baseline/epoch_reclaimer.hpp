// epoch_reclaimer: classic epoch-based reclamation (EBR), a Reclaimer (see
// core/reclaimer.hpp) kept as a reference point beside hazard pointers and
// liburcu. A baseline: in vitrine::baseline_epoch (bench/ and tests/), not
// in the installed package.
//
// A reader's outermost guard stores the global epoch in its thread's record
// and issues a full fence (the symmetric fence liburcu's memb flavor and
// vitrine's hazard pointers avoid with membarrier); the guard's end stores
// 0. Retired nodes wait on their thread until every thread inside a guard
// entered it at an epoch at least the batch's tag (epoch_domain.hpp).
// A reader that holds a guard for long keeps every node retired meanwhile:
// garbage grows without bound, as with liburcu.
//
// Threads: any thread may read or retire, without registering (a thread's
// record is attached on first use and detached by a thread_local destructor
// at exit). Cost: a guard is a thread-local load, one store and one full
// fence (mfence) on entry and one store on exit; protect() is an acquire
// load; retire is a push, and every 128th retire scans the threads' records
// and frees what is safe. reclaim_now() does not wait: it frees what can be
// freed now.
#pragma once

#include <atomic>
#include <cstddef>

#include "vitrine/baseline/detail/epoch_domain.hpp"
#include "vitrine/core/detail/asymmetric_fence.hpp"

namespace vitrine::baseline {

class epoch_reclaimer {
 public:
  using node_header = detail::epoch_node;

  class guard {
   public:
    guard() noexcept : record_(current ? current : attach_current_thread()) {
      if (record_->depth++ == 0) {
        record_->mark.store(domain.epoch.load(std::memory_order_acquire),
                            std::memory_order_relaxed);
        core::detail::full_fence();  // the mark before the loads it covers
      }
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() {
      if (--record_->depth == 0)
        record_->mark.store(0, std::memory_order_release);
    }

    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      return source.load(std::memory_order_acquire);  // pairs with publish
    }

   private:
    detail::epoch_record* record_;
  };

  static void retire(node_header* node,
                     void (*destroy)(node_header*) noexcept) noexcept;
  /// Frees every retired node no guard can still reach (does not wait).
  static void reclaim_now() noexcept;
  /// Nodes retired by any thread and not yet freed.
  static std::size_t pending() noexcept { return domain.pending(); }

  // -- internals --------------------------------------------------------------

  static inline detail::epoch_domain domain;

 private:
  static detail::epoch_record* attach_current_thread() noexcept;
  static constinit thread_local detail::epoch_record* current;
};

}  // namespace vitrine::baseline
