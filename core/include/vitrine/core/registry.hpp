// registry<V>: a name -> std::shared_ptr<V> map with lock-free lookups and
// consistent whole-map views.
//
// The map is an immutable table (insertion-ordered entries plus an
// open-addressing index) published through a publication_cell; every change
// builds a new table and publishes it with a new revision number.
//
// Threads: lookup(), find_shared() and view() from any thread; they never
// lock, never allocate (find_shared bumps one reference count), and never
// wait for writers. insert(), insert_all() and erase() from any thread; they
// serialize among themselves on a mutex that readers never touch.
//
// Costs: lookup = one guard + one string hash + ~1 probe + one compare
// (~10 ns). A change copies the entry pointers of the whole table: O(n)
// reference-count bumps, so insert batches with insert_all() where possible.
// A lookup result or a view pins the table it came from; keep it short-lived.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vitrine/core/detail/string_hash.hpp"
#include "vitrine/core/publication_cell.hpp"

namespace vitrine::core {

template <class V, reclaimer Reclaimer = hazard_pointer_reclaimer>
class registry {
 public:
  struct entry {
    std::string name;
    std::size_t hash;
    std::shared_ptr<V> value;
  };

  /// One immutable revision of the map.
  class table {
   public:
    table() = default;
    table(std::uint64_t revision, std::vector<std::shared_ptr<const entry>> e)
        : revision_(revision), entries_(std::move(e)) {
      std::size_t capacity = 8;
      while (capacity < 2 * entries_.size()) capacity *= 2;
      index_.assign(capacity, nullptr);
      for (const auto& item : entries_) {
        std::size_t at = item->hash & (capacity - 1);
        while (index_[at] != nullptr) at = (at + 1) & (capacity - 1);
        index_[at] = item.get();
      }
    }

    std::uint64_t revision() const noexcept { return revision_; }
    std::size_t size() const noexcept { return entries_.size(); }

    /// The entry named `name`, or nullptr.
    const entry* find(std::string_view name, std::size_t hash) const noexcept {
      const std::size_t mask = index_.size() - 1;
      for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
        const entry* candidate = index_[at];
        if (candidate == nullptr) return nullptr;
        if (candidate->hash == hash && candidate->name == name)
          return candidate;
      }
    }

    /// Entries in insertion order.
    const std::vector<std::shared_ptr<const entry>>& entries() const noexcept {
      return entries_;
    }

   private:
    std::uint64_t revision_ = 0;
    std::vector<std::shared_ptr<const entry>> entries_;
    std::vector<const entry*> index_{8, nullptr};
  };

  using table_cell = publication_cell<table, Reclaimer>;
  using view = typename table_cell::snapshot;

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
    view t = tables_.read();
    const entry* e = t->find(name, key_hash(name));
    return e ? e->value : nullptr;
  }

  /// Every entry at one revision.
  view snapshot() const noexcept { return tables_.read(); }

  std::uint64_t revision() const noexcept { return tables_.read()->revision(); }

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
    std::vector<std::shared_ptr<const entry>> next = now.entries();
    next.reserve(next.size() + items.size());
    // Names repeated within the batch, in O(batch) (a scan per item made
    // a batch of N cost O(N^2)).
    std::unordered_set<std::string_view> batch;
    batch.reserve(items.size());
    for (const auto& item : items)
      if (!batch.insert(item.first).second) return false;
    for (auto& [name, value] : items) {
      const std::size_t hash = key_hash(name);
      if (now.find(name, hash) != nullptr) return false;
      next.push_back(std::make_shared<const entry>(
          entry{std::move(name), hash, std::move(value)}));
    }
    tables_.emplace(now.revision() + 1, std::move(next));
    reclaim_old_tables();
    return true;
  }

  /// Removes `name` and returns its value (nullptr if absent). Readers that
  /// still hold the old table keep the value alive until they finish.
  std::shared_ptr<V> erase(std::string_view name) {
    std::lock_guard lock{write_mutex_};
    const table& now = tables_.current_unsafe();
    const entry* victim = now.find(name, key_hash(name));
    if (victim == nullptr) return nullptr;
    std::vector<std::shared_ptr<const entry>> next;
    next.reserve(now.size() - 1);
    for (const auto& e : now.entries())
      if (e.get() != victim) next.push_back(e);
    std::shared_ptr<V> value = victim->value;
    tables_.emplace(now.revision() + 1, std::move(next));
    reclaim_old_tables();
    return value;
  }

  // -- internals --------------------------------------------------------------

 private:
  // A table is O(n) bytes: free old ones now rather than after a scan
  // threshold of them has piled up (writes are rare, a scan is a few us).
  static void reclaim_old_tables() noexcept {
    if constexpr (std::is_same_v<Reclaimer, hazard_pointer_reclaimer>)
      Reclaimer::reclaim_now();
  }

  table_cell tables_;
  std::mutex write_mutex_;
};

}  // namespace vitrine::core
