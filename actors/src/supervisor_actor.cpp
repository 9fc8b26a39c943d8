#include "supervisor_actor.hpp"

#include <functional>
#include <vector>

#include "atoms.hpp"
#include "command_port.hpp"
#include "process_actor.hpp"
#include "vitrine/core/restart_window.hpp"

namespace vitrine::detail {
namespace {

using core::supervisor_status;
using done_fn = std::function<void()>;

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
        current_(record_->state.current_unsafe()) {}

  caf::behavior make_behavior() override {
    return {
        // Replies, once started, with the state version from before the
        // start (see on_child_event).
        [this](start_atom) {
          auto promise = make_response_promise<std::uint64_t>();
          start_all([promise, before = current_.version]() mutable {
            promise.deliver(before);
          });
          return promise;
        },
        // A restart ordered by the parent with send(): no reply (a promise
        // here delivered a stray 'ok' to the parent: "unexpected message").
        [this](resume_atom) { start_all([] {}); },
        [this](stop_atom) { return stop_all(false); },
        [this](shutdown_atom) { return stop_all(true); },
        [this](add_child_atom, process_spec& spec)
            -> caf::result<std::shared_ptr<process_record>> {
          auto record = add_process(std::move(spec));
          if (!record) return caf::sec::invalid_argument;
          auto promise =
              make_response_promise<std::shared_ptr<process_record>>();
          start_range(children_.size() - 1, children_.size(),
                      [promise, record]() mutable { promise.deliver(record); });
          return promise;
        },
        [this](add_child_atom, supervisor_spec& spec)
            -> caf::result<std::shared_ptr<supervisor_record>> {
          auto record = add_supervisor(std::move(spec));
          auto promise =
              make_response_promise<std::shared_ptr<supervisor_record>>();
          start_range(children_.size() - 1, children_.size(),
                      [promise, record]() mutable { promise.deliver(record); });
          return promise;
        },
        [this](child_event_atom, bool wants_restart, std::uint64_t version) {
          on_child_event(wants_restart, version);
        },
    };
  }

  void on_exit() override {
    parent_ = nullptr;
    children_.clear();
  }

 private:
  struct child {
    caf::actor actor;
    bool autostart = true;
    bool is_supervisor = false;
    std::uint64_t started_version = 0;  ///< its version before our last start
  };

  void publish(supervisor_status status) {
    auto next = current_;
    next.version = current_.version + 1;
    next.status = status;
    next.child_count = static_cast<std::uint32_t>(children_.size());
    next.restarts = restarts_;
    current_ = next;
    record_->state.publish(std::move(next));
    if (context_.status_table) context_.status_table->publish(current_);
  }

  // -- building children ------------------------------------------------------

  std::shared_ptr<process_record> add_process(process_spec spec) {
    auto name = std::make_shared<const std::string>(spec.name);
    auto record = std::make_shared<process_record>(name, context_.mode);
    if (!context_.register_process(spec.name, record)) return nullptr;
    attach_status_table(*record, context_.status_table);
    const bool autostart = spec.autostart;
    auto actor =
        spawn_process_actor(home_system(), record, std::move(spec), context_,
                            caf::actor_cast<caf::actor>(this));
    record->port.store(std::make_shared<command_port>(actor));
    children_.push_back({std::move(actor), autostart});
    return record;
  }

  std::shared_ptr<supervisor_record> add_supervisor(supervisor_spec spec) {
    auto record = std::make_shared<supervisor_record>(
        std::make_shared<const std::string>(spec.name));
    auto actor =
        spawn_supervisor_actor(home_system(), record, std::move(spec), context_,
                               caf::actor_cast<caf::actor>(this));
    children_.push_back({std::move(actor), true, true});
    return record;
  }

  void build_children_once() {
    if (built_) return;
    built_ = true;
    auto specs = std::move(spec_.children);
    for (auto& c : specs) {
      if (auto* p = std::get_if<process_spec>(&c))
        add_process(std::move(*p));
      else
        add_supervisor(std::move(std::get<supervisor_spec>(c)));
    }
  }

  // -- sequences --------------------------------------------------------------

  /// Starts children [from, to) one after another (each start replies once
  /// its spawn was attempted), then calls done.
  void start_range(std::size_t from, std::size_t to, done_fn done) {
    if (spec_.parallel_start && to - from > 1)
      return start_in_parallel(from, to, std::move(done));
    if (from >= to) return done();
    if (!children_[from].autostart) {
      children_[from].autostart = true;  // later restarts do start it
      return start_range(from + 1, to, std::move(done));
    }
    auto next = [this, from, to, done] { start_range(from + 1, to, done); };
    request(children_[from].actor, caf::infinite, start_atom::value)
        .await(
            [this, from, next](std::uint64_t version) {
              children_[from].started_version = version;
              next();
            },
            [next](caf::error&) { next(); });
  }

