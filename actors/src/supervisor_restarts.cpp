// The supervisor actor's restarts: a child's exit report, the restart
// strategies (one_for_one, one_for_all, rest_for_one) under the restart
// intensity, and the escalation to the parent when it is exceeded.
#include <algorithm>
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
  if (!active() && !restarts_beside_operation(i, report)) {
    // Not supervising (stopped or failed): nobody restarts it, so it
    // must not wait in backoff; a process ends there, `exited`. Starting
    // or restarting with no operation left: one was cancelled from
    // outside (begin_shutdown, the parent's stop) and a stop follows: the
    // process is stopped in its backoff at once, as that stop would.
    const bool resting = current_.status == supervisor_status::stopped ||
                         current_.status == supervisor_status::failed;
    if (report.restart_wanted && !c.is_supervisor())
      send(c.actor, deny_atom::value,
           resting ? report.version : std::uint64_t{0});
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
      enqueue_operation(restart_from(0, {{i, 0, until}}));
      break;
    case restart_strategy::rest_for_one:
      enqueue_operation(restart_from(i, {{i, i, until}}));
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
  // Its retry waits out this delay: a restart that takes this operation
  // over (take_over_restart) keeps it.
  queue_.front().delays.push_back({i, i, now + report.delay});
  // A process waits in backoff (with our start pending under one_for_all
  // and rest_for_one: the retry ends it). A child supervisor failed within
  // our start of it: where later children depend on it, start it again
  // in this step; else (one_for_one, a parallel step) it restarts apart.
  const auto& step = queue_.front().steps[queue_.front().next - 1];
  if (children_[i].is_supervisor() && needs_every_child() &&
      step.what == step::kind::start)
    restart_step();
  else
    send(children_[i].actor, resume_atom::value);
}

bool supervisor_actor::restarts_beside_operation(
    std::size_t i, const child_report& report) const {
  if (spec_.strategy != restart_strategy::one_for_one ||
      !report.restart_wanted || queue_.empty())
    return false;
  const auto& op = queue_.front();
  if (!op.begun || op.is_stop || op.cancel.stop_requested()) return false;
  if (current_.status != supervisor_status::starting &&
      current_.status != supervisor_status::running)
    return false;
  // One past the intensity fails us: that waits for the operation, as an
  // OTP supervisor handles a child's exit once its init returned (a tree
  // reads `running` before `failed`).
  if (!window_.would_admit(clock::now())) return false;
  // From the step under way (next - 1) on; an invoke step may move
  // children, and a parallel start takes them all.
  for (auto k = op.next == 0 ? 0 : op.next - 1; k < op.steps.size(); ++k) {
    const auto& s = op.steps[k];
    if (s.what == step::kind::invoke || s.what == step::kind::start_parallel)
      return false;
    if (s.what != step::kind::wait_until && s.index == i) return false;
  }
  return true;
}

bool supervisor_actor::supersedes_restart(std::size_t i,
                                          const child_report& report) const {
  // Only a restart: a stop, a start or a change runs to its end, and the
  // report waits for it (deferred, or denied by a stop).
  return spec_.strategy == restart_strategy::rest_for_one &&
         report.restart_wanted && !queue_.empty() && queue_.front().begun &&
         queue_.front().restarts_from != operation::none &&
         i < queue_.front().restarts_from &&
         report.version > children_[i].started_version;
}

void supervisor_actor::take_over_restart(std::size_t i,
                                         const child_report& report) {
  const auto now = clock::now();
  if (!window_.admit(now)) return fail(i, report, now);  // cancels it
  ++restarts_;
  auto& running = queue_.front();
  std::vector<restart_delay> delays{{i, i, now + report.delay}};
  for (const auto& d : running.delays)
    if (d.until > now) delays.push_back(d);  // still in its backoff
  // Its replies and timer no longer count; starts it sent are skipped.
  running.cancel.request_stop();
  ++generation_;
  outstanding_ = 0;
  auto done = std::move(running.done);
  queue_.pop_front();
  if (done) done(false);
  auto op = restart_from(i, std::move(delays));
  op.cancel_with(context_.shutting_down, waker());
  queue_.push_front(std::move(op));
  pump();
}

operation supervisor_actor::restart_from(std::size_t from,
                                         std::vector<restart_delay> delays) {
  operation op;
  op.restarts_from = from;
  op.delays = delays;
  op.begin = [this, from, delays](std::vector<step>& steps) {
    publish(supervisor_status::restarting);
    // Each child this restart starts waits for its turn: a handle's
    // start or restart meanwhile would run it ahead of the children it
    // depends on (OTP serves restart_child after the restart).
    for (std::size_t j = from; j < children_.size(); ++j)
      if (const auto& c = children_[j]; !c.temporary && c.autostart)
        send(c.actor, hold_atom::value, true);
    auto exited = [&](std::size_t j) {
      return std::any_of(delays.begin(), delays.end(),
                         [j](const auto& d) { return d.exited == j; });
    };
    for (std::size_t j = children_.size(); j-- > from;)
      if (!exited(j)) steps.push_back({step::kind::stop, j});
    for (std::size_t j = from; j < children_.size(); ++j) {
      for (const auto& d : delays)
        if (d.first_start == j)
          steps.push_back({step::kind::wait_until, d.exited, d.until});
      if (!children_[j].temporary) steps.push_back({step::kind::start, j});
    }
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
  // Said at once, with the reason (enqueue_operation would say it without).
  publish(supervisor_status::shutting_down, reason);
  operation op;
  op.is_stop = true;
  op.begin = [this](std::vector<step>& steps) {
    stop_restarts_of_children();
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
