// registry<V>: a name -> std::shared_ptr<V> map with lock-free lookups and
// consistent whole-map views.
//
// Each revision of the map is a small immutable table {revision, size,
// storage} published through a publication_cell. The storage is shared by
// consecutive revisions and only ever appended to: entries in order (the
// order of insertion, unless arrange() set another) plus an open-addressing
// index whose slots are atomic pointers. An entry
// carries the revision that inserted it, so a table ignores entries appended
// after it; a reader holding an old table sees exactly that revision.
//
// Threads: lookup(), find_shared(), snapshot() and revision() from any
// thread; they never lock, never allocate (find_shared bumps one reference
// count), and never wait for writers. insert(), insert_all(), erase() and
// arrange() from any thread; they serialize among themselves on a mutex that
// readers never touch.
//
// Costs: lookup = one guard + one string hash + ~1 probe + one compare
// (~6 ns among 1,000 names of 8-9 bytes, docs/results.md).
// insert/insert_all of k names: O(k) amortized (the storage doubles when
// full, copying O(n) entry pointers once per doubling, so building a map
// of N names one insert at a time costs O(N) in all) plus one small table
// node, retired without forcing a scan. erase: O(n) (a fresh storage
// without the name) plus one reclamation pass, so erased values go
// promptly. arrange: O(n) (a fresh storage in the new order), nothing
// when no entry moves.
// Reader guards here release eagerly: a lookup result or a view pins its
// table only while it lives (see hazard_pointer.hpp, "Lazy release"), so an
// idle thread never keeps an old table, or the erased values in it, alive.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vitrine/core/detail/string_hash.hpp"
#include "vitrine/core/hazard_pointer.hpp"
#include "vitrine/core/publication_cell.hpp"

namespace vitrine::core {
namespace detail {
// The guard a registry reader holds: eager where the reclaimer offers it.
template <class Reclaimer>
struct registry_guard : Reclaimer::guard {};
template <>
struct registry_guard<hazard_pointer_reclaimer>
    : hazard_pointer_reclaimer::guard {
  registry_guard() noexcept : hazard_pointer_reclaimer::guard(eager_release) {}
};
}  // namespace detail

template <class V, reclaimer Reclaimer = hazard_pointer_reclaimer>
class registry {
 public:
  // 56 bytes (80 with make_shared's count): no hash kept, an append
  // computes it again and a probe compares names (lengths first).
  struct entry {
    std::string name;
    std::shared_ptr<V> value;
    std::uint64_t revision;  // the revision that inserted it
  };

 private:
  // Append-only entries and index, shared by consecutive tables.
  struct storage {
    explicit storage(std::size_t cap)
        : capacity(cap),
          by_order(new std::shared_ptr<const entry>[cap]),
          index(new std::atomic<const entry*>[2 * cap]()),
          mask(2 * cap - 1) {}

    // Writer only, under the registry's mutex; `at` is the next free
    // position. Readers of older tables may probe the index meanwhile.
    void append(std::size_t at, std::shared_ptr<const entry> e) {
      std::size_t slot = key_hash(e->name) & mask;
      while (index[slot].load(std::memory_order_relaxed) != nullptr)
        slot = (slot + 1) & mask;
      // release: the entry's contents before a prober's acquire load
      index[slot].store(e.get(), std::memory_order_release);
      by_order[at] = std::move(e);
    }

    const std::size_t capacity;
    const std::unique_ptr<std::shared_ptr<const entry>[]> by_order;
    const std::unique_ptr<std::atomic<const entry*>[]> index;
    const std::size_t mask;
  };

 public:
  /// One immutable revision of the map.
  class table {
   public:
    table() : table(0, 0, std::make_shared<storage>(8)) {}
    table(std::uint64_t revision, std::size_t size,
          std::shared_ptr<storage> s) noexcept
        : revision_(revision),
          size_(size),
          index_(s->index.get()),
          mask_(s->mask),
          by_order_(s->by_order.get()),
          storage_(std::move(s)) {}

    std::uint64_t revision() const noexcept { return revision_; }
    std::size_t size() const noexcept { return size_; }

