// qsbr_reclaimer: quiescent-state-based reclamation (QSBR), a Reclaimer
// (see core/reclaimer.hpp) kept as the lower bound of read cost beside
// hazard pointers, EBR and liburcu. A baseline: in vitrine::baseline_epoch
// (bench/ and tests/), not in the installed package.
//
// Readers announce nothing per read: a guard only counts its nesting in a
// thread-local. Instead each reading thread reports quiescent states, points
// where it holds no node, by calling quiescent() (or offline() before it
// blocks for long); retire() and reclaim_now() report one for the calling
// thread when it holds no guard. A node is freed once every online thread
// has reported a quiescent state after it was retired (epoch_domain.hpp).
// The price of the free read: a thread that reads and then never reports
// (a stalled reader, or one that blocks without offline()) keeps every
// node retired after its last report, as with liburcu; garbage is unbounded.
//
// Threads: any thread may read or retire. A thread comes online on its
// first guard (and on its first guard after offline()); it goes offline at
// exit (thread_local destructor; a guard taken by a thread_local destructor
// that runs after that one brings the thread online again for good, holding
// reclamation back: don't). quiescent() and offline() are for the calling
// thread and must be called outside its guards. Cost: a guard is a
// thread-local load and a compare (online?) and a thread-local increment and
// decrement; coming online is a store and a full fence; quiescent() is one
// load of the shared epoch and one store; retire as epoch_reclaimer.
#pragma once

#include <atomic>
#include <cstddef>

#include "vitrine/baseline/detail/epoch_domain.hpp"

namespace vitrine::baseline {

class qsbr_reclaimer {
 public:
  using node_header = detail::epoch_node;

  class guard {
   public:
    guard() noexcept
        : record_(current && current->mark.load(std::memory_order_relaxed)
                      ? current
                      : come_online()) {
      ++record_->depth;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { --record_->depth; }

    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      return source.load(std::memory_order_acquire);  // pairs with publish
    }

   private:
    detail::epoch_record* record_;
  };

  /// Reports that the calling thread holds no node now (outside its guards;
  /// a no-op inside one or on a thread that never read).
  static void quiescent() noexcept {
    auto* r = current;
    if (r && r->depth == 0 && r->mark.load(std::memory_order_relaxed) != 0)
      r->mark.store(domain.epoch.load(std::memory_order_acquire),
                    std::memory_order_release);
  }
  /// The calling thread stops counting until its next guard (call before
  /// blocking for long; outside its guards).
  static void offline() noexcept;

  static void retire(node_header* node,
                     void (*destroy)(node_header*) noexcept) noexcept;
  /// Reports a quiescent state for this thread (outside its guards), then
  /// frees every retired node no online thread can still reach (does not
  /// wait).
  static void reclaim_now() noexcept;
  /// Nodes retired by any thread and not yet freed.
  static std::size_t pending() noexcept { return domain.pending(); }

  // -- internals --------------------------------------------------------------

  static inline detail::epoch_domain domain;

 private:
  static detail::epoch_record* come_online() noexcept;
  static detail::epoch_record* attach_current_thread() noexcept;
  static constinit thread_local detail::epoch_record* current;
};

}  // namespace vitrine::baseline
