// publication_cell<T>: one writer publishes immutable snapshots of T; any
// number of threads read the latest one through a guard, without locks,
// allocation, or read-modify-write on shared memory.
//
// Threads: exactly one writer at a time calls publish()/emplace()/close()/
// current_unsafe() (in vitrine: the actor that owns the process). Any thread
// calls read(), publications(), closed(), wait_until() and
// wait_for_publication().
// The cell must outlive every snapshot guard taken from it and every waiter.
//
// Costs: read() is the reclaimer's guard + protect (hazard pointers: two
// loads, two thread-local stores, no fence) and is wait-free unless a publish
// races it. publish() is one allocation for the new node, one release store,
// a seq_cst store/load pair for waiters, and an amortized share of
// reclamation (see the reclaimer). Waiting is a futex sleep; the writer only
// makes the wake system call when a waiter is registered.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "vitrine/core/detail/futex.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/reclaimer.hpp"

namespace vitrine::core {

template <class T, reclaimer Reclaimer = hazard_pointer_reclaimer>
class publication_cell {
  struct node final : Reclaimer::node_header {
    template <class... Args>
    explicit node(Args&&... args) : value(std::forward<Args>(args)...) {}
    const T value;
  };

 public:
  using value_type = T;
  using reclaimer_type = Reclaimer;

  /// A reader's view of one published snapshot; the snapshot stays alive and
  /// unchanged for the view's lifetime. Keep views short-lived and on one
  /// thread: each pins a slot of the reading thread.
  class snapshot {
   public:
    /// Same as cell.read(); for constructing in place (std::optional).
    explicit snapshot(const publication_cell& cell) noexcept
        : value_(&guard_.protect(cell.current_)->value) {}
    snapshot(const snapshot&) = delete;
    snapshot& operator=(const snapshot&) = delete;

    const T& operator*() const noexcept { return *value_; }
    const T* operator->() const noexcept { return value_; }
    const T* get() const noexcept { return value_; }

   private:
    typename Reclaimer::guard guard_;
    const T* value_;
  };

  template <class... Args>
  explicit publication_cell(std::in_place_t, Args&&... args)
      : current_(new node(std::forward<Args>(args)...)) {}
  explicit publication_cell(T initial)
      : publication_cell(std::in_place, std::move(initial)) {}
  /// Starts with T{}, one snapshot shared by every cell of this type that
  /// starts so and never freed: no allocation until the first publish (a
  /// cell whose writer may never publish costs no snapshot of its own).
  publication_cell() noexcept(
      std::is_nothrow_default_constructible_v<T>) requires
      std::default_initializable<T> : current_(&shared_default()) {}

  publication_cell(const publication_cell&) = delete;
  publication_cell& operator=(const publication_cell&) = delete;

  /// Retires the last snapshot; readers that still hold it keep it alive.
  ~publication_cell() { retire(current_.load(std::memory_order_relaxed)); }

  // -- readers (any thread) ---------------------------------------------------

  /// The latest snapshot. Never blocks, never allocates.
  snapshot read() const noexcept { return snapshot{*this}; }

  /// The latest snapshot, kept alive by `guard` (which must outlive the
  /// reference and protect nothing else meanwhile). For views that hold
  /// their guard themselves; read() is the usual way.
  const T& read_with(typename Reclaimer::guard& guard) const noexcept {
    return guard.protect(current_)->value;
  }

  /// Number of publishes so far (the futex word waiters sleep on).
  std::uint32_t publications() const noexcept {
    return publications_ref().load(std::memory_order_acquire);
  }

  /// Whether the writer closed the cell: its snapshot is the last.
  bool closed() const noexcept {
    return (waiters_.load(std::memory_order_acquire) & closed_bit) != 0;
  }

  /// Blocks until `pred(snapshot)` holds or `deadline` passes; returns
  /// whether it holds. Checks the current snapshot first; never messages or
  /// blocks the writer. On a closed cell it returns as soon as `pred` fails
  /// on the last snapshot (no publish can satisfy it any more).
  template <class Predicate>
  bool wait_until(Predicate pred,
                  std::chrono::steady_clock::time_point deadline) const {
    waiters_.fetch_add(1, std::memory_order_seq_cst);  // (9) pairs with (11)
    bool satisfied = false;
    for (;;) {
      const std::uint32_t seen =
          publications_ref().load(std::memory_order_seq_cst);
      // (12) a close counted by `seen` is seen here, and the read below
      // then sees the last snapshot; a later close changes the count, so
      // the sleep below does not last.
      const bool last = closed();
      if (pred(*read())) {
        satisfied = true;
        break;
      }
      if (last) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      detail::futex_wait_until(publications_, seen, deadline);
    }
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return satisfied;
  }

