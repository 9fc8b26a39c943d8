// The supervisor actor's operations: one sequence of child requests at a
// time (start, stop, restart, a change of its children), each step
// continued by its reply or timer through the mailbox, and how a stop
// cancels the others (supervisor_operation.hpp).
#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "atoms.hpp"
#include "supervisor_actor_impl.hpp"

namespace vitrine::detail {

using millis = std::chrono::milliseconds;

void supervisor_actor::enqueue_operation(operation op) {
  if (!op.is_stop && !op.survives_stop)
    op.cancel_with(context_.shutting_down, waker());
  if (op.is_stop) {
    // Said at once, before the replies this stop brings forward (below: a
    // cancelled operation's, or a kept change's that no longer waits for
    // its child to start): whoever gets one and reads us sees the stop.
    announce_shutdown();
    const bool front_kept = !queue_.empty() && (queue_.front().is_stop ||
                                                queue_.front().survives_stop);
    std::deque<operation> kept;
    std::vector<operation> cancelled;
    for (auto& queued : queue_) {
      if (queued.is_stop || queued.survives_stop)
        kept.push_back(std::move(queued));
      else
        cancelled.push_back(std::move(queued));
    }
    queue_ = std::move(kept);
    // Drops the replies the step of the front operation waits for: a
    // cancelled one's, or a kept change's wait for the child it started to
    // leave `starting` (its startsecs could hold the stop that long). That
    // change then completes, and the stop stops the child.
    if (!front_kept || waits_for_start()) {
      ++generation_;
      outstanding_ = 0;
    }
    for (auto& c : cancelled) {
      c.cancel.request_stop();
      if (c.done) c.done(false);
    }
  }
  queue_.push_back(std::move(op));
  pump();
}

void supervisor_actor::stop_restarts_of_children() {
  // A child waiting out its backoff, its restart granted, would be spawned
  // before its stop step comes (a sibling's stop can take stop_timeout):
  // stopped now. Messages to it stay in order, so a grant or hold sent
  // earlier is called off too (a child supervisor only ends its hold).
  for (const auto& c : children_)
    send(c.actor, deny_atom::value, std::uint64_t{0});
}

void supervisor_actor::announce_shutdown() {
  if (current_.status != supervisor_status::failed &&
      current_.status != supervisor_status::stopped &&
      current_.status != supervisor_status::shutting_down)
    publish(supervisor_status::shutting_down);
}

bool supervisor_actor::waits_for_start() const {
  if (queue_.empty() || outstanding_ == 0) return false;
  const auto& op = queue_.front();
  if (op.next == 0 || op.next > op.steps.size()) return false;
  const auto what = op.steps[op.next - 1].what;
  return what == step::kind::start || what == step::kind::start_parallel;
}

bool supervisor_actor::step_starts(std::size_t i) const {
  if (!waits_for_start()) return false;
  const auto& op = queue_.front();
  const auto& s = op.steps[op.next - 1];
  return s.what == step::kind::start_parallel || s.index == i;
}

void supervisor_actor::restart_step() {
  ++generation_;  // the reply the step waited for no longer counts
  outstanding_ = 0;
  --queue_.front().next;
  pump();
}

std::function<void()> supervisor_actor::waker() const {
  return [who = address()] {
    try {
      if (auto self = caf::actor_cast<caf::actor>(who))
        caf::anon_send(self, cancelled_atom::value);
    } catch (...) {  // cannot allocate the message: the step ends on its own
    }
  };
}

void supervisor_actor::on_cancelled() {
  // Before: a start cancelled by begin_shutdown() (or by its parent's
  // cancelled start) went on waiting for the child it was starting (its
  // startsecs), and supervise() with it.
  if (queue_.empty() || outstanding_ == 0) return;
  if (!queue_.front().cancel.stop_requested()) return;
  if (awaits_stop_in_place_of_start_) return;  // its reply still counts
  ++generation_;  // the reply (or timer) the step waited for no longer counts
  outstanding_ = 0;
  pump();
}

void supervisor_actor::pump() {
  if (pumping_) return;
  pumping_ = true;
  for (;;) {
    if (!queue_.empty()) {
      if (run_front()) break;
      continue;
    }
    if (deferred_.empty()) break;
    auto next = std::move(deferred_.front());
    deferred_.pop_front();
    on_child_event(index_of(next.from), std::move(next.report));
  }
  pumping_ = false;
}

bool supervisor_actor::run_front() {
  auto& op = queue_.front();
  if (!op.begun) {
    op.begun = true;
    if (op.begin) op.begin(op.steps);
  }
  // A step still waits for its reply (or timer): a pump() from another
  // message (a child's report, a newly queued operation) must not issue
  // the next step before it.
  if (outstanding_ > 0) return true;
  // Cancelled from outside (the parent's start, the runtime's shutdown).
  const auto cancelled = [&op] { return op.cancel.stop_requested(); };
  while (op.next < op.steps.size() && !op.aborted &&
         (!cancelled() || op.steps[op.next].stop_if_cancelled))
    if (issue(op.steps[op.next++], op.cancel.get_token())) {
      outstanding_ = std::max<std::size_t>(outstanding_, 1);
      return true;
    }
  auto done = std::move(op.done);
  const bool completed = !cancelled();
  queue_.pop_front();
  ++generation_;
  if (done) done(completed);
  return false;
}

void supervisor_actor::step_done(std::uint64_t generation) {
  if (generation != generation_) return;  // cancelled meanwhile
  if (outstanding_ > 0 && --outstanding_ > 0) return;
  pump();
}

bool supervisor_actor::issue(const step& s, const std::stop_token& cancel) {
  const std::uint64_t generation = generation_;
  auto resume = [this, generation] { step_done(generation); };
  std::size_t sent = 0;
  awaits_stop_in_place_of_start_ =
      s.stop_if_cancelled &&
      (s.what == step::kind::stop || cancel.stop_requested());
  // autostart keeps a child out of the start that adds it: once our first
  // start has begun, that is this add's, which only stops the child, so
  // our next start, a later one, starts it as every child (before, it
  // skipped an `autostart = false` child added while we were stopped:
  // `vitrine run`'s reload into a stopped tree, then `ctl start`, left a
  // changed program stopped).
  if (awaits_stop_in_place_of_start_ && start_begun_)
    children_[s.index].autostart = true;
  switch (s.what) {
    case step::kind::start:
      if (awaits_stop_in_place_of_start_)
        sent = request_stop(s.index, false, resume);
      else if (request_start(s.index, s.fresh, cancel, resume))
        sent = 1;
      break;
    case step::kind::start_parallel:
      for (std::size_t i = 0; i < children_.size(); ++i)
        if (request_start(i, s.fresh, cancel, resume)) ++sent;
      break;
    case step::kind::stop:
    case step::kind::shutdown:
      sent = request_stop(s.index, s.what == step::kind::shutdown, resume);
      break;
    case step::kind::remove:
      remove_child_tree(children_[s.index], resume);
      sent = 1;
      break;
    case step::kind::invoke:
      if (!s.action()) queue_.front().aborted = true;
      break;
    case step::kind::wait_until: {
      const auto left = std::chrono::ceil<millis>(s.until - clock::now());
      if (left.count() <= 0) break;
      delayed_send(this, left, plan_timer_atom::value, generation);
      sent = 1;
      break;
    }
  }
  outstanding_ = sent;
  return sent > 0;
}

template <class Resume>
std::size_t supervisor_actor::request_stop(std::size_t i, bool and_quit,
                                           Resume resume) {
  auto& target = children_[i].actor;
  // Not to be started again by us until our next start: a process
  // started by hand meanwhile runs unsupervised. (A group restart
  // stops children it starts again, or leaves stopped while running.)
  const bool resting = stopping() ||
                       current_.status == supervisor_status::stopped ||
                       current_.status == supervisor_status::failed;
  auto req = and_quit
                 ? request(target, caf::infinite, shutdown_atom::value)
                 : request(target, caf::infinite, stop_atom::value, resting);
  req.then([resume](caf::ok_atom) { resume(); },
           [resume](caf::error&) { resume(); });
  return 1;
}

template <class Resume>
bool supervisor_actor::request_start(std::size_t i, bool fresh,
                                     const std::stop_token& cancel,
                                     Resume resume) {
  auto& c = children_[i];
  if (!c.autostart) {
    c.autostart = true;
    return false;
  }
  auto handle_reply = [&](auto pending) {
    std::move(pending).then(
        // By actor: a late reply (its start was cancelled) may arrive
        // after a removal shifted the indices.
        [this, target = c.actor, resume](std::uint64_t version) {
          if (auto j = index_of(target); j < children_.size())
            children_[j].started_version = version;
          resume();
        },
        [resume](caf::error&) { resume(); });
  };
  if (c.is_supervisor())
    handle_reply(request(c.actor, caf::infinite, start_atom::value, cancel));
  else
    handle_reply(request(c.actor, caf::infinite, start_atom::value, fresh,
                         needs_every_child(), cancel));
  return true;
}

caf::result<std::uint64_t> supervisor_actor::start_with_reply(
    const std::stop_token& cancel) {
  held_ = false;
  // A handle's start held until now is applied by this start: its ticket
  // goes with the states it publishes (or with this one, if cancelled).
  const bool ticket_was_held = held_ticket_ != 0;
  applied_ticket_ = std::max(applied_ticket_, std::exchange(held_ticket_, 0));
  // A stop from a handle while the parent's restart held us: we stay
  // stopped, as if that command had come after this start.
  if (std::exchange(skip_held_start_, false)) return current_.version;
  const std::uint64_t version_before = current_.version;
  const auto show_ticket = [this, ticket_was_held, version_before] {
    if (ticket_was_held && current_.version == version_before)
      publish(current_.status);
  };
  auto promise = make_response_promise<std::uint64_t>();
  if (!start_begun_ &&
      (cancel.stop_requested() || context_.shutting_down.stop_requested())) {
    // Never started, and this start is cancelled already (a tree added by
    // a change while the runtime's shutdown begins): stopped, its children
    // listed, stopped, as a stopped parent leaves a tree it adds. Before,
    // it read `starting` until the shutdown stopped it.
    enqueue_operation(
        stop_all(false, [promise, before = current_.version](bool) mutable {
          promise.deliver(before);
        }));
    show_ticket();
    return promise;
  }
  auto op = start_all([this, promise, before = current_.version](bool) mutable {
    // Failed while starting: answered once the parent has our report, so
    // that it acts on the failure before it goes on with its own start.
    if (failing_)
      replies_after_failure_.push_back({std::move(promise), before});
    else
      promise.deliver(before);
  });
  op.cancel_with(cancel, waker());
  enqueue_operation(std::move(op));
  show_ticket();
  return promise;
}

caf::result<caf::ok_atom> supervisor_actor::stop_with_reply(bool quit_after,
                                                            bool forget) {
  auto promise = make_response_promise<caf::ok_atom>();
  enqueue_operation(stop_all(
      quit_after,
      [promise](bool) mutable { promise.deliver(caf::ok_atom::value); },
      forget));
  return promise;
}

operation supervisor_actor::start_all(done_fn done) {
  operation op;
  op.begin = [this](std::vector<step>& steps) {
    build_children_once();
    start_begun_ = true;
    window_.clear();
    publish(supervisor_status::starting);
    if (spec_.parallel_start && children_.size() > 1) {
      steps.push_back({.what = step::kind::start_parallel, .fresh = true});
      return;
    }
    for (std::size_t i = 0; i < children_.size(); ++i) {
      // Held until its turn: a handle's stop meanwhile keeps it stopped
      // (the turn skips it), a start or restart waits for the turn.
      if (children_[i].autostart)
        send(children_[i].actor, hold_atom::value, false);
      steps.push_back({.what = step::kind::start, .index = i, .fresh = true});
    }
  };
  op.done = [this, done = std::move(done)](bool completed) {
    if (completed) publish(supervisor_status::running);
    done(completed);
  };
  return op;
}

operation supervisor_actor::start_child(caf::actor which, done_fn done) {
  operation op;
  op.begin = [this, which = std::move(which)](std::vector<step>& steps) {
    publish(current_.status);  // the child count changed
    // By actor: a removal queued before this may have shifted it.
    const auto i = index_of(which);
    if (i == children_.size()) return;
    push_start_or_stop(steps, i);
  };
  op.done = std::move(done);
  return op;
}

void supervisor_actor::push_start_or_stop(std::vector<step>& steps,
                                          std::size_t i) {
  // Stopped or failed, we supervise nothing: the child is only stopped (a
  // tree lists its children, stopped; before, a tree added to a stopped
  // supervisor read `starting`, its children not even added) and starts
  // with our next start. Cancelled (the runtime's shutdown began, maybe
  // while this waited behind another start), it is only stopped too.
  steps.push_back({.what = active() ? step::kind::start : step::kind::stop,
                   .index = i,
                   .stop_if_cancelled = true});
}

operation supervisor_actor::stop_all(bool quit_after, done_fn done,
                                     bool forget) {
  operation op;
  op.is_stop = true;
  op.begin = [this, quit_after, forget](std::vector<step>& steps) {
    // Stopped before its first start: its children are listed, stopped,
    // like any stopped tree's (a tree that goes away needs none).
    if (!quit_after && !forget) build_children_once();
    was_failed_ = current_.status == supervisor_status::failed;
    // A failed supervisor has stopped its children already: it stays
    // `failed` throughout instead of announcing a shutdown and its
    // failure again (the stop steps below find nothing running).
    announce_shutdown();
    stop_restarts_of_children();
    const auto how = forget       ? step::kind::remove
                     : quit_after ? step::kind::shutdown
                                  : step::kind::stop;
    for (std::size_t i = children_.size(); i-- > 0;) steps.push_back({how, i});
  };
  op.done = [this, quit_after, done = std::move(done)](bool completed) {
    // A failed supervisor that is stopped stays failed (with its reason)
    // until a start; anything else is now stopped.
    if (!was_failed_) publish(supervisor_status::stopped);
    done(completed);
    if (quit_after) {
      deferred_.clear();
      quit();
    }
  };
  return op;
}

}  // namespace vitrine::detail
