// runtime::serve() and connect() behind the runtime's facade, and the
// node_handle's members.
#include "remote_hub.hpp"

#include <arpa/inet.h>

#include <caf/io/all.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <future>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "basp_socketpair.hpp"
#include "guard_tls.hpp"
#include "host_thread_scope.hpp"
#include "remote_guard.hpp"
#include "remote_node.hpp"
#include "remote_server.hpp"
#include "remote_spec.hpp"
#include "remote_tls.hpp"
#include "remote_wire.hpp"
#include "runtime_access.hpp"
#include "vitrine/core/deadline.hpp"

namespace vitrine {
namespace detail {

bool is_loopback_address(const std::string& address) {
  // Host names are compared without regard to ASCII case (RFC 4343), as
  // the resolver that binds it does.
  constexpr std::string_view localhost = "localhost";
  if (std::equal(address.begin(), address.end(), localhost.begin(),
                 localhost.end(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
                 }))
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

namespace {

[[noreturn]] void refuse_to_serve(const caf::actor& server,
                                  const serve_options& options,
                                  const std::string& why) {
  caf::anon_send_exit(server, caf::exit_reason::kill);
  throw std::runtime_error("vitrine: cannot serve on " + options.bind_address +
                           ":" + std::to_string(options.port) + ": " + why);
}

}  // namespace

remote_hub::remote_hub(remoting_options options)
    : options_(options), gate_(std::make_shared<supervise_gate>()) {}
remote_hub::~remote_hub() = default;

void remote_hub::require_enabled(caf::actor_system& system) const {
  // A borrowed system needs both: its middleman (configure_remoting() on
  // its config) and the runtime's options (what serve() and connect() use).
  if (!options_.enabled)
    throw std::runtime_error(
        "vitrine: remoting is not enabled: set "
        "runtime_options.remoting.enabled (with a borrowed actor system, "
        "also call configure_remoting() on its config)");
  if (!system.has_middleman())
    throw std::runtime_error(
        "vitrine: the borrowed actor system has no middleman: call "
        "configure_remoting(config, options.remoting) on its config before "
        "building it");
}

std::uint16_t remote_hub::serve(caf::actor_system& system,
                                const runtime::registry_type& registry,
                                const serve_options& options, runtime& rt,
                                std::stop_token stopping) {
  require_enabled(system);
  const host_thread_scope on_return;  // the server's spawn
  const bool tls = tls_enabled(system);
  if (!tls && !options.insecure && !is_loopback_address(options.bind_address))
    throw std::runtime_error(
        "vitrine: refusing to serve on " + options.bind_address +
        " without authentication (loopback means 127.0.0.0/8, ::1 or "
        "localhost in any case; other names are not looked up): bind a "
        "loopback address, use TLS "
        "(remoting_options.tls, vitrine node --tls-cert/--tls-key/--tls-ca), "
        "or accept the risk explicitly (serve_options.insecure, vitrine node "
        "--insecure)");
  gate_->open(rt);
  auto server = spawn_node_server(system, registry, options_.heartbeat_interval,
                                  options.accept_supervise ? gate_ : nullptr,
                                  std::move(stopping));
  // The guard reads BASP headers (under TLS, it is the TLS end and reads
  // the plaintext). BASP reaches the middleman only through the guard's
  // socketpairs: nothing listens behind it.
  const bool guarded = tls || options.max_message_bytes != 0;
  if (!guarded) {
    auto port = system.middleman().publish(server, options.port,
                                           options.bind_address.c_str(),
                                           options.reuse_address);
    if (!port) refuse_to_serve(server, options, system.render(port.error()));
    servers_.emplace_back(server, *port);
    return *port;
  }
  try {
    remote_guard::limits limits{options.max_message_bytes != 0
                                    ? options.max_message_bytes
                                    : UINT32_MAX,  // TLS, no limit asked
                                options.max_connections,
                                options_.connection_timeout,
                                nullptr,
                                options.tls_handshakes_per_second,
                                options.tls_handshakes_per_second_total};
    if (tls) limits.tls = std::make_shared<tls_server>(tls_files(system));
    guards_.push_back(std::make_unique<remote_guard>(
        options.bind_address, options.port,
        basp_socketpair_upstream(system, server), limits, options.on_refused));
  } catch (const std::exception& e) {
    const std::string why = e.what();
    refuse_to_serve(server, options,
                    why.starts_with("vitrine: ") ? why.substr(9) : why);
  }
  servers_.emplace_back(server, std::uint16_t{0});  // published nowhere
  return guards_.back()->port();
}

std::shared_ptr<node_shared> remote_hub::connect(
    caf::actor_system& system, remote_endpoint node,
    const connect_options& options) {
  require_enabled(system);
  std::erase_if(nodes_, [](const auto& w) { return w.expired(); });
  auto shared =
      std::make_shared<node_shared>(std::move(node), options, options_);
  const host_thread_scope on_return;  // the mirror's spawn
  {
    std::lock_guard lock{shared->actor_mutex};
    shared->mirror = spawn_node_mirror(system, shared);
  }
  nodes_.push_back(shared);
  return shared;
}

void remote_hub::close_supervise() {
  gate_->close();
}

void remote_hub::shutdown(caf::actor_system& system) {
  const host_thread_scope on_return;
  caf::scoped_actor self{system};
  // The processes have stopped: their last states go out first, while the
  // guards still relay the connections they travel on.
  const auto patience = std::min<std::chrono::milliseconds>(
      options_.connection_timeout, drain_patience);
  for (auto& [server, port] : servers_)
    self->request(server, patience * 2, r_drain_atom::value,
                  static_cast<std::int64_t>(patience.count()))
        .receive([](bool) {}, [](caf::error&) {});
  guards_.clear();  // no new connection from here on
  // Servers read the runtime's registry: they must be gone before it is.
  std::vector<caf::actor> stopping;
  for (auto& [server, port] : servers_) {
    system.middleman().unpublish(server, port);
    caf::anon_send_exit(server, caf::exit_reason::kill);
    stopping.push_back(server);
  }
  servers_.clear();
  for (auto& weak : nodes_)
    if (auto node = weak.lock()) {
      close_node(*node);
      // Closed here or earlier by node_handle::close(): either way it may
      // still be passing on its handles' commands.
      std::lock_guard lock{node->actor_mutex};
      if (node->draining) stopping.push_back(std::move(node->draining));
    }
  nodes_.clear();
  if (stopping.empty()) return;
  self->wait_for(stopping);
}

namespace {

/// One request to the node's server, and its answer, or the error it ended
/// with: the timeout, or `request_receiver_down` once the node's mirror has
/// ended (the handle closed: its runtime shuts down; or closed before).
/// From a short-lived actor that watches the mirror, not a scoped_actor:
/// the runtime's shutdown waits for every actor, and a scoped_actor would
/// hold it until `timeout` (an outside tester's ~runtime took 59.7 s with
/// a call of 60 s in flight to a stopped node).
template <class Reply, class... Ts>
caf::expected<Reply> request_node(node_shared& shared,
                                  std::chrono::milliseconds timeout, Ts... xs) {
  caf::actor server, mirror;
  {
    std::lock_guard lock{shared.actor_mutex};
    server = shared.server;
    mirror = shared.mirror;
  }
  if (!server || !mirror) return caf::make_error(caf::sec::invalid_argument);
  // The answer comes once: whichever of the reply and the mirror's end
  // comes first (the actor quits after it).
  auto answer = std::make_shared<std::promise<caf::expected<Reply>>>();
  auto result = answer->get_future();
  auto settled = std::make_shared<std::atomic<bool>>(false);
  auto settle = [answer, settled](caf::expected<Reply> value) {
    if (!settled->exchange(true)) answer->set_value(std::move(value));
  };
  // CAF adds the timeout to its clock: "forever" must not wrap around.
  timeout = core::at_most_longest_wait(timeout);
  auto& system = caf::actor_cast<caf::abstract_actor*>(server)->home_system();
  // The server as a spawn argument: CAF 0.17 binds a null reference to
  // the arguments of a function actor spawned without any (UBSan).
  auto ask = [=](caf::event_based_actor* self, const caf::actor& to) {
    self->monitor(mirror);
    self->set_down_handler([=](caf::down_msg&) {
      settle(caf::make_error(caf::sec::request_receiver_down));
      self->quit();
    });
    self->request(to, timeout, xs...)
        .then(
            [=](Reply& reply) {
              settle(std::move(reply));
              self->quit();
            },
            [=](caf::error& e) {
              settle(std::move(e));
              self->quit();
            });
  };
  {
    const host_thread_scope on_return;
    system.spawn(ask, server);
  }
  return result.get();
}

}  // namespace

}  // namespace detail

// -- node_handle
// ---------------------------------------------------------------

const remote_endpoint& node_handle::endpoint() const {
  return shared_->endpoint;
}

node_status node_handle::status() const noexcept {
  return shared_ ? shared_->status() : node_status::closed;
}

node_handle::clock::time_point node_handle::last_contact() const noexcept {
  if (!shared_) return {};
  return clock::time_point{clock::duration{
      shared_->last_contact_ns.load(std::memory_order_relaxed)}};
}

std::uint64_t node_handle::synchronisations() const noexcept {
  return shared_ ? shared_->synchronisations.load(std::memory_order_relaxed)
                 : 0;
}

std::string node_handle::last_error() const {
  return shared_ ? shared_->attempt_error() : std::string{};
}

std::uint64_t node_handle::missed_transitions() const noexcept {
  return shared_ ? shared_->missed_transitions.load(std::memory_order_relaxed)
                 : 0;
}

bool node_handle::stopping() const noexcept {
  return shared_ && shared_->stopping.load(std::memory_order_acquire);
}

bool node_handle::wait_connected(clock::time_point deadline) const {
  return wait_for_status(node_status::connected, deadline);
}

bool node_handle::wait_for_status(node_status s,
                                  clock::time_point deadline) const {
  return shared_ && shared_->wait_for(s, deadline);
}

process_handle node_handle::find(std::string_view name) const {
  if (!shared_) return {};
  return detail::runtime_access::make_handle(
      shared_->registry.find_shared(name), read_policy::hybrid());
}

std::uint64_t node_handle::node_version(std::string_view name) const {
  if (!shared_) return 0;
  // The node's registry holds mirrored_records only (remote_mirror.cpp).
  auto record = std::static_pointer_cast<detail::mirrored_record>(
      shared_->registry.find_shared(name));
  return record ? record->node_version.load(std::memory_order_relaxed) : 0;
}

std::vector<process_handle> node_handle::processes() const {
  std::vector<process_handle> out;
  if (!shared_) return out;
  auto view = shared_->registry.snapshot();
  for (const auto& entry : view->entries())
    out.push_back(detail::runtime_access::make_handle(entry->value,
                                                      read_policy::hybrid()));
  return out;
}

std::optional<core::process_state> node_handle::ask(
    std::string_view name, std::chrono::milliseconds timeout) const {
  if (!shared_) return std::nullopt;
  auto w = detail::request_node<detail::wire_state>(
      *shared_, timeout, detail::r_get_atom::value, std::string{name});
  if (!w) return std::nullopt;
  return detail::from_wire(*w, std::make_shared<const std::string>(w->name));
}

int node_handle::signal(std::string_view name, int sig,
                        std::chrono::milliseconds timeout) const {
  if (!shared_) return ENOTCONN;
  const auto answer = detail::request_node<int>(
      *shared_, timeout, detail::r_signal_atom::value, std::string{name}, sig);
  if (answer) return *answer;
  return answer.error() == caf::sec::request_timeout ? ETIMEDOUT : ENOTCONN;
}

void node_handle::close() {
  if (shared_) detail::close_node(*shared_);
}

}  // namespace vitrine