  /// Blocks until more than `seen` publishes happened or `deadline` passes.
  bool wait_for_publication(
      std::uint32_t seen,
      std::chrono::steady_clock::time_point deadline) const {
    return wait_until([&](const T&) { return publications() != seen; },
                      deadline);
  }

  // -- the writer -------------------------------------------------------------

  /// Makes `next` the snapshot every later read() sees.
  void publish(T next) { emplace(std::move(next)); }

  template <class... Args>
  void emplace(Args&&... args) {
    node* fresh = new node(std::forward<Args>(args)...);
    // (4) release: the node's contents happen before any reader's acquire
    // load in protect() that sees it.
    node* old = current_.load(std::memory_order_relaxed);  // we are the writer
    current_.store(fresh, std::memory_order_release);
    retire(old);
    // (10)/(11): a waiter either sees the new count or is woken.
    auto count = publications_ref();
    count.store(count.load(std::memory_order_relaxed) + 1,
                std::memory_order_seq_cst);
    if ((waiters_.load(std::memory_order_seq_cst) & ~closed_bit) != 0)
        [[unlikely]]
      detail::futex_wake_all(publications_);
  }

  /// The writer's last act: no publish follows. Every waiter wakes, and
  /// wait_until() on this cell no longer sleeps (it returns once `pred`
  /// fails on the last snapshot). Idempotent. One read-modify-write, one
  /// counter store, and the wake system call if anyone waits.
  void close() noexcept {
    // (12) before the count: a waiter that sees the new count sees this.
    const std::uint32_t had =
        waiters_.fetch_or(closed_bit, std::memory_order_seq_cst);
    auto count = publications_ref();
    count.store(count.load(std::memory_order_relaxed) + 1,
                std::memory_order_seq_cst);
    if ((had & ~closed_bit) != 0 ||
        (waiters_.load(std::memory_order_seq_cst) & ~closed_bit) != 0)
      detail::futex_wake_all(publications_);
  }

  /// The last published value, read by the writer without a guard: only the
  /// writer retires snapshots, so its own latest one cannot vanish.
  const T& current_unsafe() const noexcept {
    return current_.load(std::memory_order_relaxed)->value;
  }

  // -- internals --------------------------------------------------------------

 private:
  std::atomic_ref<std::uint32_t> publications_ref() const noexcept {
    return std::atomic_ref<std::uint32_t>{publications_};
  }

  static void destroy(typename Reclaimer::node_header* header) noexcept {
    delete static_cast<node*>(header);
  }

  // The writer's, for a snapshot it replaced: every snapshot but the shared
  // default goes to the reclaimer (readers may still hold it).
  static void retire(node* old) noexcept {
    if (static_cast<void*>(old) == default_storage_) return;
    Reclaimer::retire(old, &destroy);
  }

  // Built at first use (a cell constructed during another object's static
  // initialisation still finds it built); never destroyed, so that a cell
  // outliving static destruction (a thread-local one) still reads it.
  static node& shared_default() requires std::default_initializable<T> {
    static node* const built = ::new (default_storage_) node();
    return *built;
  }
  alignas(node) static inline unsigned char default_storage_[sizeof(node)];

  // No cache-line padding: a cell is written only when its owner publishes,
  // and keeping it small lets a reader find the pointer in the same line as
  // the rest of its owner's record (one miss fewer per read of a cold cell).
  std::atomic<node*> current_;
  // The futex word: accessed only through publications_ref(); the kernel
  // gets its address.
  alignas(detail::futex_word_alignment) mutable std::uint32_t publications_ = 0;
  // Threads in wait_until(), and closed_bit once the writer closed the
  // cell (kept in the same word, so a cell stays 16 bytes).
  static constexpr std::uint32_t closed_bit = std::uint32_t{1} << 31;
  mutable std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace vitrine::core
