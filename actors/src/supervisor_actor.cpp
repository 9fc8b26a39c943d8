// The supervisor actor: its messages, its published state, and how it
// builds its children (supervisor_actor_impl.hpp has the class).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "atoms.hpp"
#include "command_port.hpp"
#include "process_actor.hpp"
#include "supervisor_actor_impl.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/restart_trace.hpp"

namespace vitrine::detail {

using millis = std::chrono::milliseconds;

supervisor_actor::supervisor_actor(caf::actor_config& config,
                                   std::shared_ptr<supervisor_record> record,
                                   supervisor_spec spec,
                                   const runtime_context& context,
                                   caf::actor parent)
    : caf::event_based_actor(config),
      record_(std::move(record)),
      spec_(std::move(spec)),
      context_(context),
      parent_(std::move(parent)),
      window_(spec_.intensity, spec_.period),
      current_(record_->state.current_unsafe()) {
  // Its child count is right from the first state on.
  if (!spec_.children.empty()) {
    current_.child_count = static_cast<std::uint32_t>(spec_.children.size());
    current_.version += 1;
    if (context_.reads->reads_published()) record_->state.publish(current_);
  }
}

caf::behavior supervisor_actor::make_behavior() {
  return {
      // Replies, once every child was started, with the state version from
      // before the start (see on_child_event for how parents use it).
      [this](start_atom, const std::stop_token& cancel) {
        return start_with_reply(cancel);
      },
      // A restart ordered by the parent with send(): no reply (a promise
      // here delivered a stray reply to the parent: "unexpected message").
      [this](resume_atom) { enqueue_operation(start_all([](bool) {})); },
      // (A supervisor's children follow their own start and stop.)
      [this](stop_atom, bool /*parent_resting*/) {
        return stop_with_reply(false);
      },
      [this](shutdown_atom) { return stop_with_reply(true); },
      // Removed by its parent: also forget every process and supervisor
      // of this tree.
      [this](shutdown_atom, bool forget) {
        return stop_with_reply(true, forget);
      },
      [this](change_atom, std::shared_ptr<change_request>& request) {
        enqueue_operation(change_children(std::move(request)));
      },
      [this](command_atom, std::uint64_t ticket, int kind) {
        on_command(ticket, kind);
      },
      // The parent's group restart, or its start of every child, will
      // start us in our turn; ends with that start, or a deny 0 (the
      // parent stops: nothing starts us).
      [this](hold_atom, bool) {
        held_ = true;
        skip_held_start_ = false;
      },
      [this](deny_atom, std::uint64_t) {
        held_ = skip_held_start_ = false;
        // A start held for us is settled by the parent's stop.
        if (held_ticket_ != 0) {
          applied_ticket_ =
              std::max(applied_ticket_, std::exchange(held_ticket_, 0));
          publish(current_.status);
        }
      },
      [this](intensity_atom, std::uint64_t ticket, unsigned intensity,
             std::int64_t period_ms) {
        applied_ticket_ = std::max(applied_ticket_, ticket);
        spec_.intensity = intensity;
        spec_.period = millis{period_ms};
        window_.set_limit(intensity, spec_.period);
        publish(current_.status);  // the ticket is visible now
      },
      [this](add_child_atom, process_spec& spec)
          -> caf::result<std::shared_ptr<process_record>> {
        auto record = add_process(std::move(spec));
        if (!record) return caf::sec::invalid_argument;
        auto promise = make_response_promise<std::shared_ptr<process_record>>();
        enqueue_operation(start_child(
            children_.back().actor,
            [promise, record](bool) mutable { promise.deliver(record); }));
        return promise;
      },
      [this](add_child_atom, supervisor_spec& spec)
          -> caf::result<std::shared_ptr<supervisor_record>> {
        auto record = add_supervisor(std::move(spec));
        if (!record) return caf::sec::invalid_argument;
        auto promise =
            make_response_promise<std::shared_ptr<supervisor_record>>();
        enqueue_operation(start_child(
            children_.back().actor,
            [promise, record](bool) mutable { promise.deliver(record); }));
        return promise;
      },
      [this](child_event_atom, child_report& report) {
        restart_trace::mark(restart_trace::point::report_received);
        auto sender = caf::actor_cast<caf::actor>(current_sender());
        const auto i = index_of(sender);
        if (i == children_.size()) return;
        // From a child the running step is starting: a failed start, for
        // this step to act on now (the step waits for the child to run).
        if (step_starts(i)) return on_failed_start(i, std::move(report));
        if (supersedes_restart(i, report)) return take_over_restart(i, report);
        if (restarts_beside_operation(i, report))
          return on_child_event(i, std::move(report));
        // While stopping, nothing is restarted: the child is stopped in
        // its backoff at once, not at its stop step.
        if (stopping()) {
          if (report.restart_wanted && !children_[i].is_supervisor())
            send(children_[i].actor, deny_atom::value, std::uint64_t{0});
          return;
        }
        deferred_.push_back({std::move(sender), std::move(report)});
        pump();
      },
      [this](plan_timer_atom, std::uint64_t generation) {
        step_done(generation);
      },
      [this](cancelled_atom) { on_cancelled(); },
      [this](republish_atom) {
        if (context_.status_table) context_.status_table->publish(current_);
        for (const auto& c : children_) send(c.actor, republish_atom::value);
      },
      [this](subscribe_atom, caf::actor& who) {
        subscribers_.add(std::move(who));
      },
      [this](unsubscribe_atom, const caf::actor& who) {
        subscribers_.remove(who);
      },
      [this](caf::get_atom) { return current_; },
  };
}

void supervisor_actor::on_command(std::uint64_t ticket, int kind) {
  const bool stop = static_cast<command_kind>(kind) == command_kind::stop;
  // Held by the parent's group restart, the latest command says whether
  // that restart's start of us, in spec order, is carried out: a start now
  // would run our children ahead of the siblings they depend on.
  if (held_) {
    skip_held_start_ = stop;
    if (!stop) {
      // Applied by that start (start_with_reply): its ticket shows then.
      held_ticket_ = std::max(held_ticket_, ticket);
      return;
    }
  }
  // A stopped or failed supervisor keeps its status through a stop
  // (announce_shutdown()), so its waiters cannot tell the stop from its
  // effect: the ticket shows once the stop's steps are done (a child
  // started by its own command since is stopped by then).
  if (stop && (current_.status == supervisor_status::stopped ||
               current_.status == supervisor_status::failed)) {
    enqueue_operation(stop_all(false, [this, ticket](bool) {
      applied_ticket_ = std::max(applied_ticket_, ticket);
      publish(current_.status);
    }));
    return;
  }
  applied_ticket_ = std::max(applied_ticket_, ticket);
  const std::uint64_t before = current_.version;
  if (stop)
    enqueue_operation(stop_all(false, [](bool) {}));
  else if (!held_)
    enqueue_operation(start_all([](bool) {}));
  // Queued behind another operation: the ticket is visible now.
  if (current_.version == before) publish(current_.status);
}

void supervisor_actor::on_exit() {
  // A policy that asks read the record once the actor is gone.
  if (!context_.reads->reads_published() &&
      record_->state.current_unsafe().version != current_.version)
    record_->state.publish(current_);
  record_->state.close();  // waits on its handles end now
  record_->port.store(nullptr);
  // Gone before it built its children: their names stay claimed no more.
  if (!built_)
    for (const auto& c : spec_.children) context_.release_tree_names(c);
  parent_ = nullptr;
  children_.clear();
  subscribers_.clear();
  queue_.clear();
}

std::size_t supervisor_actor::index_of(const caf::actor& who) const {
  std::size_t i = 0;
  while (i < children_.size() && children_[i].actor != who) ++i;
  return i;
}

std::size_t supervisor_actor::index_of(const std::string& name) const {
  std::size_t i = 0;
  while (i < children_.size() && children_[i].name() != name) ++i;
  return i;
}

void supervisor_actor::publish(
    supervisor_status status,
    std::shared_ptr<const core::supervisor_failure> failure) {
  auto next = current_;
  next.version = current_.version + 1;
  next.status = status;
  next.child_count = static_cast<std::uint32_t>(children_.size());
  next.restarts = restarts_;
  next.applied_command = applied_ticket_;
  if (failure) next.last_failure = std::move(failure);
  // A transition is a new status or a restart acted on; a child added or a
  // command applied changes the snapshot, not the history.
  if (!current_.history || status != current_.status ||
      restarts_ != current_.restarts) {
    auto history = std::make_shared<core::supervisor_history>(
        current_.history ? *current_.history : core::supervisor_history{});
    const std::uint64_t number =
        history->empty() ? 1 : (*history)[history->size() - 1].number + 1;
    history->push(
        {next.version, next.status, next.restarts, clock::now(), number});
    next.history = std::move(history);
  }
  current_ = next;
  if (context_.reads->reads_published())
    record_->state.publish(std::move(next));
  if (context_.status_table) context_.status_table->publish(current_);
  context_.published();
  for (const auto& s : subscribers_)
    send(s, supervisor_changed_atom::value, current_);
}

std::shared_ptr<process_record> supervisor_actor::make_process(
    process_spec spec) {
  auto name = std::make_shared<const std::string>(spec.name);
  auto record = std::make_shared<process_record>(
      name, context_.reads->reads_published()
                ? process_record::publishing::as_it_runs
                : process_record::publishing::only_last_state);
  // A slot from the start: a process that never starts has one too.
  if (context_.status_table)
    context_.status_table->publish(process_record::initial_state(name));
  const bool autostart = spec.autostart;
  const bool temporary = spec.restart == restart_policy::temporary;
  auto actor = spawn_process_actor(home_system(), record, std::move(spec),
                                   context_, caf::actor_cast<caf::actor>(this));
  record->port.store(
      std::make_shared<command_port>(actor, context_.shutting_down));
  children_.push_back({.actor = std::move(actor),
                       .autostart = autostart,
                       .temporary = temporary,
                       .process = record});
  return record;
}

std::shared_ptr<process_record> supervisor_actor::add_process(
    process_spec spec) {
  // Its name is claimed (runtime::supervise or place_child): registered
  // here, or never (a defence: a claimed name is not registered), the
  // claim ends here.
  const std::string name = spec.name;
  std::shared_ptr<process_record> record;
  if (!context_.registry.find_shared(name)) {
    record = make_process(std::move(spec));
    if (!context_.register_process(name, record)) {
      drop_unregistered(std::prev(children_.end()));
      record = nullptr;
    }
  }
  context_.release_name(name);
  return record;
}

void supervisor_actor::drop_unregistered(std::vector<child>::iterator it) {
  // The record's port holds the actor and the actor the record: without
  // the reset the two would keep each other alive once the actor quits.
  it->process->port.store(nullptr);
  anon_send_exit(it->actor, caf::exit_reason::kill);
  children_.erase(it);
}

std::shared_ptr<supervisor_record> supervisor_actor::add_supervisor(
    supervisor_spec spec) {
  auto record = std::make_shared<supervisor_record>(
      std::make_shared<const std::string>(spec.name));
  const bool temporary = spec.restart == restart_policy::temporary;
  // Its names are claimed, its own and its tree's: its own is registered
  // now; its children's when it builds them (or go with it).
  if (!context_.supervisors.insert(*record->name, record)) {
    context_.release_tree_names(spec);
    return nullptr;
  }
  context_.release_name(*record->name);
  auto actor =
      spawn_supervisor_actor(home_system(), record, std::move(spec), context_,
                             caf::actor_cast<caf::actor>(this));
  children_.push_back({.actor = std::move(actor),
                       .temporary = temporary,
                       .supervisor = record});
  return record;
}

void supervisor_actor::build_children_once() {
  if (built_) return;
  built_ = true;
  auto specs = std::move(spec_.children);
  children_.reserve(children_.size() + specs.size());
  std::vector<runtime_context::named_record> named;
  for (auto& c : specs) {
    if (auto* p = std::get_if<process_spec>(&c)) {
      std::string name = p->name;
      auto record = make_process(std::move(*p));
      named.emplace_back(std::move(name), std::move(record));
    } else {
      add_supervisor(std::move(std::get<supervisor_spec>(c)));
    }
  }
  // Their names were claimed for them when their tree was added, so no
  // other call registered one meanwhile. Should that fail anyway, one by
  // one, leaving out the children whose name is taken.
  if (!context_.register_processes(named)) {
    for (auto& [name, record] : named) {
      if (context_.register_process(name, record)) continue;
      const auto& mine = record;  // lambdas can't capture a binding
      drop_unregistered(
          std::find_if(children_.begin(), children_.end(),
                       [&](const child& c) { return c.process == mine; }));
    }
  }
  for (const auto& [name, record] : named) context_.release_name(name);
}

caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  std::shared_ptr<supervisor_record> record,
                                  supervisor_spec spec,
                                  const runtime_context& context,
                                  caf::actor parent) {
  auto actor = system.spawn<supervisor_actor>(record, std::move(spec), context,
                                              std::move(parent));
  record->port.store(
      std::make_shared<command_port>(actor, context.shutting_down));
  return actor;
}

}  // namespace vitrine::detail
