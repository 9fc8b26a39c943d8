// The mirror: one actor per node_handle in the controller. It connects to
// the node asynchronously (the middleman actor's connect, or the OpenSSL
// module's with TLS, with a timeout),
// says hello to the node server, applies the snapshot and then the pushed
// states to local process_records (it is their only writer), and marks them
// `unknown` when the node is lost: its proxy goes down (connection closed,
// or CAF's connection timeout) or nothing arrived for connection_timeout.
// Then it reconnects with backoff and resynchronises from a new snapshot.
//
// Each mirrored record's command port is a small forwarder actor that tags
// the handle's messages with the process name for the mirror. Commands
// carry the controller's ticket; the node answers with its own, and the
// mirror publishes applied_command in the controller's ticket space once
// the node's state shows the node ticket applied.
//
// Closing (node_handle::close(), runtime shutdown) drains: the ports are
// cleared first, each forwarder passes on what it holds, and the mirror
// quits once the node has answered every command it forwarded (or each
// timed out), so a command a handle sent just before a controller quits
// still reaches the node.
#include <caf/io/all.hpp>

#include <deque>
#include <stop_token>
#include <unordered_map>

#include "atoms.hpp"
#include "command_port.hpp"
#include "remote_connect_error.hpp"
#include "remote_greeting.hpp"
#include "remote_node.hpp"
#include "remote_tls.hpp"
#include "remote_wire.hpp"

namespace vitrine::detail {
namespace {

using clock = std::chrono::steady_clock;

struct mirrored_process {
  std::shared_ptr<mirrored_record> record;
  caf::actor forwarder;
  core::process_state last;  // the node's last state (node ticket space)
  std::uint64_t local_version = 0;
  std::uint64_t local_applied = 0;
  /// (node ticket, controller ticket) of commands not yet applied.
  std::deque<std::pair<std::uint64_t, std::uint64_t>> pending;
  std::vector<caf::actor> subscribers;
};

struct mirror_state {
  std::shared_ptr<node_shared> shared;
  caf::actor server;
  std::uint64_t attempt = 0;  // stale replies and timers carry an older one
  std::chrono::milliseconds backoff{0};
  std::unordered_map<std::string, mirrored_process> processes;
  /// Commands and signals sent to the node and not answered yet.
  std::size_t in_flight = 0;
  /// Stops a greeting check under way (remote_greeting.hpp) when the
  /// mirror closes or quits, so it holds up no shutdown.
  std::stop_source greeting_stop;
  /// Set by close: forwarders still to flush, and when to quit regardless.
  bool closing = false;
  std::size_t unflushed = 0;
  clock::time_point quit_by{};

