// bounded_history: the last few entries of something, oldest first, in a
// fixed-capacity ring (process transitions, supervisor transitions).
//
// A plain value: written by one owner (an actor keeps one and publishes
// copies), read from any thread once published. Copy = Capacity entries;
// push() and indexing are O(1) and never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace vitrine::core {

template <class Entry, std::size_t Capacity>
class bounded_history {
  static_assert(Capacity > 0, "a history keeps at least one entry");

 public:
  using value_type = Entry;
  static constexpr std::size_t capacity = Capacity;

  /// Appends, dropping the oldest entry when full.
  void push(const Entry& e) noexcept {
    entries_[(first_ + size_) % capacity] = e;
    if (size_ < capacity)
      ++size_;
    else
      first_ = static_cast<std::uint32_t>((first_ + 1) % capacity);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// i = 0 is the oldest kept entry.
  const Entry& operator[](std::size_t i) const noexcept {
    return entries_[(first_ + i) % capacity];
  }

  /// Iterates oldest first (a random-access iterator over the ring).
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using pointer = const Entry*;
    using reference = const Entry&;

    const_iterator() = default;
    reference operator*() const noexcept { return (*history_)[index_]; }
    pointer operator->() const noexcept { return &**this; }
    reference operator[](difference_type n) const noexcept {
      return *(*this + n);
    }
    const_iterator& operator++() noexcept { return *this += 1; }
    const_iterator operator++(int) noexcept { return step(1); }
    const_iterator& operator--() noexcept { return *this -= 1; }
    const_iterator operator--(int) noexcept { return step(-1); }
    const_iterator& operator+=(difference_type n) noexcept {
      index_ =
          static_cast<std::size_t>(static_cast<difference_type>(index_) + n);
      return *this;
    }
    const_iterator& operator-=(difference_type n) noexcept {
      return *this += -n;
    }
    friend const_iterator operator+(const_iterator it,
                                    difference_type n) noexcept {
      return it += n;
    }
    friend const_iterator operator+(difference_type n,
                                    const_iterator it) noexcept {
      return it += n;
    }
    friend const_iterator operator-(const_iterator it,
                                    difference_type n) noexcept {
      return it -= n;
    }
    friend difference_type operator-(const const_iterator& a,
                                     const const_iterator& b) noexcept {
      return static_cast<difference_type>(a.index_) -
             static_cast<difference_type>(b.index_);
    }
    friend bool operator==(const const_iterator& a,
                           const const_iterator& b) noexcept {
      return a.index_ == b.index_;
    }
    friend auto operator<=>(const const_iterator& a,
                            const const_iterator& b) noexcept {
      return a.index_ <=> b.index_;
    }

   private:
    friend class bounded_history;
    const_iterator(const bounded_history* h, std::size_t i) noexcept
        : history_(h), index_(i) {}
    const_iterator step(difference_type n) noexcept {
      auto before = *this;
      *this += n;
      return before;
    }

    const bounded_history* history_ = nullptr;
    std::size_t index_ = 0;
  };

  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, size_}; }

 private:
  static_assert(Capacity <= UINT32_MAX, "positions are 32-bit");

  std::array<Entry, Capacity> entries_{};
  std::uint32_t first_ = 0;  // 32-bit: 8 bytes less in every snapshot
  std::uint32_t size_ = 0;
};

}  // namespace vitrine::core
