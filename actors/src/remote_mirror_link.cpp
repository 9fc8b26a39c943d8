// The mirror's link to its node (remote_mirror_state.hpp): each attempt
// first checks the port's greeting (remote_greeting.hpp; with TLS, the
// handshake and greeting of remote_tls_greeting.hpp, whose connection a
// relay then carries, tls_relay.hpp), then connects through CAF's
// middleman, says hello and applies the snapshot; a loss marks every state
// `unknown` and retries with backoff.
#include <sys/socket.h>

#include <caf/io/all.hpp>
#include <caf/io/basp_broker.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "remote_connect_error.hpp"
#include "remote_greeting.hpp"
#include "remote_mirror_state.hpp"
#include "remote_tls.hpp"
#include "remote_tls_greeting.hpp"
#include "vitrine/remote.hpp"

namespace vitrine::detail {
namespace {

/// Arms the next attempt after the backoff (min, doubling up to max).
void schedule_retry(mirror_actor* self) {
  auto& st = self->state;
  const auto& o = st.shared->options;
  st.backoff = st.backoff.count() == 0
                   ? o.backoff_min
                   : std::min(o.backoff_max, st.backoff * 2);
  self->delayed_send(self, st.backoff, r_retry_atom::value, st.attempt);
}

/// Applies a full snapshot from `server` (processes it lacks are dropped,
/// the others put in its order) and marks the node connected.
void synchronise(mirror_actor* self, caf::actor server,
                 std::vector<wire_state>& snapshot, bool node_stopping) {
  auto& st = self->state;
  const bool resync = st.shared->synchronisations.load() != 0;
  // As the node is now: false for a new run, true for one that stops.
  st.shared->stopping.store(node_stopping, std::memory_order_release);
  std::unordered_map<std::string, bool> present;
  std::vector<std::string_view> order;  // the node's
  order.reserve(snapshot.size());
  for (const auto& w : snapshot) {
    present.emplace(w.name, true);
    order.push_back(w.name);
    apply(self, w, resync);
  }
  std::vector<std::string> gone;
  for (const auto& [name, p] : st.processes)
    if (!present.count(name)) gone.push_back(name);
  for (const auto& name : gone) drop_process(self, name);
  // A node restarted with another order, or that dropped and added back a
  // process while away: processes() lists them as the node does.
  st.shared->registry.arrange(order);
  st.shared->set_server(server);
  st.server = std::move(server);
  st.backoff = std::chrono::milliseconds{0};
  st.shared->touch();
  st.shared->synchronisations.fetch_add(1, std::memory_order_relaxed);
  st.lost_because.clear();
  st.shared->set_attempt_error({});
  st.shared->set_status(node_status::connected);
}

}  // namespace

void lose(mirror_actor* self, std::string why) {
  auto& st = self->state;
  if (st.shared->status() != node_status::connected) return;
  st.lost_because = why;
  st.shared->set_attempt_error(std::move(why));
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

void attempt_ended(mirror_actor* self, std::uint64_t me, std::string why) {
  auto& st = self->state;
  if (st.attempt != me) return;
  // Why the node was lost stays ahead of it (remote.hpp, last_error()).
  st.shared->set_attempt_error(
      st.lost_because.empty()
          ? std::move(why)
          : st.lost_because + "; since then, the last attempt: " + why);
  schedule_retry(self);
}

void attempt_failed(mirror_actor* self, std::uint64_t me, const caf::error& e) {
  if (self->state.attempt != me) return;
  attempt_ended(
      self, me,
      describe_attempt_error(self->system(), e,
                             self->state.shared->options.attempt_timeout));
}

/// What is left of the attempt's time (at least 1 ms: a request needs a
/// timeout, and the step then fails as timed out).
std::chrono::milliseconds attempt_time_left(const mirror_actor* self) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      self->state.attempt_deadline - clock::now());
  return std::max(left, std::chrono::milliseconds{1});
}

