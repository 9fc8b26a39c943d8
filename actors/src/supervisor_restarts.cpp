// The supervisor actor's restarts: a child's exit report, the restart
// strategies (one_for_one, one_for_all, rest_for_one) under the restart
// intensity, and the escalation to the parent when it is exceeded.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "atoms.hpp"
#include "supervisor_actor_impl.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/restart_trace.hpp"

namespace vitrine::detail {

void supervisor_actor::on_child_event(std::size_t i, child_report report) {
  if (i >= children_.size()) return;
  if (!report.restart_wanted && !report.gave_up) return;
  auto& c = children_[i];
  if (report.version <= c.started_version) return;
  if (!active()) {
    // Not supervising (stopped or failed): nobody restarts it, so it
    // must not wait in backoff; a process stops there.
    if (report.restart_wanted && !c.is_supervisor())
      send(c.actor, deny_atom::value, report.version);
    return;
  }
  const auto now = clock::now();
  if (report.gave_up) {
    if (needs_every_child()) fail(i, report, now);
    return;  // one_for_one: it alone stays failed
  }
  if (!window_.admit(now)) return fail(i, report, now);
  ++restarts_;  // once per event, however many children it restarts
  // (a sibling's own restart_count counts its own exits only)
  const auto until = now + report.delay;
  switch (spec_.strategy) {
    case restart_strategy::one_for_one:
      publish(current_.status);  // the restart count changed
      send(c.actor, resume_atom::value);
      restart_trace::mark(restart_trace::point::granted);
      break;
    case restart_strategy::one_for_all:
      enqueue_operation(restart_from(0, i, until));
      break;
    case restart_strategy::rest_for_one:
      enqueue_operation(restart_from(i, i, until));
      break;
  }
}

void supervisor_actor::on_failed_start(std::size_t i, child_report report) {
  if (report.version <= children_[i].started_version) return;
  const auto now = clock::now();
  if (report.gave_up) {
    // The start's reply follows: under one_for_one the step goes on.
    if (needs_every_child()) fail(i, report, now);
    return;
  }
  if (!report.restart_wanted) return;  // ended on purpose; the reply follows
  // A retry of a failed start counts as a restart, as OTP's supervisor
  // counts each attempt to restart a child that fails to start.
  if (!window_.admit(now)) return fail(i, report, now);
  ++restarts_;
  publish(current_.status);  // the restart count changed
  auto& c = children_[i];
  if (!c.is_supervisor()) {
    // It waits in backoff with our start pending: the retry ends it.
    send(c.actor, resume_atom::value);
    return;
  }
  // A child supervisor failed within our start of it: start it again.
  // A parallel step waits for the answer it already has coming.
  if (queue_.front().steps[queue_.front().next - 1].what == step::kind::start)
    restart_step();
  else
    send(c.actor, resume_atom::value);
}

operation supervisor_actor::restart_from(std::size_t from, std::size_t exited,
                                         clock::time_point until) {
  operation op;
  op.begin = [this, from, exited, until](std::vector<step>& steps) {
    publish(supervisor_status::restarting);
    for (std::size_t j = children_.size(); j-- > from;)
      if (j != exited) steps.push_back({step::kind::stop, j});
    steps.push_back({step::kind::wait_until, exited, until});
    for (std::size_t j = from; j < children_.size(); ++j)
      if (!children_[j].temporary) steps.push_back({step::kind::start, j});
  };
  op.done = [this](bool completed) {
    if (completed) publish(supervisor_status::running);
  };
  return op;
}

void supervisor_actor::fail(std::size_t i, const child_report& report,
                            clock::time_point now) {
  auto failure = std::make_shared<core::supervisor_failure>();
  failure->child = children_[i].name();
  failure->exit = report.exit;
  failure->restarts_in_window = static_cast<std::uint32_t>(window_.counted());
  failure->intensity = spec_.intensity;
  failure->period = spec_.period;
  failure->at = now;
  failure->child_gave_up = report.gave_up;
  std::shared_ptr<const core::supervisor_failure> reason = failure;
  failing_ = true;
  operation op;
  op.is_stop = true;
  op.begin = [this, reason](std::vector<step>& steps) {
    publish(supervisor_status::shutting_down, reason);
    for (std::size_t j = children_.size(); j-- > 0;)
      steps.push_back({step::kind::stop, j});
  };
  op.done = [this, reason](bool) {
    publish(supervisor_status::failed);
    failing_ = false;
    if (parent_) {
      child_report up;
      // OTP: the supervisor ends with reason `shutdown`, which a transient
      // child's parent treats as normal.
      up.restart_wanted = spec_.restart == restart_policy::permanent;
      up.version = current_.version;
      up.exit = "failed: " + reason->describe();
      send(parent_, child_event_atom::value, std::move(up));
    }
    for (auto& [promise, before] : std::exchange(replies_after_failure_, {}))
      promise.deliver(before);
  };
  enqueue_operation(std::move(op));
}

}  // namespace vitrine::detail