  /// Sends start to children [from, to) at once and calls done when all
  /// have replied (spec.parallel_start: independent children, one_for_one).
  void start_in_parallel(std::size_t from, std::size_t to, done_fn done) {
    auto left = std::make_shared<std::size_t>(1);  // 1 until all are sent
    auto one_done = [left, done] {
      if (--*left == 0) done();
    };
    for (std::size_t i = from; i < to; ++i) {
      if (!children_[i].autostart) {
        children_[i].autostart = true;  // later restarts do start it
        continue;
      }
      ++*left;
      request(children_[i].actor, caf::infinite, start_atom::value)
          .then(
              [this, i, one_done](std::uint64_t version) {
                children_[i].started_version = version;
                one_done();
              },
              [one_done](caf::error&) { one_done(); });
    }
    one_done();
  }

  /// Stops children [from, to) in reverse order, skipping `except`.
  void stop_range(std::size_t from, std::size_t to, std::size_t except,
                  bool quit_children, done_fn done) {
    if (to <= from) return done();
    const std::size_t i = to - 1;
    auto next = [this, from, i, except, quit_children, done] {
      stop_range(from, i, except, quit_children, done);
    };
    if (i == except) return next();
    auto req =
        quit_children
            ? request(children_[i].actor, caf::infinite, shutdown_atom::value)
            : request(children_[i].actor, caf::infinite, stop_atom::value);
    req.await([next](caf::ok_atom) { next(); },
              [next](caf::error&) { next(); });
  }

  void start_all(done_fn done) {
    build_children_once();
    window_.clear();
    publish(supervisor_status::starting);
    start_range(0, children_.size(), [this, done] {
      publish(supervisor_status::running);
      done();
    });
  }

  caf::result<caf::ok_atom> stop_all(bool quit_after) {
    publish(supervisor_status::shutting_down);
    auto promise = make_response_promise<caf::ok_atom>();
    stop_range(0, children_.size(), children_.size(), quit_after,
               [this, promise, quit_after]() mutable {
                 publish(supervisor_status::stopped);
                 promise.deliver(caf::ok_atom::value);
                 if (quit_after) quit();
               });
    return promise;
  }

  // -- restarts ---------------------------------------------------------------

  /// `version` is the child's state version when it reported. A report not
  /// newer than the version the child had before our last start of it is
  /// stale: a restart sequence already replaced that run while the report
  /// waited in the mailbox.
  void on_child_event(bool wants_restart, std::uint64_t version) {
    const auto sender = caf::actor_cast<caf::actor>(current_sender());
    std::size_t i = 0;
    while (i < children_.size() && children_[i].actor != sender) ++i;
    if (i == children_.size() || !wants_restart) return;
    if (version <= children_[i].started_version) return;
    // The root (no parent) hosts the application's trees and has nobody to
    // escalate to. A top-level supervisor that exceeded its intensity stays
    // failed, its children stopped: restarting it at once (with a fresh
    // restart window each time) looped forever and made a top-level
    // supervisor's intensity meaningless.
    if (!parent_ && children_[i].is_supervisor) return;
    if (current_.status != supervisor_status::running &&
        current_.status != supervisor_status::restarting &&
        current_.status != supervisor_status::starting)
      return;
    if (!window_.admit(std::chrono::steady_clock::now())) return fail();
    ++restarts_;
    switch (spec_.strategy) {
      case restart_strategy::one_for_one:
        publish(current_.status);  // the restart count changed
        send(children_[i].actor, resume_atom::value);
        break;
      case restart_strategy::one_for_all:
        restart_range(0, i);
        break;
      case restart_strategy::rest_for_one:
        restart_range(i, i);
        break;
    }
  }

  /// Stops children [from, end) except `failed` (already down) in reverse
  /// order, then starts [from, end) in order.
  void restart_range(std::size_t from, std::size_t failed) {
    publish(supervisor_status::restarting);
    stop_range(from, children_.size(), failed, false, [this, from] {
      start_range(from, children_.size(),
                  [this] { publish(supervisor_status::running); });
    });
  }

  void fail() {
    publish(supervisor_status::shutting_down);
    stop_range(0, children_.size(), children_.size(), false, [this] {
      publish(supervisor_status::failed);
      if (parent_)
        send(parent_, child_event_atom::value, true, current_.version);
    });
  }

  std::shared_ptr<supervisor_record> record_;
  supervisor_spec spec_;
  runtime_context context_;
  caf::actor parent_;
  core::restart_window window_;
  core::supervisor_state current_;
  std::vector<child> children_;
  std::uint32_t restarts_ = 0;
  bool built_ = false;
};

}  // namespace

caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  std::shared_ptr<supervisor_record> record,
                                  supervisor_spec spec,
                                  const runtime_context& context,
                                  caf::actor parent) {
  return system.spawn<supervisor_actor>(std::move(record), std::move(spec),
                                        context, std::move(parent));
}

}  // namespace vitrine::detail