  mirror_state() = default;
  mirror_state(const mirror_state&) = delete;
  mirror_state& operator=(const mirror_state&) = delete;
  /// Runs as the mirror quits: handles keep their last state and lose
  /// their commands; the forwarders go with it.
  ~mirror_state() {
    greeting_stop.request_stop();
    for (auto& [name, p] : processes) {
      p.record->port.store(nullptr);
      caf::anon_send_exit(p.forwarder, caf::exit_reason::user_shutdown);
    }
  }
};

using mirror_actor = caf::stateful_actor<mirror_state>;

caf::behavior forwarder(caf::event_based_actor* self, std::string name,
                        caf::weak_actor_ptr mirror) {
  auto to_mirror = [self, mirror](auto... xs) {
    if (auto m = caf::actor_cast<caf::actor>(mirror.lock()))
      self->send(m, xs...);
  };
  return {
      [=](command_atom, std::uint64_t ticket, int kind) {
        to_mirror(r_lcmd_atom::value, name, ticket, kind);
      },
      [=](signal_atom, int sig) {
        to_mirror(r_lsignal_atom::value, name, sig);
      },
      [=](subscribe_atom, const caf::actor& who) {
        to_mirror(r_lsub_atom::value, name, who);
      },
      [=](unsubscribe_atom, const caf::actor& who) {
        to_mirror(r_lunsub_atom::value, name, who);
      },
      // After every message above it (same sender, same receiver: FIFO).
      [=](r_flush_atom) { to_mirror(r_flushed_atom::value); },
  };
}

/// Publishes `s` (the node's state, or its unknown copy) locally.
void publish(mirrored_process& p, core::process_state s) {
  s.version = ++p.local_version;
  s.applied_command = p.local_applied;
  for (const auto& who : p.subscribers)
    caf::anon_send(who, state_changed_atom::value, s);
  p.record->state.publish(std::move(s));
}

/// Moves commands the node applied into local_applied; true if it moved.
bool settle(mirrored_process& p) {
  bool moved = false;
  while (!p.pending.empty() &&
         p.pending.front().first <= p.last.applied_command) {
    p.local_applied = std::max(p.local_applied, p.pending.front().second);
    p.pending.pop_front();
    moved = true;
  }
  return moved;
}

mirrored_process& add_process(mirror_actor* self, const std::string& name) {
  auto& p = self->state.processes[name];
  auto name_ptr = std::make_shared<const std::string>(name);
  p.record = std::make_shared<mirrored_record>(name_ptr);
  p.forwarder =
      self->spawn(forwarder, name, caf::actor_cast<caf::weak_actor_ptr>(self));
  p.record->port.store(std::make_shared<command_port>(p.forwarder));
  self->state.shared->registry.insert(name, p.record);
  return p;
}

void drop_process(mirror_actor* self, const std::string& name) {
  auto it = self->state.processes.find(name);
  if (it == self->state.processes.end()) return;
  it->second.record->port.store(nullptr);
  self->send_exit(it->second.forwarder, caf::exit_reason::user_shutdown);
  self->state.shared->registry.erase(name);
  self->state.processes.erase(it);
}

/// Applies one node state; `resync` counts the versions it skipped.
void apply(mirror_actor* self, const wire_state& w, bool resync) {
  auto it = self->state.processes.find(w.name);
  const bool added = it == self->state.processes.end();
  mirrored_process& p = added ? add_process(self, w.name) : it->second;
  const bool unknown_now = p.last.status == core::process_status::unknown;
  // Written by this actor only: relaxed loads see its own stores.
  const auto node_version =
      p.record->node_version.load(std::memory_order_relaxed);
  // A new process is applied whatever its version (one never started is
  // at 0); a known one only when newer, or to replace its `unknown`.
  if (!added && w.version <= node_version && !(resync && unknown_now)) return;
  if (resync && node_version != 0 && w.version > node_version + 1)
    self->state.shared->missed_transitions.fetch_add(
        w.version - node_version - 1, std::memory_order_relaxed);
  // Before the publish (a release): a reader of the new state sees it.
  p.record->node_version.store(w.version, std::memory_order_relaxed);
  p.last = from_wire(w, p.record->name);
  settle(p);
  publish(p, p.last);
  if (added) self->state.shared->notify_processes();  // node_handle::supervise
}

void schedule_retry(mirror_actor* self) {
  auto& st = self->state;
  const auto& o = st.shared->options;
  st.backoff = st.backoff.count() == 0
                   ? o.backoff_min
                   : std::min(o.backoff_max, st.backoff * 2);
  self->delayed_send(self, st.backoff, r_retry_atom::value, st.attempt);
}

void lose(mirror_actor* self) {
  auto& st = self->state;
  if (st.shared->status() != node_status::connected) return;
  if (st.server) self->demonitor(st.server);
  st.server = nullptr;
  st.shared->set_server(nullptr);
  ++st.attempt;
  for (auto& [name, p] : st.processes) {
    p.last.status = core::process_status::unknown;
    p.pending.clear();
    publish(p, p.last);
  }
  // After the states: whoever sees the node lost reads them `unknown`.
  st.shared->set_status(node_status::lost);
  st.backoff = std::chrono::milliseconds{0};
  schedule_retry(self);
}

void synchronise(mirror_actor* self, caf::actor server,
                 std::vector<wire_state>& snapshot) {
  auto& st = self->state;
  const bool resync = st.shared->synchronisations.load() != 0;
  std::unordered_map<std::string, bool> present;
  for (const auto& w : snapshot) {
    present.emplace(w.name, true);
    apply(self, w, resync);
  }
  std::vector<std::string> gone;
  for (const auto& [name, p] : st.processes)
    if (!present.count(name)) gone.push_back(name);
  for (const auto& name : gone) drop_process(self, name);
  st.shared->set_server(server);
  st.server = std::move(server);
  st.backoff = std::chrono::milliseconds{0};
  st.shared->touch();
  st.shared->synchronisations.fetch_add(1, std::memory_order_relaxed);
  st.shared->set_attempt_error({});
  st.shared->set_status(node_status::connected);
}

/// Attempt `me` failed with `e`: say why, try again after the backoff.
void attempt_failed(mirror_actor* self, std::uint64_t me, const caf::error& e) {
  if (self->state.attempt != me) return;
  self->state.shared->set_attempt_error(describe_attempt_error(
      self->system(), e, self->state.shared->options.attempt_timeout));
  schedule_retry(self);
}

/// CAF's connect and the hello, for attempt `me`.
void connect_middleman(mirror_actor* self, std::uint64_t me) {
  auto& st = self->state;
  const auto timeout = st.shared->options.attempt_timeout;
  auto on_error = [self, me](caf::error& e) { attempt_failed(self, me, e); };
  // With TLS, the OpenSSL module's connector: the same BASP, encrypted.
  self->request(connector(self->system()), timeout, caf::connect_atom::value,
                st.shared->endpoint.host, st.shared->endpoint.port)
      .then(
          [self, me, timeout, on_error](const caf::node_id&,
                                        caf::strong_actor_ptr& ptr,
                                        const std::set<std::string>&) {
            if (self->state.attempt != me) return;
            auto server = caf::actor_cast<caf::actor>(std::move(ptr));
            if (!server) return schedule_retry(self);
            self->monitor(server);
            self->request(server, timeout, r_hello_atom::value,
                          caf::actor{self})
                .then(
                    [self, me, server](std::vector<wire_state>& snapshot) {
                      if (self->state.attempt == me)
                        synchronise(self, server, snapshot);
                    },
                    on_error);
          },
          on_error);
}

/// A new connection attempt. Without TLS the port's first message is
/// checked on a connection of our own before CAF reads one
/// (remote_greeting.hpp), by a detached actor: it blocks up to the attempt
/// timeout. Its answer is r_greeted.
void attempt(mirror_actor* self) {
  auto& st = self->state;
  const std::uint64_t me = ++st.attempt;
  if (tls_enabled(self->system())) return connect_middleman(self, me);
  self->spawn<caf::detached>(
      [me](caf::event_based_actor* greeter, caf::actor mirror,
           remote_endpoint node, std::chrono::milliseconds timeout,
           std::stop_token stop) {
        greeter->send(mirror, r_greeted_atom::value, me,
                      check_node_greeting(node, timeout, stop));
      },
      caf::actor{self}, st.shared->endpoint, st.shared->options.attempt_timeout,
      st.greeting_stop.get_token());
}

/// Quits once closing and drained: every forwarder flushed and every
/// forwarded request answered.
void quit_if_drained(mirror_actor* self) {
  const auto& st = self->state;
  if (st.closing && st.unflushed == 0 && st.in_flight == 0) self->quit();
}

/// A request to the node on behalf of a handle; `on_answer` gets its
/// answer. Counted in flight until it is answered or times out.
template <class Answer, class OnAnswer, class... Ts>
void forward(mirror_actor* self, OnAnswer on_answer, Ts&&... xs) {
  auto& st = self->state;
  ++st.in_flight;
  auto done = [self] {
    --self->state.in_flight;
    quit_if_drained(self);
  };
  self->request(st.server, st.shared->options.command_timeout,
                std::forward<Ts>(xs)...)
      .then(
          [on_answer, done](Answer answer) {
            on_answer(answer);
            done();
          },
          [done](caf::error&) { done(); });
}

void begin_close(mirror_actor* self) {
  auto& st = self->state;
  if (st.closing) return;
  st.closing = true;
  ++st.attempt;  // a connection under way is dropped, no retry is armed
  st.greeting_stop.request_stop();
  st.shared->set_status(node_status::closed);
  st.quit_by = clock::now() + st.shared->options.command_timeout +
               st.shared->remoting.heartbeat_interval;
  // close_node() cleared the ports it found; this also clears those of
  // processes a push added meanwhile. What the forwarders hold now is all.
  for (auto& [name, p] : st.processes) {
    p.record->port.store(nullptr);
    self->send(p.forwarder, r_flush_atom::value);
  }
  st.unflushed = st.processes.size();
  quit_if_drained(self);
}

caf::behavior node_mirror(mirror_actor* self,
                          std::shared_ptr<node_shared> shared) {
  self->state.shared = std::move(shared);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.server && msg.source == self->state.server.address())
      lose(self);
  });
  attempt(self);
  const auto heartbeat = self->state.shared->remoting.heartbeat_interval;
  self->delayed_send(self, heartbeat, r_tick_atom::value);
  auto from_server = [self] {
    if (self->state.shared->status() != node_status::connected) return false;
    self->state.shared->touch();
    return true;
  };
  return {
      [self, from_server](r_state_atom, const wire_state& w) {
        if (from_server()) apply(self, w, false);
      },
      [self, from_server](r_gone_atom, const std::string& name) {
        if (from_server()) drop_process(self, name);
      },
      [from_server](r_alive_atom) { from_server(); },
      [self, heartbeat](r_tick_atom) {
        auto& st = self->state;
        // A bound on the drain, should an answer never come back.
        if (st.closing && clock::now() >= st.quit_by) return self->quit();
        const auto last = clock::time_point{clock::duration{
            st.shared->last_contact_ns.load(std::memory_order_relaxed)}};
        if (st.shared->status() == node_status::connected &&
            clock::now() - last > st.shared->remoting.connection_timeout)
          lose(self);
        self->delayed_send(self, heartbeat, r_tick_atom::value);
      },
      [self](r_retry_atom, std::uint64_t which) {
        if (which == self->state.attempt && !self->state.server) attempt(self);
      },
      [self](r_lcmd_atom, const std::string& name, std::uint64_t ticket,
             int kind) {
        if (!self->state.server) return;  // the waiter times out
        auto applied = [self, name, ticket](std::uint64_t node_ticket) {
          auto it = self->state.processes.find(name);
          if (it == self->state.processes.end()) return;
          auto& p = it->second;
          p.pending.emplace_back(node_ticket, ticket);
          if (settle(p)) publish(p, p.last);
        };
        forward<std::uint64_t>(self, applied, r_cmd_atom::value, name, kind);
      },
      [self](r_lsignal_atom, const std::string& name, int sig) {
        if (!self->state.server) return;
        forward<int>(
            self, [](int) {}, r_signal_atom::value, name, sig);
      },
      [self](r_greeted_atom, std::uint64_t which, const caf::error& e) {
        if (which != self->state.attempt) return;  // closed, or superseded
        if (e) return attempt_failed(self, which, e);
        connect_middleman(self, which);
      },
      [self](r_close_atom) { begin_close(self); },
      [self](r_flushed_atom) {
        --self->state.unflushed;
        quit_if_drained(self);
      },
      [self](r_lsub_atom, const std::string& name, const caf::actor& who) {
        auto it = self->state.processes.find(name);
        if (it != self->state.processes.end())
          it->second.subscribers.push_back(who);
      },
      [self](r_lunsub_atom, const std::string& name, const caf::actor& who) {
        auto it = self->state.processes.find(name);
        if (it != self->state.processes.end())
          std::erase(it->second.subscribers, who);
      },
  };
}

}  // namespace

caf::actor spawn_node_mirror(caf::actor_system& system,
                             std::shared_ptr<node_shared> shared) {
  return system.spawn(node_mirror, std::move(shared));
}

void close_node(node_shared& shared) {
  caf::actor mirror;
  {
    std::lock_guard lock{shared.actor_mutex};
    mirror = std::move(shared.mirror);
    shared.mirror = nullptr;
    shared.server = nullptr;
    if (!mirror) return;  // closed before
    shared.draining = mirror;
  }
  // Closed first: the mirror applies no more pushes (no process is added).
  // Then no command enters; the mirror passes on what did.
  shared.set_status(node_status::closed);
  {
    auto view = shared.registry.snapshot();
    for (const auto& entry : view->entries()) entry->value->port.store(nullptr);
  }
  caf::anon_send(mirror, r_close_atom::value);
}

}  // namespace vitrine::detail
