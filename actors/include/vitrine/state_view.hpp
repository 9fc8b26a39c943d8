// state_view<T>: a state read through a handle, for processes
// (state_view<core::process_state>) and supervisors
// (state_view<core::supervisor_state>) alike. It guards a snapshot that stays
// alive and unchanged while the view lives: a published one (hybrid reads)
// or a copy a baseline asked for (see read_policy.hpp), published in a cell
// of the reading thread.
//
// Threads: a view belongs to the thread that made it (it pins a hazard slot
// of that thread); keep it short-lived. Any number of views may be alive at
// once on one thread. Views are movable on that thread (the slot moves with
// the view; a moved-from view must not be dereferenced) and not copyable.
// Cost: making one is the cell's read() (no lock, no allocation): the view
// is the guard's two words and a pointer, and its destructor the guard's
// release; a move, a few word copies. (Asking a baseline for a copy costs
// its round trip and one allocation: the copy becomes a snapshot node.)
#pragma once

#include <utility>

#include "vitrine/core/publication_cell.hpp"

namespace vitrine {

template <class T>
class state_view {
  using cell_type = core::publication_cell<T>;

 public:
  using value_type = T;

  /// Guards the snapshot `cell` holds now.
  explicit state_view(const cell_type& cell) noexcept
      : value_(&cell.read_with(guard_)) {}
  state_view(const state_view&) = delete;
  state_view& operator=(const state_view&) = delete;
  state_view(state_view&& other) noexcept
      : guard_(std::move(other.guard_)),
        value_(std::exchange(other.value_, nullptr)) {}
  state_view& operator=(state_view&& other) noexcept {
    if (this != &other) {
      guard_ = std::move(other.guard_);
      value_ = std::exchange(other.value_, nullptr);
    }
    return *this;
  }

  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_; }
  const T* get() const noexcept { return value_; }

 private:
  typename cell_type::reclaimer_type::guard guard_;
  const T* value_ = nullptr;
};

}  // namespace vitrine