    /// The entry named `name`, or nullptr.
    const entry* find(std::string_view name, std::size_t hash) const noexcept {
      for (std::size_t at = hash & mask_;; at = (at + 1) & mask_) {
        const entry* c = index_[at].load(std::memory_order_acquire);
        if (c == nullptr) return nullptr;
        if (c->revision <= revision_ && detail::same_name(c->name, name))
          return c;
      }
    }

    /// Entries in order: insertion order, unless arrange() set another.
    std::span<const std::shared_ptr<const entry>> entries() const noexcept {
      return {by_order_, size_};
    }

   private:
    friend class registry;
    std::uint64_t revision_;
    std::size_t size_;
    // Copied from the storage so that a lookup loads no extra pointer.
    const std::atomic<const entry*>* index_;
    std::size_t mask_;
    const std::shared_ptr<const entry>* by_order_;
    std::shared_ptr<storage> storage_;
  };

  using table_cell = publication_cell<table, Reclaimer>;

  /// One revision of the whole map, alive (with every value in it) while the
  /// view lives. Short-lived, one thread.
  class view {
   public:
    explicit view(const table_cell& tables) noexcept
        : table_(&tables.read_with(guard_)) {}
    view(const view&) = delete;
    view& operator=(const view&) = delete;
    const table& operator*() const noexcept { return *table_; }
    const table* operator->() const noexcept { return table_; }
    const table* get() const noexcept { return table_; }

   private:
    detail::registry_guard<Reclaimer> guard_;
    const table* table_;
  };

  /// A guarded lookup result: valid (and the value alive) while it lives.
  class found {
   public:
    explicit operator bool() const noexcept { return entry_ != nullptr; }
    V& operator*() const noexcept { return *entry_->value; }
    V* operator->() const noexcept { return entry_->value.get(); }
    V* get() const noexcept { return entry_ ? entry_->value.get() : nullptr; }
    std::uint64_t revision() const noexcept { return table_->revision(); }

   private:
    friend class registry;
    found(const table_cell& tables, std::string_view name,
          std::size_t hash) noexcept
        : table_(tables), entry_(table_->find(name, hash)) {}
    view table_;
    const entry* entry_;
  };

  registry() : tables_(std::in_place) {}

  // -- readers (any thread) ---------------------------------------------------

  found lookup(std::string_view name) const noexcept {
    return found{tables_, name, key_hash(name)};
  }

  /// lookup() with the name's key_hash() computed once by the caller.
  found lookup(std::string_view name, std::size_t hash) const noexcept {
    return found{tables_, name, hash};
  }

  /// The hash the registry files `name` under.
  static std::size_t key_hash(std::string_view name) noexcept {
    return static_cast<std::size_t>(detail::hash_name(name));
  }

  /// The value as an owning pointer (nullptr when absent); costs one
  /// reference-count increment on the value's control block.
  std::shared_ptr<V> find_shared(std::string_view name) const noexcept {
    view t{tables_};
    const entry* e = t->find(name, key_hash(name));
    return e ? e->value : nullptr;
  }

  /// Every entry at one revision.
  view snapshot() const noexcept { return view{tables_}; }

  std::uint64_t revision() const noexcept {
    return view {
      tables_
      } -> revision();
  }

  /// Entry pointers copied into a fresh storage so far (growth and erase);
  /// for tests and metrics: N single inserts copy fewer than 2N.
  std::uint64_t entries_copied() const noexcept {
    return entries_copied_.load(std::memory_order_relaxed);
  }

  // -- writers (any thread, serialized) ---------------------------------------

  /// Adds `name`; false (and no change) if the name is taken.
  bool insert(std::string name, std::shared_ptr<V> value) {
    std::vector<std::pair<std::string, std::shared_ptr<V>>> one;
    one.emplace_back(std::move(name), std::move(value));
    return insert_all(std::move(one));
  }

  /// Adds every pair in one revision, or none if a name is taken or repeated.
  bool insert_all(
      std::vector<std::pair<std::string, std::shared_ptr<V>>> items) {
    std::lock_guard lock{write_mutex_};
    const table& now = tables_.current_unsafe();
    for (const auto& item : items)
      if (now.find(item.first, key_hash(item.first)) != nullptr) return false;
    if (items.size() > 1) {
      std::unordered_set<std::string_view> seen;
      for (const auto& item : items)
        if (!seen.insert(item.first).second) return false;
    }
    const std::uint64_t revision = now.revision() + 1;
    const std::size_t size = now.size() + items.size();
    std::shared_ptr<storage> s = now.storage_;
    if (size > s->capacity) s = copy_into_new_storage(now, nullptr, size);
    for (std::size_t i = 0; i < items.size(); ++i)
      s->append(now.size() + i, std::make_shared<const entry>(entry{
                                    std::move(items[i].first),
                                    std::move(items[i].second), revision}));
    tables_.emplace(revision, size, std::move(s));
    return true;
  }

