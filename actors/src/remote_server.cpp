// The node server: the actor a runtime publishes on its port. It subscribes
// to every local process, forwards each transition to every subscribed
// mirror (remote_wire.hpp), answers a mirror's hello with a full snapshot,
// applies forwarded commands through ordinary process_handles, and sends a
// keepalive per heartbeat. Each heartbeat it also rescans the registry (new
// and removed processes) and re-reads every published state, forwarding
// any version it has not forwarded: a process whose transition raced the
// subscription is caught up within one heartbeat. A controller's
// supervise request (remote_spec.hpp) runs on a detached worker that calls
// the runtime's supervise() through the gate.
#include "remote_server.hpp"

#include <cerrno>
#include <csignal>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "atoms.hpp"
#include "command_port.hpp"
#include "remote_spec.hpp"
#include "remote_wire.hpp"
#include "runtime_access.hpp"

namespace vitrine::detail {
namespace {

struct watched_process {
  std::shared_ptr<process_record> record;
  /// Whether any state was forwarded, and the last one's version (a
  /// process that was never started is at version 0).
  bool forwarded = false;
  std::uint64_t forwarded_version = 0;
  bool seen = false;          // still in the registry at the last rescan
  bool removal_told = false;  // r_removing sent
};

/// Lets the map be searched by a process_state's name (a string_view)
/// without building a std::string per transition.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const noexcept {
    return std::hash<std::string_view>{}(name);
  }
};

struct server_state {
  const runtime::registry_type* registry = nullptr;
  std::chrono::milliseconds heartbeat{500};
  std::uint64_t scanned_revision = ~std::uint64_t{0};
  std::unordered_map<std::string, watched_process, name_hash, std::equal_to<>>
      processes;
  std::vector<caf::actor> mirrors;
  std::shared_ptr<supervise_gate> gate;
  unsigned supervising = 0;  // supervise workers in flight
  /// The runtime's shutdown began (r_stopping from `on_stopping`):
  /// commands are refused, and each mirror was told.
  bool stopping = false;
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_stopping;
};

/// Supervise requests served at once: each holds a thread (a detached
/// worker) until the process left `starting`.
constexpr unsigned max_supervising = 8;

using supervise_reply = caf::result<std::vector<std::string>,
                                    std::vector<std::string>, std::string>;

using server_actor = caf::stateful_actor<server_state>;

process_handle handle_of(const std::shared_ptr<process_record>& record) {
  return runtime_access::make_handle(record, read_policy::hybrid());
}

void broadcast(server_actor* self, const wire_state& w) {
  for (const auto& m : self->state.mirrors)
    self->send(m, r_state_atom::value, w);
}

/// Tells the mirrors once that the removal of `p` began. The flag is set
/// before the removal's stop: checked before each state is forwarded (that
/// stop's are), mirrors mark it removed before they publish them, as a
/// local handle reads removed() with that stop's first state; and each
/// heartbeat, for a process that was stopping already (no new state comes
/// until that stop ends). Before, a remote ctl waited out the whole stop,
/// then misreported it.
void tell_removal(server_actor* self, watched_process& p) {
  if (p.removal_told || !p.record->removed.load(std::memory_order_acquire))
    return;
  p.removal_told = true;
  for (const auto& m : self->state.mirrors)
    self->send(m, r_removing_atom::value, *p.record->name);
}

void forward_if_newer(server_actor* self, watched_process& p,
                      const core::process_state& s) {
  if (p.forwarded && s.version <= p.forwarded_version) return;
  p.forwarded = true;
  p.forwarded_version = s.version;
  tell_removal(self, p);
  if (!self->state.mirrors.empty()) broadcast(self, to_wire(s));
}

/// Stops watching `p`, and tells the mirrors that process is gone.
void forget(server_actor* self, const std::string& name,
            const watched_process& p) {
  handle_of(p.record).unsubscribe(caf::actor{self});
  for (const auto& m : self->state.mirrors)
    self->send(m, r_gone_atom::value, name);
}

