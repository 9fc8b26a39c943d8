// supervisor_handle: reads the published state of one supervisor.
//
// Threads: any; reads are lock-free guarded loads (see publication_cell.hpp).
#pragma once

#include <chrono>
#include <memory>

#include "vitrine/core/publication_cell.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine {
namespace detail {
struct supervisor_record {
  explicit supervisor_record(std::shared_ptr<const std::string> name)
      : state(std::in_place, core::supervisor_state{0, {}, 0, 0, name}),
        name(std::move(name)) {}
  core::publication_cell<core::supervisor_state> state;
  const std::shared_ptr<const std::string> name;
};
}  // namespace detail

class supervisor_handle {
 public:
  using clock = std::chrono::steady_clock;

  supervisor_handle() = default;
  explicit supervisor_handle(std::shared_ptr<detail::supervisor_record> r)
      : record_(std::move(r)) {}

  explicit operator bool() const noexcept { return record_ != nullptr; }
  std::string_view name() const noexcept { return *record_->name; }

  core::publication_cell<core::supervisor_state>::snapshot read()
      const noexcept {
    return record_->state.read();
  }

  /// Blocks until `pred(state)` holds or `deadline` passes (futex; never
  /// messages the supervisor).
  template <class Predicate>
  bool wait_until(Predicate pred, clock::time_point deadline) const {
    return record_->state.wait_until(pred, deadline);
  }
  bool wait_for_status(core::supervisor_status status,
                       clock::time_point deadline) const {
    return wait_until(
        [status](const core::supervisor_state& s) {
          return s.status == status;
        },
        deadline);
  }

 private:
  std::shared_ptr<detail::supervisor_record> record_;
};

}  // namespace vitrine