  /// Removes `name` and returns its value (nullptr if absent). Readers that
  /// still hold the old table keep the value alive until they finish.
  std::shared_ptr<V> erase(std::string_view name) {
    std::unique_lock lock{write_mutex_};
    const table& now = tables_.current_unsafe();
    const entry* victim = now.find(name, key_hash(name));
    if (victim == nullptr) return nullptr;
    std::shared_ptr<V> value = victim->value;
    auto s = copy_into_new_storage(now, victim, now.size() - 1);
    tables_.emplace(now.revision() + 1, now.size() - 1, std::move(s));
    lock.unlock();
    reclaim_erased();
    return value;
  }

  /// Puts the entries named in `order` first, in that order, and the
  /// others after them in their present order, in one revision (names not
  /// in the map are ignored, a repeated one counts once). The names and
  /// values are unchanged: only entries() of the new revision differs.
  /// False (and no new revision) when no entry moves.
  bool arrange(std::span<const std::string_view> order) {
    std::lock_guard lock{write_mutex_};
    const table& now = tables_.current_unsafe();
    const auto current = now.entries();
    std::unordered_map<const entry*, std::size_t> position;
    for (std::size_t i = 0; i < current.size(); ++i)
      position.emplace(current[i].get(), i);
    std::vector<std::size_t> arranged;
    arranged.reserve(current.size());
    std::vector<bool> placed(current.size(), false);
    for (const std::string_view name : order) {
      const entry* e = now.find(name, key_hash(name));
      if (e == nullptr) continue;
      const std::size_t at = position.at(e);
      if (placed[at]) continue;
      placed[at] = true;
      arranged.push_back(at);
    }
    for (std::size_t i = 0; i < current.size(); ++i)
      if (!placed[i]) arranged.push_back(i);
    if (std::is_sorted(arranged.begin(), arranged.end())) return false;
    auto s = new_storage(current.size());
    for (std::size_t k = 0; k < arranged.size(); ++k)
      s->append(k, current[arranged[k]]);
    count_copied(arranged.size());
    tables_.emplace(now.revision() + 1, now.size(), std::move(s));
    return true;
  }

  // -- internals --------------------------------------------------------------

 private:
  // A storage for at least `needed` entries (twice that, so appends have
  // room) holding every entry of `now` but `skip`, in order.
  std::shared_ptr<storage> copy_into_new_storage(const table& now,
                                                 const entry* skip,
                                                 std::size_t needed) {
    auto s = new_storage(needed);
    std::size_t at = 0;
    for (const auto& e : now.entries())
      if (e.get() != skip) s->append(at++, e);
    count_copied(at);
    return s;
  }

  // An empty storage for at least `needed` entries: the next power of two,
  // so a storage that fills up is replaced by one twice its size (appends
  // stay O(1) amortised) and holds between 1/2 and all of its capacity
  // (its index between 1/4 and 1/2 of its slots).
  static std::shared_ptr<storage> new_storage(std::size_t needed) {
    std::size_t capacity = 8;
    while (capacity < needed) capacity *= 2;
    return std::make_shared<storage>(capacity);
  }

  // Writer only, under the mutex.
  void count_copied(std::size_t entries) noexcept {
    entries_copied_.store(
        entries_copied_.load(std::memory_order_relaxed) + entries,
        std::memory_order_relaxed);
  }

  // Erased values live on in old tables until a scan frees them; erase is
  // O(n) already, so one pass now costs little and frees them promptly.
  static void reclaim_erased() noexcept {
    if constexpr (std::is_same_v<Reclaimer, hazard_pointer_reclaimer>)
      Reclaimer::reclaim_now();
  }

  table_cell tables_;
  std::mutex write_mutex_;
  std::atomic<std::uint64_t> entries_copied_{0};
};

}  // namespace vitrine::core
