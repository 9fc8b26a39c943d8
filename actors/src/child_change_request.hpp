// child_change_request: the message a supervisor_handle sends to change a
// running supervisor's children (add, remove, replace; see
// supervisor_handle.hpp), and the completion that guarantees its waiters an
// outcome. Internal to the actors/ library.
//
// Threads: built by the handle's thread, then owned by the supervisor
// actor. The completion is shared by the copies of the message and the
// operation that applies it; whoever drops the last reference without
// completing it (a message to a dead actor, an operation still queued when
// the supervisor quits) completes it with change_outcome::supervisor_gone.
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <optional>
#include <string>

#include "vitrine/child_change.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine::detail {

enum class change_kind : int { add, remove, replace };

class change_completion {
 public:
  explicit change_completion(std::shared_ptr<change_result> result)
      : result_(std::move(result)) {}
  ~change_completion() {
    result_->complete(change_outcome::supervisor_gone,
                      "the supervisor is gone (removed, or the runtime shut "
                      "down) before it applied the change");
  }
  change_completion(const change_completion&) = delete;
  change_completion& operator=(const change_completion&) = delete;

  change_result& result() const noexcept { return *result_; }

 private:
  std::shared_ptr<change_result> result_;
};

struct change_request {
  change_kind kind = change_kind::add;
  std::string name;                ///< the child (remove, replace)
  std::optional<child_spec> spec;  ///< add, replace
  std::shared_ptr<change_completion> completion;
  /// Set by the supervisor once it placed the new child (add, replace).
  std::shared_ptr<process_record> added_process{};
  std::shared_ptr<supervisor_record> added_supervisor{};
};

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vitrine::detail::change_request>)
