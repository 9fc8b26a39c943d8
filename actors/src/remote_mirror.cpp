// The mirror: one actor per node_handle in the controller. It connects to
// the node asynchronously (remote_mirror_link.cpp: the middleman actor's
// connect, or the OpenSSL module's with TLS, with a timeout),
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
#include <caf/all.hpp>

#include <algorithm>

#include "atoms.hpp"
#include "command_port.hpp"
#include "remote_mirror_state.hpp"

namespace vitrine::detail {
namespace {

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

/// A command from elsewhere (another controller, the node's own host)
/// that the node applied after every command of this controller's is given
/// this controller's next ticket, so that a wait on an older ticket sees
/// its command overtaken (cli/command_effect.hpp) instead of waiting out
/// its timeout. Only while none of its commands is on its way or
/// unanswered: the ticket must come after every one taken so far, and
/// next_ticket_after() refuses when a handle took one the mirror has not
/// seen yet (this runs again as that command settles).
void map_foreign_commands(mirrored_process& p) {
  if (p.last.applied_command <= p.node_applied_mapped || p.unanswered != 0 ||
      !p.pending.empty())
    return;
  const auto ticket = p.port->next_ticket_after(p.last_ticket_received);
  if (!ticket) return;
  p.last_ticket_received = p.local_applied = *ticket;
  p.node_applied_mapped = p.last.applied_command;
}

/// Moves commands the node applied into local_applied, then maps those from
/// elsewhere; true if local_applied moved.
bool settle(mirrored_process& p) {
  const auto before = p.local_applied;
  while (!p.pending.empty() &&
         p.pending.front().first <= p.last.applied_command) {
    p.local_applied = std::max(p.local_applied, p.pending.front().second);
    p.node_applied_mapped =
        std::max(p.node_applied_mapped, p.pending.front().first);
    p.pending.pop_front();
  }
  map_foreign_commands(p);
  return p.local_applied != before;
}

mirrored_process& add_process(mirror_actor* self, const std::string& name) {
  auto& p = self->state.processes[name];
  auto name_ptr = std::make_shared<const std::string>(name);
  // Mirrored states are published as they arrive, whatever the policy.
  p.record = std::make_shared<mirrored_record>(
      name_ptr, process_record::publishing::as_it_runs);
  p.forwarder =
      self->spawn(forwarder, name, caf::actor_cast<caf::weak_actor_ptr>(self));
  p.port = std::make_shared<command_port>(p.forwarder);
  p.record->port.store(p.port);
  return p;  // into the registry once it holds a state (apply)
}

/// No publish follows: waits on the handles of `record` end now.
void close_cells(process_record& record) {
  record.history.close();
  record.state.close();
}

}  // namespace

void publish(mirrored_process& p, core::process_state s) {
  s.version = ++p.local_version;
  s.applied_command = p.local_applied;
  for (const auto& who : p.subscribers)
    caf::anon_send(who, state_changed_atom::value, s);
  // With its history, as a local process publishes (each entry stamped
  // when the mirror applied it): a mirrored handle's history() and
  // wait_for_status() see the brief states the node pushed (an outside
  // tester: the history stayed empty, and waits missed 14 of 200 brief
  // `backoff` states that the local handle caught).
  p.record->publish(std::move(s), std::chrono::steady_clock::now());
}

void drop_process(mirror_actor* self, const std::string& name) {
  auto it = self->state.processes.find(name);
  if (it == self->state.processes.end()) return;
  it->second.record->removed.store(true, std::memory_order_release);
  close_cells(*it->second.record);
  it->second.record->port.store(nullptr);
  self->send_exit(it->second.forwarder, caf::exit_reason::user_shutdown);
  self->state.shared->registry.erase(name);
  self->state.processes.erase(it);
}

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
  // Commands applied before this controller saw the process are no one's.
  if (added) p.node_applied_mapped = p.last.applied_command;
  settle(p);
  publish(p, p.last);
  if (!added) return;
  // Only now: a lookup never finds the record's initial, version-0 state
  // (node_handle::supervise returned such a handle when it looked between).
  self->state.shared->registry.insert(w.name, p.record);
  self->state.shared->notify_processes();
}

namespace {

/// Quits once closing and drained: every forwarder flushed and every
/// forwarded request answered.
void quit(mirror_actor* self) {
  for (auto& [name, p] : self->state.processes) close_cells(*p.record);
  self->quit();
}

void quit_if_drained(mirror_actor* self) {
  const auto& st = self->state;
  if (st.closing && st.unflushed == 0 && st.in_flight == 0) quit(self);
}

/// A request to the node on behalf of a handle; `on_answer` gets its
/// answer, `on_failure` is called instead when it fails or times out.
/// Counted in flight until then.
template <class Answer, class OnAnswer, class OnFailure, class... Ts>
void forward(mirror_actor* self, OnAnswer on_answer, OnFailure on_failure,
             Ts&&... xs) {
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
          [on_failure, done](caf::error&) {
            on_failure();
            done();
          });
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

/// How long nothing came from the node.
clock::duration silence(const mirror_state& st) {
  return clock::now() -
         clock::time_point{clock::duration{
             st.shared->last_contact_ns.load(std::memory_order_relaxed)}};
}

std::string silent_for(const mirror_state& st, clock::duration silent) {
  return "silent for " +
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(silent)
                 .count()) +
         " ms (connection timeout " +
         std::to_string(st.shared->remoting.connection_timeout.count()) +
         " ms)";
}

