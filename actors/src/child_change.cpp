#include "vitrine/child_change.hpp"

#include "runtime_access.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine {

std::string_view to_string(change_outcome outcome) noexcept {
  switch (outcome) {
    case change_outcome::pending:
      return "pending";
    case change_outcome::done:
      return "done";
    case change_outcome::name_taken:
      return "name_taken";
    case change_outcome::unknown_name:
      return "unknown_name";
    case change_outcome::supervisor_gone:
      return "supervisor_gone";
  }
  return "?";
}

void detail::change_result::complete(change_outcome how, std::string text,
                                     std::shared_ptr<process_record> p,
                                     std::shared_ptr<supervisor_record> s) {
  {
    std::lock_guard lock{mutex};
    if (outcome != change_outcome::pending) return;
    outcome = how;
    error = std::move(text);
    process = std::move(p);
    supervisor = std::move(s);
  }
  applied.notify_all();
}

bool child_change::wait_until(clock::time_point deadline) const {
  if (!result_) return true;
  std::unique_lock lock{result_->mutex};
  return result_->applied.wait_until(lock, deadline, [&] {
    return result_->outcome != change_outcome::pending;
  });
}

change_outcome child_change::outcome() const {
  if (!result_) return change_outcome::supervisor_gone;
  std::lock_guard lock{result_->mutex};
  return result_->outcome;
}

std::string child_change::error() const {
  if (!result_) return "not sent";
  std::lock_guard lock{result_->mutex};
  return result_->error;
}

process_handle child_change::process() const {
  if (!result_) return {};
  std::lock_guard lock{result_->mutex};
  return detail::runtime_access::make_handle(
      result_->process,
      result_->reads ? *result_->reads : read_policy::hybrid());
}

supervisor_handle child_change::supervisor() const {
  if (!result_) return {};
  std::lock_guard lock{result_->mutex};
  return detail::runtime_access::make_handle(
      result_->supervisor,
      result_->reads ? *result_->reads : read_policy::hybrid());
}

}  // namespace vitrine
