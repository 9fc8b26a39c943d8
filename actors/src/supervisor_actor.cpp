#include "supervisor_actor.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

#include "atoms.hpp"
#include "child_change_request.hpp"
#include "child_report.hpp"
#include "command_port.hpp"
#include "process_actor.hpp"
#include "spec_names.hpp"
#include "supervisor_operation.hpp"
#include "vitrine/core/restart_window.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/restart_trace.hpp"

namespace vitrine::detail {
namespace {

using core::supervisor_status;
using clock = std::chrono::steady_clock;
using millis = std::chrono::milliseconds;

class supervisor_actor final : public caf::event_based_actor {
 public:
  supervisor_actor(caf::actor_config& config,
                   std::shared_ptr<supervisor_record> record,
                   supervisor_spec spec, const runtime_context& context,
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

  caf::behavior make_behavior() override {
    return {
        // Replies, once every child was started, with the state version from
        // before the start (see on_child_event for how parents use it).
        [this](start_atom, const std::stop_token& cancel) {
          return start_with_reply(cancel);
        },
        // A restart ordered by the parent with send(): no reply (a promise
        // here delivered a stray reply to the parent: "unexpected message").
        [this](resume_atom) { enqueue_operation(start_all([](bool) {})); },
        [this](stop_atom) { return stop_with_reply(false); },
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
          applied_ticket_ = std::max(applied_ticket_, ticket);
          const std::uint64_t before = current_.version;
          if (static_cast<command_kind>(kind) == command_kind::stop)
            enqueue_operation(stop_all(false, [](bool) {}));
          else
            enqueue_operation(start_all([](bool) {}));
          // Queued behind another operation: the ticket is visible now.
          if (current_.version == before) publish(current_.status);
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
          auto promise =
              make_response_promise<std::shared_ptr<process_record>>();
          enqueue_operation(start_child(
              children_.back().actor,
              [promise, record](bool) mutable { promise.deliver(record); }));
          return promise;
        },
        [this](add_child_atom, supervisor_spec& spec)
            -> caf::result<std::shared_ptr<supervisor_record>> {
          auto record = add_supervisor(std::move(spec));
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
          if (index_of(sender) == children_.size()) return;
          deferred_.push_back({std::move(sender), std::move(report)});
          pump();
        },
        [this](plan_timer_atom, std::uint64_t generation) {
          step_done(generation);
        },
        [this](subscribe_atom, caf::actor& who) {
          subscribers_.push_back(std::move(who));
        },
        [this](unsubscribe_atom, const caf::actor& who) {
          std::erase(subscribers_, who);
        },
        [this](caf::get_atom) { return current_; },
    };
  }

  void on_exit() override {
    // A policy that asks read the record once the actor is gone.
    if (!context_.reads->reads_published() &&
        record_->state.current_unsafe().version != current_.version)
      record_->state.publish(current_);
    record_->port.store(nullptr);
    parent_ = nullptr;
    children_.clear();
    subscribers_.clear();
    queue_.clear();
  }

 private:
  struct child {
    caf::actor actor;
    std::string name;
    bool autostart = true;
    bool is_supervisor = false;
    /// Never restarted, not even with a sibling (OTP: a temporary child a
    /// one_for_all or rest_for_one restart stops stays stopped).
    bool temporary = false;
    std::uint64_t started_version = 0;  ///< its version before our last start
    /// Its record (one of them), to forget it when it is removed.
    std::shared_ptr<process_record> process{};
    std::shared_ptr<supervisor_record> supervisor{};
  };

  /// A report from a child, by actor: indices shift when a child is removed.
  struct pending_report {
    caf::actor from;
    child_report report;
  };

  /// The index of the child `who`, or children_.size().
  std::size_t index_of(const caf::actor& who) const {
    std::size_t i = 0;
    while (i < children_.size() && children_[i].actor != who) ++i;
    return i;
  }
  std::size_t index_of(const std::string& name) const {
    std::size_t i = 0;
    while (i < children_.size() && children_[i].name != name) ++i;
    return i;
  }

