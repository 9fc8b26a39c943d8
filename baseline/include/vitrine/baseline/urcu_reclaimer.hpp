// urcu_memb_reclaimer: the Reclaimer (see core/reclaimer.hpp) backed by
// liburcu's "memb" flavor, kept as the measured alternative to hazard
// pointers. A baseline: in the vitrine::baseline_urcu target (bench/ and
// tests/), not in the installed package, which does not link liburcu.
//
// Readers run inside rcu_read_lock()/rcu_read_unlock(); liburcu's writer side
// uses membarrier, so readers pay no fence. Retired nodes go to call_rcu(),
// whose helper thread waits for a grace period and frees them in batches.
//
// Threads: any thread may read or retire. liburcu requires each thread to
// register before its first read-side section; this wrapper registers a
// thread on its first use and unregisters it from a thread_local destructor,
// so host threads call nothing special. Cost: a read is a thread-local
// nesting-counter update on entry and exit plus a check for a waiting writer;
// retire() enqueues on a wait-free queue; freeing happens on liburcu's
// call_rcu thread after a grace period (synchronize_rcu).
#pragma once

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE  // inline read-side fast paths
#endif
#include <urcu/urcu-memb.h>

#include <atomic>

namespace vitrine::baseline {

class urcu_memb_reclaimer {
 public:
  struct node_header {
    rcu_head head;
    void (*destroy)(node_header*) noexcept = nullptr;
  };

  class guard {
   public:
    guard() noexcept {
      if (!registered) [[unlikely]]
        register_current_thread();
      urcu_memb_read_lock();
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { urcu_memb_read_unlock(); }

    template <class Node>
    Node* protect(const std::atomic<Node*>& source) noexcept {
      return source.load(std::memory_order_acquire);  // pairs with publish
    }
  };

  static void retire(node_header* node,
                     void (*destroy)(node_header*) noexcept) noexcept;

  /// Waits until every node retired so far has been freed (rcu_barrier).
  /// Must not be called while this thread holds a guard.
  static void reclaim_now() noexcept;

  // -- internals --------------------------------------------------------------

 private:
  static void register_current_thread() noexcept;
  static constinit thread_local bool registered;
};

}  // namespace vitrine::baseline