/// New processes get subscribed, removed ones reported gone.
void rescan(server_actor* self) {
  auto& st = self->state;
  if (st.registry->revision() == st.scanned_revision) return;
  auto view = st.registry->snapshot();
  st.scanned_revision = view->revision();
  for (auto& [name, p] : st.processes) p.seen = false;
  for (const auto& entry : view->entries()) {
    const std::string& name = *entry->value->name;
    auto [it, added] = st.processes.try_emplace(name);
    if (added || it->second.record != entry->value) {
      // Another process under a known name (a reload replaced it): the
      // old one is gone first, so that mirrors take the new one, whose
      // versions start again from 1, as a new process (before, they kept
      // the old one's last state for good).
      if (!added) forget(self, name, it->second);
      it->second = watched_process{.record = entry->value, .seen = true};
      handle_of(entry->value).subscribe(caf::actor{self});
    }
    it->second.seen = true;
  }
  for (auto it = st.processes.begin(); it != st.processes.end();) {
    if (it->second.seen) {
      ++it;
      continue;
    }
    forget(self, it->first, it->second);
    it = st.processes.erase(it);
  }
}

void reconcile(server_actor* self) {
  for (auto& [name, p] : self->state.processes) {
    tell_removal(self, p);
    forward_if_newer(self, p, *p.record->state.read());
  }
}

/// Supervises a controller's spec on a worker thread; once it is added,
/// the mirrors get its state before the controller gets the reply.
supervise_reply supervise_for(server_actor* self, wire_spec& w) {
  auto& st = self->state;
  auto refuse = [](const char* why) -> supervise_reply {
    return {std::vector<std::string>{}, std::vector<std::string>{},
            std::string{why}};
  };
  if (!st.gate)
    return refuse(
        "the node does not accept supervise requests "
        "(serve_options::accept_supervise is off)");
  if (st.supervising >= max_supervising)
    return refuse("too many supervise requests in flight on the node");
  ++st.supervising;
  auto rp =
      self->make_response_promise<std::vector<std::string>,
                                  std::vector<std::string>, std::string>();
  auto worker = self->spawn<caf::detached>(supervise_worker, st.gate);
  self->request(worker, caf::infinite, r_sup_atom::value, std::move(w))
      .then(
          [self, rp](std::vector<std::string>& fields,
                     std::vector<std::string>& messages,
                     std::string& failure) mutable {
            --self->state.supervising;
            rescan(self);
            reconcile(self);
            rp.deliver(std::move(fields), std::move(messages),
                       std::move(failure));
          },
          [self, rp](caf::error& e) mutable {
            --self->state.supervising;
            rp.deliver(std::move(e));
          });
  return rp;
}