  void publish(supervisor_status status,
               std::shared_ptr<const core::supervisor_failure> failure = {}) {
    auto next = current_;
    next.version = current_.version + 1;
    next.status = status;
    next.child_count = static_cast<std::uint32_t>(children_.size());
    next.restarts = restarts_;
    next.applied_command = applied_ticket_;
    if (failure) next.last_failure = std::move(failure);
    auto history = std::make_shared<core::supervisor_history>(
        current_.history ? *current_.history : core::supervisor_history{});
    history->push({next.version, next.status, next.restarts, clock::now()});
    next.history = std::move(history);
    current_ = next;
    if (context_.reads->reads_published())
      record_->state.publish(std::move(next));
    if (context_.status_table) context_.status_table->publish(current_);
    context_.published();
    for (const auto& s : subscribers_)
      send(s, supervisor_changed_atom::value, current_);
  }

  // -- building children ------------------------------------------------------

  std::shared_ptr<process_record> make_process(process_spec spec) {
    auto name = std::make_shared<const std::string>(spec.name);
    auto record = std::make_shared<process_record>(name);
    attach_status_table(*record, context_.status_table);
    const bool autostart = spec.autostart;
    const bool temporary = spec.restart == restart_policy::temporary;
    auto actor =
        spawn_process_actor(home_system(), record, std::move(spec), context_,
                            caf::actor_cast<caf::actor>(this));
    record->port.store(std::make_shared<command_port>(actor));
    children_.push_back({std::move(actor), *name, autostart});
    children_.back().temporary = temporary;
    children_.back().process = record;
    return record;
  }

  /// A process added after the start; nullptr if its name is taken.
  std::shared_ptr<process_record> add_process(process_spec spec) {
    if (context_.registry.find_shared(spec.name)) return nullptr;
    auto record = make_process(std::move(spec));
    if (context_.register_process(children_.back().name, record)) return record;
    anon_send_exit(children_.back().actor, caf::exit_reason::kill);
    children_.pop_back();
    return nullptr;
  }

  std::shared_ptr<supervisor_record> add_supervisor(supervisor_spec spec) {
    auto record = std::make_shared<supervisor_record>(
        std::make_shared<const std::string>(spec.name));
    std::string name = spec.name;
    const bool temporary = spec.restart == restart_policy::temporary;
    context_.supervisors.insert(name, record);
    auto actor =
        spawn_supervisor_actor(home_system(), record, std::move(spec), context_,
                               caf::actor_cast<caf::actor>(this));
    children_.push_back({std::move(actor), std::move(name), true, true});
    children_.back().temporary = temporary;
    children_.back().supervisor = record;
    return record;
  }

  /// Spawns the actors of the spec's children and registers all their
  /// processes in one registry revision.
  void build_children_once() {
    if (built_) return;
    built_ = true;
    auto specs = std::move(spec_.children);
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
    if (context_.register_processes(named)) return;
    // A name was taken meanwhile: register one by one, dropping the
    // children whose name is taken (runtime::supervise checks names first,
    // so this is a race with another supervise()).
    for (auto& [taken, record] : named) {
      if (context_.register_process(taken, record)) continue;
      const std::string& name = taken;  // lambdas can't capture a binding
      auto it = std::find_if(children_.begin(), children_.end(),
                             [&](const child& c) { return c.name == name; });
      anon_send_exit(it->actor, caf::exit_reason::kill);
      children_.erase(it);
    }
  }

  // -- operations -------------------------------------------------------------