caf::behavior node_mirror(mirror_actor* self,
                          std::shared_ptr<node_shared> shared) {
  self->state.shared = std::move(shared);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.server || msg.source != st.server.address()) return;
    std::string why =
        "the connection closed (" + self->system().render(msg.reason) + ")";
    // CAF's own connection timeout closed it before our tick saw the
    // silence: a frozen or cut-off node, not one that closed it.
    const auto silent = silence(st);
    const auto& remoting = st.shared->remoting;
    if (silent >= remoting.connection_timeout - remoting.heartbeat_interval)
      why = silent_for(st, silent) + ", then " + why;
    lose(self, why);
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
      [self, from_server](r_removing_atom, const std::string& name) {
        if (!from_server()) return;
        // Before the removal's states, which follow: removed() holds for
        // a reader of the first of them, as locally. Its waiters wake and
        // see it (the process may be stopping already: no state comes
        // until that stop ends).
        auto it = self->state.processes.find(name);
        if (it == self->state.processes.end()) return;
        it->second.record->removed.store(true, std::memory_order_release);
        publish(it->second, it->second.last);
      },
      [self, from_server](r_gone_atom, const std::string& name) {
        if (from_server()) drop_process(self, name);
      },
      [from_server](r_alive_atom) { from_server(); },
      [self, from_server](r_stopping_atom) {
        if (!from_server()) return;
        self->state.shared->stopping.store(true, std::memory_order_release);
        // Waiters on any process wake and see it (node_handle::stopping()).
        for (auto& [name, p] : self->state.processes) publish(p, p.last);
        self->state.shared->notify_processes();
      },
      [](r_ping_atom) { return r_ping_atom::value; },
      [self, heartbeat](r_tick_atom) {
        auto& st = self->state;
        // A bound on the drain, should an answer never come back.
        if (st.closing && clock::now() >= st.quit_by) return quit(self);
        const auto silent = silence(st);
        if (st.shared->status() == node_status::connected &&
            silent > st.shared->remoting.connection_timeout)
          lose(self, silent_for(st, silent));
        self->delayed_send(self, heartbeat, r_tick_atom::value);
      },
      [self](r_retry_atom, std::uint64_t which) {
        if (which == self->state.attempt && !self->state.server) attempt(self);
      },
      [self](r_lcmd_atom, const std::string& name, std::uint64_t ticket,
             int kind) {
        auto it = self->state.processes.find(name);
        if (it == self->state.processes.end()) return;  // dropped: no port
        auto& sent = it->second;
        sent.last_ticket_received = std::max(sent.last_ticket_received, ticket);
        if (!self->state.server) return;  // the waiter times out
        ++sent.unanswered;
        // Looked up again: the process may be dropped (and added again)
        // before the answer.
        auto answered = [self, name]() -> mirrored_process* {
          auto it = self->state.processes.find(name);
          if (it == self->state.processes.end()) return nullptr;
          auto& p = it->second;
          p.unanswered -= p.unanswered != 0 ? 1 : 0;
          return &p;
        };
        auto applied = [answered, ticket](std::uint64_t node_ticket) {
          if (auto* p = answered()) {
            p->pending.emplace_back(node_ticket, ticket);
            if (settle(*p)) publish(*p, p->last);
          }
        };
        auto failed = [answered] {
          if (auto* p = answered(); p && settle(*p)) publish(*p, p->last);
        };
        forward<std::uint64_t>(self, applied, failed, r_cmd_atom::value, name,
                               kind);
      },
      [self](r_lsignal_atom, const std::string& name, int sig) {
        if (!self->state.server) return;
        forward<int>(
            self, [](int) {}, [] {}, r_signal_atom::value, name, sig);
      },
      [self](r_greeted_atom, std::uint64_t which, const caf::error& e) {
        if (which != self->state.attempt) return;  // closed, or superseded
        if (e) return attempt_failed(self, which, e);
        connect_middleman(self, which);
      },
      [self](r_tls_greeted_atom, std::uint64_t which, std::string& why,
             std::shared_ptr<tls_node_stream>& stream) {
        // Closed, or superseded: the stream, if any, closes with this.
        if (which != self->state.attempt) return;
        if (!why.empty()) return attempt_ended(self, which, std::move(why));
        connect_relayed(self, which, std::move(stream));
      },
      [self](r_close_atom) { begin_close(self); },
      [self](r_flushed_atom) {
        --self->state.unflushed;
        quit_if_drained(self);
      },
      [self](r_lsub_atom, const std::string& name, const caf::actor& who) {
        auto it = self->state.processes.find(name);
        if (it != self->state.processes.end()) it->second.subscribers.add(who);
      },
      [self](r_lunsub_atom, const std::string& name, const caf::actor& who) {
        auto it = self->state.processes.find(name);
        if (it != self->state.processes.end())
          it->second.subscribers.remove(who);
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
