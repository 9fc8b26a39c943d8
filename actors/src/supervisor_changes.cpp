// The supervisor actor's child changes from handles (OTP's start_child,
// terminate_child and delete_child; see supervisor_handle.hpp): each is one
// operation that survives stops.
#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "atoms.hpp"
#include "spec_names.hpp"
#include "supervisor_actor_impl.hpp"

namespace vitrine::detail {

operation supervisor_actor::change_children(
    std::shared_ptr<change_request> request) {
  operation op;
  op.survives_stop = true;
  op.begin = [this, request](std::vector<step>& steps) {
    build_children_once();  // a change before the first start: in order
    switch (request->kind) {
      case change_kind::add:
        return begin_add(request, steps);
      case change_kind::remove:
        return begin_remove(request, steps);
      case change_kind::replace:
        return begin_replace(request, steps);
    }
  };
  op.done = [request](bool) {
    request->completion->result().complete(change_outcome::done, {},
                                           request->added_process,
                                           request->added_supervisor);
  };
  return op;
}

void supervisor_actor::refuse(change_request& request, change_outcome outcome,
                              std::string why) {
  request.completion->result().complete(outcome, std::move(why));
}

void supervisor_actor::begin_add(const std::shared_ptr<change_request>& request,
                                 std::vector<step>& steps) {
  if (!place_child(*request)) return;
  publish(current_.status);  // the child count changed
  push_start_or_stop(steps, children_.size() - 1);
}

void supervisor_actor::begin_remove(
    const std::shared_ptr<change_request>& request, std::vector<step>& steps) {
  remove_then(request, steps, [](std::size_t) { return true; });
}

void supervisor_actor::begin_replace(
    const std::shared_ptr<change_request>& request, std::vector<step>& steps) {
  const auto put_in_place = [this, request](std::size_t at) {
    const bool placed = place_child(*request);  // at the end
    if (placed)
      std::rotate(children_.begin() + static_cast<std::ptrdiff_t>(at),
                  children_.end() - 1, children_.end());
    return placed;
  };
  const std::size_t i = remove_then(request, steps, put_in_place);
  if (i < children_.size()) push_start_or_stop(steps, i);
}

template <class Then>
std::size_t supervisor_actor::remove_then(
    const std::shared_ptr<change_request>& request, std::vector<step>& steps,
    Then then) {
  const std::size_t i = index_of(request->name);
  if (i == children_.size()) {
    refuse(*request, change_outcome::unknown_name, no_child(request->name));
    return i;
  }
  steps.push_back({step::kind::remove, i});
  steps.push_back({step::kind::invoke, i, {}, [this, i, then] {
                     children_.erase(children_.begin() +
                                     static_cast<std::ptrdiff_t>(i));
                     const bool go_on = then(i);
                     publish(current_.status);  // the child count changed
                     return go_on;
                   }});
  return i;
}

std::string supervisor_actor::no_child(const std::string& name) const {
  return "supervisor '" + *record_->name + "' has no child named '" + name +
         "'";
}

bool supervisor_actor::place_child(change_request& request) {
  auto& spec = *request.spec;
  const std::string name = child_name(spec);
  std::string taken;
  if (index_of(name) < children_.size())
    taken = "supervisor '" + *record_->name + "' already has a child named '" +
            name + "'";
  if (taken.empty()) {
    // Claimed until registered (add_process, add_supervisor and the new
    // supervisor's build end the claims), so that a runtime::supervise()
    // of the same name meanwhile is refused, not dropped.
    auto names = process_names(spec);
    for (auto& n : supervisor_names(spec)) names.push_back(std::move(n));
    if (auto problems = context_.claim_names(names); !problems.empty())
      taken = std::move(problems.front().second);
  }
  if (taken.empty()) {
    if (auto* p = std::get_if<process_spec>(&spec)) {
      request.added_process = add_process(std::move(*p));
      if (!request.added_process)  // registered meanwhile by another
        taken = "a process named '" + name + "' is already supervised";
    } else {
      request.added_supervisor =
          add_supervisor(std::move(std::get<supervisor_spec>(spec)));
      if (!request.added_supervisor)  // registered meanwhile by another
        taken = "a supervisor named '" + name + "' already exists";
    }
  }
  if (taken.empty()) return true;
  refuse(request, change_outcome::name_taken, std::move(taken));
  return false;
}

void supervisor_actor::remove_child_tree(const child& c,
                                         std::function<void()> resume) {
  // Before the shutdown: a reader that sees a state of the shutdown sees
  // the mark too (process_handle::removed()).
  if (c.process) c.process->removed.store(true, std::memory_order_release);
  if (c.supervisor)
    c.supervisor->removed.store(true, std::memory_order_release);
  auto forget = [this, process = c.process, supervisor = c.supervisor, resume] {
    if (process) context_.forget_process(process);
    if (supervisor) context_.forget_supervisor(supervisor);
    resume();
  };
  auto req = c.is_supervisor()
                 ? request(c.actor, caf::infinite, shutdown_atom::value, true)
                 : request(c.actor, caf::infinite, shutdown_atom::value);
  req.then([forget](caf::ok_atom) { forget(); },
           [forget](caf::error&) { forget(); });
}

}  // namespace vitrine::detail