  /// Queues `op`. A stop cancels the start and restart operations queued or
  /// running (their `done` runs with false) and runs after a running stop;
  /// the runtime's shutdown cancels them at once.
  void enqueue_operation(operation op) {
    if (!op.is_stop && !op.survives_stop)
      op.cancel_with(context_.shutting_down);
    if (op.is_stop) {
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
      if (!front_kept) {
        ++generation_;  // drops the replies the cancelled step waits for
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

  /// Runs operations until one waits for a reply or a timer; when none is
  /// left, hands the reports that arrived meanwhile to on_child_event
  /// (which may queue a restart). Iterative: replies re-enter here through
  /// the mailbox.
  void pump() {
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

  /// Issues steps of the front operation until one waits (true), or
  /// finishes it (false).
  bool run_front() {
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
    while (op.next < op.steps.size() && !op.aborted && !cancelled())
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

  /// One reply (or timer) a step of generation `generation` waited for
  /// has come: the operation goes on once none is outstanding. Only here:
  /// a pump() for another reason (a child report, a queued operation) must
  /// not issue the next step while one is still in flight.
  void step_done(std::uint64_t generation) {
    if (generation != generation_) return;  // cancelled meanwhile
    if (outstanding_ > 0 && --outstanding_ > 0) return;
    pump();
  }

  /// Sends one step's request (a start carries `cancel`); true (with
  /// outstanding_ set to the replies awaited) if the operation must wait.
  bool issue(const step& s, const std::stop_token& cancel) {
    const std::uint64_t generation = generation_;
    auto resume = [this, generation] { step_done(generation); };
    std::size_t sent = 0;
    switch (s.what) {
      case step::kind::start:
        if (request_start(s.index, s.fresh, cancel, resume)) sent = 1;
        break;
      case step::kind::start_parallel:
        for (std::size_t i = 0; i < children_.size(); ++i)
          if (request_start(i, s.fresh, cancel, resume)) ++sent;
        break;
      case step::kind::stop:
      case step::kind::shutdown: {
        auto& target = children_[s.index].actor;
        auto req = s.what == step::kind::shutdown
                       ? request(target, caf::infinite, shutdown_atom::value)
                       : request(target, caf::infinite, stop_atom::value);
        req.then([resume](caf::ok_atom) { resume(); },
                 [resume](caf::error&) { resume(); });
        sent = 1;
        break;
      }
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

  /// Asks child i to start; false (nothing sent) for a child that is not
  /// started automatically: later restarts do start it. A process child
  /// learns whether the start is `fresh` (step::fresh); a supervisor child
  /// starts all of its own children fresh anyway.
  template <class Resume>
  bool request_start(std::size_t i, bool fresh, const std::stop_token& cancel,
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
    if (c.is_supervisor)
      handle_reply(request(c.actor, caf::infinite, start_atom::value, cancel));
    else
      handle_reply(
          request(c.actor, caf::infinite, start_atom::value, fresh, cancel));
    return true;
  }

  using done_fn = std::function<void(bool)>;

  caf::result<std::uint64_t> start_with_reply(const std::stop_token& cancel) {
    auto promise = make_response_promise<std::uint64_t>();
    auto op = start_all([promise, before = current_.version](bool) mutable {
      promise.deliver(before);
    });
    op.cancel_with(cancel);
    enqueue_operation(std::move(op));
    return promise;
  }

  caf::result<caf::ok_atom> stop_with_reply(bool quit_after,
                                            bool forget = false) {
    auto promise = make_response_promise<caf::ok_atom>();
    enqueue_operation(stop_all(
        quit_after,
        [promise](bool) mutable { promise.deliver(caf::ok_atom::value); },
        forget));
    return promise;
  }

  /// Starts every child in order with a fresh restart window.
  operation start_all(done_fn done) {
    operation op;
    op.begin = [this](std::vector<step>& steps) {
      build_children_once();
      window_.clear();
      publish(supervisor_status::starting);
      if (spec_.parallel_start && children_.size() > 1) {
        steps.push_back({.what = step::kind::start_parallel, .fresh = true});
        return;
      }
      for (std::size_t i = 0; i < children_.size(); ++i)
        steps.push_back({.what = step::kind::start, .index = i, .fresh = true});
    };
    op.done = [this, done = std::move(done)](bool completed) {
      if (completed) publish(supervisor_status::running);
      done(completed);
    };
    return op;
  }

  operation start_child(caf::actor which, done_fn done) {
    operation op;
    op.begin = [this, which = std::move(which)](std::vector<step>& steps) {
      publish(current_.status);  // the child count changed
      // By actor: a removal queued before this may have shifted it.
      if (const auto i = index_of(which); i < children_.size())
        steps.push_back({step::kind::start, i});
    };
    op.done = std::move(done);
    return op;
  }

  /// Stops every child in reverse order (shutdown: and quits them, then
  /// itself).
  operation stop_all(bool quit_after, done_fn done, bool forget = false) {
    operation op;
    op.is_stop = true;
    op.begin = [this, quit_after, forget](std::vector<step>& steps) {
      was_failed_ = current_.status == supervisor_status::failed;
      // A failed supervisor has stopped its children already: it stays
      // `failed` throughout instead of announcing a shutdown and its
      // failure again (the stop steps below find nothing running).
      if (!was_failed_) publish(supervisor_status::shutting_down);
      const auto how = forget       ? step::kind::remove
                       : quit_after ? step::kind::shutdown
                                    : step::kind::stop;
      for (std::size_t i = children_.size(); i-- > 0;)
        steps.push_back({how, i});
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

  // -- child changes from handles (OTP's start_child, terminate_child and
  // delete_child; see supervisor_handle.hpp) ---------------------------------

  /// One operation that survives stops, as an OTP supervisor handles one
  /// call at a time: it never interleaves with a start, stop or restart.
  operation change_children(std::shared_ptr<change_request> request) {
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

  void refuse(change_request& request, change_outcome outcome,
              std::string why) {
    request.completion->result().complete(outcome, std::move(why));
  }

  void begin_add(const std::shared_ptr<change_request>& request,
                 std::vector<step>& steps) {
    if (!place_child(*request)) return;
    publish(current_.status);  // the child count changed
    if (active()) steps.push_back({step::kind::start, children_.size() - 1});
  }

  void begin_remove(const std::shared_ptr<change_request>& request,
                    std::vector<step>& steps) {
    remove_then(request, steps, [](std::size_t) { return true; });
  }

  /// Removes the old child, puts the new one at its index, starts it if
  /// this supervisor runs (decided now: no other operation runs meanwhile).
  void begin_replace(const std::shared_ptr<change_request>& request,
                     std::vector<step>& steps) {
    const auto put_in_place = [this, request](std::size_t at) {
      const bool placed = place_child(*request);  // at the end
      if (placed)
        std::rotate(children_.begin() + static_cast<std::ptrdiff_t>(at),
                    children_.end() - 1, children_.end());
      return placed;
    };
    const std::size_t i = remove_then(request, steps, put_in_place);
    if (i < children_.size() && active())
      steps.push_back({step::kind::start, i});
  }

  /// The steps that stop, quit and forget the request's child, then erase
  /// it and run `then(index)` (which may put a child there; false ends
  /// the operation); returns the child's index, or children_.size() after
  /// refusing a request for an unknown name.
  template <class Then>
  std::size_t remove_then(const std::shared_ptr<change_request>& request,
                          std::vector<step>& steps, Then then) {
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

  std::string no_child(const std::string& name) const {
    return "supervisor '" + *record_->name + "' has no child named '" + name +
           "'";
  }

  /// Appends the request's child (not started); false, refusing the
  /// request, if its name is taken among this supervisor's children or a
  /// process name of it is supervised.
  bool place_child(change_request& request) {
    auto& spec = *request.spec;
    const std::string name = child_name(spec);
    std::string taken;
    if (index_of(name) < children_.size())
      taken = "supervisor '" + *record_->name +
              "' already has a child named '" + name + "'";
    for (const auto& process : process_names(spec))
      if (taken.empty() && context_.registry.lookup(process))
        taken = "a process named '" + process + "' is already supervised";
    if (taken.empty()) {
      if (auto* p = std::get_if<process_spec>(&spec)) {
        request.added_process = add_process(std::move(*p));
        if (!request.added_process)  // registered meanwhile by another
          taken = "a process named '" + name + "' is already supervised";
      } else {
        request.added_supervisor =
            add_supervisor(std::move(std::get<supervisor_spec>(spec)));
      }
    }
    if (taken.empty()) return true;
    refuse(request, change_outcome::name_taken, std::move(taken));
    return false;
  }

  /// Stops and quits child `c` (a nested supervisor: its whole tree, which
  /// it forgets), then forgets `c` and resumes the operation.
  template <class Resume>
  void remove_child_tree(const child& c, Resume resume) {
    auto forget = [this, process = c.process, supervisor = c.supervisor,
                   resume] {
      if (process) context_.forget_process(process);
      if (supervisor) context_.forget_supervisor(supervisor);
      resume();
    };
    auto req = c.is_supervisor
                   ? request(c.actor, caf::infinite, shutdown_atom::value, true)
                   : request(c.actor, caf::infinite, shutdown_atom::value);
    req.then([forget](caf::ok_atom) { forget(); },
             [forget](caf::error&) { forget(); });
  }

  // -- restarts ---------------------------------------------------------------

  bool active() const { return current_.status == supervisor_status::running; }

  /// A report from child i, handled when no operation runs. `version` is
  /// the child's state version when it reported: a report not newer than
  /// the version the child had before our last start of it is stale (a
  /// restart sequence already replaced that run while it waited).
  void on_child_event(std::size_t i, child_report report) {
    if (i >= children_.size() || !report.restart_wanted) return;
    auto& c = children_[i];
    if (report.version <= c.started_version) return;
    if (!active()) {
      // Not supervising (stopped or failed): nobody restarts it, so it
      // must not wait in backoff; a process stops there.
      if (!c.is_supervisor) send(c.actor, deny_atom::value, report.version);
      return;
    }
    const auto now = clock::now();
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

  /// Stops children [from, end) except `exited` in reverse order, waits
  /// until the exited child's backoff delay has passed (`until`), then
  /// starts [from, end) in spec order, each once the previous one runs;
  /// temporary children stay stopped.
  operation restart_from(std::size_t from, std::size_t exited,
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

  /// The intensity is exceeded: stop every child (reverse order), publish
  /// `failed` with the reason, and tell the parent (which restarts this
  /// supervisor per its own strategy and intensity if it is permanent).
  void fail(std::size_t i, const child_report& report, clock::time_point now) {
    auto failure = std::make_shared<core::supervisor_failure>();
    failure->child = children_[i].name;
    failure->exit = report.exit;
    failure->restarts_in_window = static_cast<std::uint32_t>(window_.recent());
    failure->intensity = spec_.intensity;
    failure->period = spec_.period;
    failure->at = now;
    std::shared_ptr<const core::supervisor_failure> reason = failure;
    operation op;
    op.is_stop = true;
    op.begin = [this, reason](std::vector<step>& steps) {
      publish(supervisor_status::shutting_down, reason);
      for (std::size_t j = children_.size(); j-- > 0;)
        steps.push_back({step::kind::stop, j});
    };
    op.done = [this, reason](bool) {
      publish(supervisor_status::failed);
      if (!parent_) return;
      child_report up;
      // OTP: the supervisor ends with reason `shutdown`, which a transient
      // child's parent treats as normal.
      up.restart_wanted = spec_.restart == restart_policy::permanent;
      up.version = current_.version;
      up.exit = "failed: " + reason->describe();
      send(parent_, child_event_atom::value, std::move(up));
    };
    enqueue_operation(std::move(op));
  }

  std::shared_ptr<supervisor_record> record_;
  supervisor_spec spec_;
  runtime_context context_;
  caf::actor parent_;
  core::restart_window window_;
  core::supervisor_state current_;
  std::vector<child> children_;
  std::deque<operation> queue_;
  std::deque<pending_report> deferred_;
  std::vector<caf::actor> subscribers_;
  std::uint64_t generation_ = 0;  ///< of the running step; +1 per cancel
  std::size_t outstanding_ = 0;   ///< replies (or a timer) the step awaits
  std::uint64_t applied_ticket_ = 0;
  std::uint32_t restarts_ = 0;
  bool built_ = false;
  bool pumping_ = false;
  bool was_failed_ = false;  ///< when the running stop began
};

}  // namespace

caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  std::shared_ptr<supervisor_record> record,
                                  supervisor_spec spec,
                                  const runtime_context& context,
                                  caf::actor parent) {
  auto actor = system.spawn<supervisor_actor>(record, std::move(spec), context,
                                              std::move(parent));
  record->port.store(std::make_shared<command_port>(actor));
  return actor;
}

}  // namespace vitrine::detail