caf::behavior node_server(server_actor* self,
                          const runtime::registry_type* registry,
                          std::chrono::milliseconds heartbeat,
                          std::shared_ptr<supervise_gate> gate,
                          std::stop_token stopping) {
  self->state.registry = registry;
  self->state.gate = std::move(gate);
  self->state.heartbeat = heartbeat;
  // Runs in the thread that begins the shutdown (or here, if it has): a
  // message to this actor, through a weak reference (the state must not
  // keep its own actor alive).
  self->state.on_stopping =
      std::make_unique<std::stop_callback<std::function<void()>>>(
          std::move(stopping),
          [weak = caf::actor_cast<caf::weak_actor_ptr>(self)] {
            if (auto strong = weak.lock())
              caf::anon_send(caf::actor_cast<caf::actor>(strong),
                             r_stopping_atom::value);
          });
  rescan(self);
  self->set_down_handler([self](caf::down_msg& msg) {
    std::erase_if(self->state.mirrors, [&](const caf::actor& m) {
      return m.address() == msg.source;
    });
  });
  self->delayed_send(self, heartbeat, r_tick_atom::value);
  return {
      [self](state_changed_atom, const core::process_state& s) {
        auto it = self->state.processes.find(s.name());
        // Only the watched process's states: a replaced one under the
        // same name (its name storage is its own record's) still stops.
        if (it != self->state.processes.end() &&
            s.name_storage == it->second.record->name)
          forward_if_newer(self, it->second, s);
      },
      [self](r_stopping_atom) {
        self->state.stopping = true;
        for (const auto& m : self->state.mirrors)
          self->send(m, r_stopping_atom::value);
      },
      [self](r_tick_atom) {
        rescan(self);
        reconcile(self);
        for (const auto& m : self->state.mirrors)
          self->send(m, r_alive_atom::value);
        self->delayed_send(self, self->state.heartbeat, r_tick_atom::value);
      },
      // The runtime shuts down, its processes stopped: the last states
      // reach every mirror before the server goes (each mirror answers a
      // ping sent after them), so a clean stop reads as one, not as a
      // crash with the pids of processes gone. Answered once all answered
      // or within `patience` each.
      [self](r_drain_atom, std::int64_t patience_ms) -> caf::result<bool> {
        const std::chrono::milliseconds patience{patience_ms};
        rescan(self);
        reconcile(self);
        auto& mirrors = self->state.mirrors;
        if (mirrors.empty()) return true;
        auto promise = self->make_response_promise<bool>();
        auto left = std::make_shared<std::size_t>(mirrors.size());
        auto answered = [promise, left]() mutable {
          if (--*left == 0) promise.deliver(true);
        };
        for (const auto& m : mirrors)
          self->request(m, patience, r_ping_atom::value)
              .then([answered](r_ping_atom) mutable { answered(); },
                    [answered](caf::error&) mutable { answered(); });
        return promise;
      },
      [self](r_hello_atom, const caf::actor& mirror)
          -> caf::result<std::vector<wire_state>, bool> {
        rescan(self);
        std::vector<wire_state> snapshot;
        snapshot.reserve(self->state.processes.size());
        auto view = self->state.registry->snapshot();  // insertion order
        for (const auto& entry : view->entries())
          if (self->state.processes.count(*entry->value->name))
            snapshot.push_back(to_wire(*entry->value->state.read()));
        if (mirror &&
            std::find(self->state.mirrors.begin(), self->state.mirrors.end(),
                      mirror) == self->state.mirrors.end()) {
          self->monitor(mirror);
          self->state.mirrors.push_back(mirror);
        }
        // A node already stopping says so with the snapshot (no r_stopping
        // follows for this mirror: it is sent once, as the stop begins).
        return {std::move(snapshot), self->state.stopping};
      },
      [self](r_cmd_atom, const std::string& name,
             int kind) -> caf::result<std::uint64_t> {
        if (self->state.stopping)
          return caf::make_error(caf::sec::runtime_error,
                                 "the node is stopping");
        auto record = self->state.registry->find_shared(name);
        if (!record) return caf::make_error(caf::sec::invalid_argument, name);
        auto h = handle_of(record);
        process_command cmd;
        switch (static_cast<command_kind>(kind)) {
          case command_kind::start:
            cmd = h.start();
            break;
          case command_kind::stop:
            cmd = h.stop();
            break;
          case command_kind::restart:
            cmd = h.restart();
            break;
          case command_kind::kill:
            cmd = h.kill();
            break;
          default:
            return caf::make_error(caf::sec::invalid_argument, "command");
        }
        if (!cmd) return caf::make_error(caf::sec::invalid_argument, name);
        return cmd.ticket();
      },
      [self](r_get_atom, const std::string& name) -> caf::result<wire_state> {
        auto record = self->state.registry->find_shared(name);
        if (!record) return caf::make_error(caf::sec::invalid_argument, name);
        return to_wire(*record->state.read());
      },
      // Answered with the process actor's own result (0 once the group
      // was signalled), so a controller that exits right after the answer
      // has not lost the signal on its way.
      [self](r_signal_atom, const std::string& name,
             int sig) -> caf::result<int> {
        auto record = self->state.registry->find_shared(name);
        if (!record) return ENOENT;
        if (sig <= 0 || sig >= NSIG) return EINVAL;
        if (self->state.stopping) return ECANCELED;
        auto port = record->port.load();
        if (!port) return ECANCELED;  // its runtime is shutting down
        auto answer = self->make_response_promise<int>();
        self->request(port->owner(), caf::infinite, signal_atom::value, sig)
            .then([answer](int error) mutable { answer.deliver(error); },
                  [answer](caf::error&) mutable { answer.deliver(ECANCELED); });
        return answer;
      },
      [self](r_sup_atom, wire_spec& w) { return supervise_for(self, w); },
  };
}

}  // namespace

caf::actor spawn_node_server(caf::actor_system& system,
                             const runtime::registry_type& registry,
                             std::chrono::milliseconds heartbeat,
                             std::shared_ptr<supervise_gate> gate,
                             std::stop_token stopping) {
  return system.spawn(node_server, &registry, heartbeat, std::move(gate),
                      std::move(stopping));
}

}  // namespace vitrine::detail