namespace {

/// The reply to a connect: the node's server actor; says hello to it.
template <class Pending>
void on_connected(mirror_actor* self, std::uint64_t me, Pending pending) {
  auto on_error = [self, me](caf::error& e) { attempt_failed(self, me, e); };
  std::move(pending).then(
      [self, me, on_error](const caf::node_id&, caf::strong_actor_ptr& ptr,
                           const std::set<std::string>&) {
        if (self->state.attempt != me) return;
        auto server = caf::actor_cast<caf::actor>(std::move(ptr));
        if (!server) return schedule_retry(self);
        self->monitor(server);
        self->request(server, attempt_time_left(self), r_hello_atom::value,
                      caf::actor{self})
            .then(
                [self, me, server](std::vector<wire_state>& snapshot,
                                   bool node_stopping) {
                  if (self->state.attempt == me)
                    synchronise(self, server, snapshot, node_stopping);
                },
                on_error);
      },
      on_error);
}

}  // namespace

void connect_middleman(mirror_actor* self, std::uint64_t me) {
  auto& st = self->state;
  on_connected(
      self, me,
      self->request(self->system().middleman().actor_handle(),
                    attempt_time_left(self), caf::connect_atom::value,
                    st.shared->endpoint.host, st.shared->endpoint.port));
}

void connect_relayed(mirror_actor* self, std::uint64_t me,
                     std::shared_ptr<tls_node_stream> stream) {
  auto& st = self->state;
  st.relay.reset();  // the previous connection's, if it still runs
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   ends) != 0)
    return attempt_ended(
        self, me,
        std::string{"cannot relay TLS: socketpair: "} + std::strerror(errno));
  auto& middleman = self->system().middleman();
  // CAF adopts ends[1] as a connection to the node (the broker writes the
  // client handshake and awaits the server's, which the relay hands it
  // first); the relay carries ends[0] to and from the TLS stream.
  auto scribe = middleman.backend().new_scribe(ends[1]);
  try {
    st.relay =
        std::make_unique<tls_relay>(std::move(stream), os::unique_fd{ends[0]});
  } catch (const std::exception& e) {  // ends[0] closed by its owner
    return attempt_ended(self, me,
                         std::string{"cannot relay TLS: "} + e.what());
  }
  auto broker = middleman.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  on_connected(
      self, me,
      self->request(broker, attempt_time_left(self), caf::connect_atom::value,
                    std::move(scribe), st.shared->endpoint.port));
}

/// A new connection attempt: the greeting check, CAF's connection and the
/// first snapshot, all within one attempt timeout. Without TLS the port's
/// first message is checked on a connection of our own before CAF reads
/// one (remote_greeting.hpp), by a detached actor: it blocks up to the
/// attempt timeout. Its answer is r_greeted.
void attempt(mirror_actor* self) {
  auto& st = self->state;
  const std::uint64_t me = ++st.attempt;
  st.attempt_deadline = clock::now() + st.shared->options.attempt_timeout;
  if (tls_enabled(self->system())) {
    // The files are read again for each attempt (a controller may run for
    // long): checked here first, a bad file fails this attempt by name
    // (the greeting's own failure would say only "not usable"), and a
    // later one succeeds once it is fixed.
    auto files = tls_files(self->system());
    try {
      check_tls_files(files);
    } catch (const std::exception& e) {
      const std::string_view why = e.what();  // "vitrine: TLS key '...': ..."
      return attempt_ended(
          self, me,
          std::string{why.substr(why.starts_with("vitrine: ") ? 9 : 0)});
    }
    // Our own handshake, waiting in poll() (CAF's spins while the node is
    // silent: remote_tls_greeting.hpp). Answer: r_tls_greeted.
    self->spawn<caf::detached>(
        [me](caf::event_based_actor* greeter, caf::actor mirror,
             remote_endpoint node, tls_options files,
             std::chrono::milliseconds timeout, std::stop_token stop) {
          auto greeting = greet_tls_node(node, files, timeout, stop);
          greeter->send(mirror, r_tls_greeted_atom::value, me,
                        std::move(greeting.error), std::move(greeting.stream));
        },
        caf::actor{self}, st.shared->endpoint, std::move(files),
        st.shared->options.attempt_timeout, st.greeting_stop.get_token());
    return;
  }
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

}  // namespace vitrine::detail
