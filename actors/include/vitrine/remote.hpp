// remote: vitrine nodes over CAF's middleman (libcaf_io; TLS,
// remoting_options::tls, is vitrine's own, with OpenSSL, on both ends). A
// runtime can serve its processes to remote controllers (runtime::serve) and a
// runtime can mirror a node's processes (runtime::connect, which returns a
// node_handle). See docs/distribution.md for the design.
//
// A node_handle's find(name) returns the same process_handle type as local
// processes. Its read() loads the local mirror cell that the mirror actor
// (one per node_handle, in the controller) publishes as the node pushes its
// states: a read never crosses the network and costs what a local read
// costs. Commands (start/stop/restart/signal/kill) are forwarded to the node
// with a timeout; their process_command waits on the mirrored state as a
// local one does. node_handle::supervise(spec) sends a new process_spec to
// the node, which supervises it under its own root supervisor as a local
// runtime::supervise() would (the node owns it: it restarts it and keeps
// it running when the controller goes away); the call returns the new
// process's mirrored handle.
//
// When the node is lost (connection closed, or silent past the connection
// timeout) every mirrored state becomes process_status::unknown, keeping
// its last known fields; last_contact() tells when the node was last heard.
// The mirror reconnects with backoff and replaces every state by the node's
// snapshot (transitions it missed are counted in missed_transitions(), never
// invented).
//
// Threads: node_handle and its process_handles may be used from any thread.
// Costs: find() is a lock-free registry lookup, read() a guarded pointer
// load; connect() returns at once (the first snapshot arrives
// asynchronously: wait_connected()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitrine/process_handle.hpp"
#include "vitrine/process_spec.hpp"

namespace caf {
class actor;
class actor_system_config;
}  // namespace caf

namespace vitrine {

/// A TCP endpoint, "HOST:PORT" (IPv4 or a host name; "[v6]:PORT" too).
struct remote_endpoint {
  std::string host;
  std::uint16_t port = 0;

  /// Parses "HOST:PORT" (PORT 1..65535 in decimal digits; HOST a name or
  /// IPv4 address of letters, digits, '.', '-', '_' up to 253 characters,
  /// or "[v6]" with an optional %zone); nullopt if malformed.
  static std::optional<remote_endpoint> parse(std::string_view text);
  std::string to_string() const;
};

/// TLS with certificates on both sides (OpenSSL): every
/// connection of a runtime that sets remoting_options::tls is TLS, and
/// each peer must present a certificate that `ca_file` signed (a node
/// refuses a controller without one, a controller a node without one).
/// Files are PEM; they are checked (readable, parseable, key matching the
/// certificate) when the runtime is built; a node reads them again when
/// serve() starts, and a controller before each connection attempt (a
/// bad one fails the attempt by name): do not change them under a running
/// runtime (restart to rotate). Peer names are not checked: any certificate the
/// CA signed is accepted, as node or controller (use a CA for vitrine alone).
/// Needs `enabled`. See docs/distribution.md, "TLS with client certificates".
struct tls_options {
  std::string certificate;  ///< this side's certificate (chain), PEM
  std::string key;          ///< its private key, PEM
  std::string ca_file;      ///< the CA(s) a peer's certificate must chain to
  std::string passphrase;   ///< for an encrypted key; empty: not encrypted
};

/// How a runtime's actor system talks to other nodes: fixed when the system
/// is built (CAF reads these at construction), on both sides.
struct remoting_options {
  /// Load CAF's middleman (a multiplexer thread) so that serve() and
  /// connect() work. Off by default: a runtime that never goes remote pays
  /// nothing for it.
  bool enabled = false;
  /// CAF's heartbeat: each side sends one per interval on every
  /// connection; the connection timeout drops a peer silent that long.
  /// Both sides must set both (a timeout on one side only drops healthy
  /// idle peers). The node server also pushes a keepalive per interval, and
  /// a mirror that hears nothing for connection_timeout marks the node
  /// lost: a frozen node is `unknown` within about interval + timeout.
  /// Each from 1 ms to a day (std::invalid_argument otherwise: 0 made
  /// CAF and the mirrors spin or drop every connection).
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds connection_timeout{2000};
  /// Whether CAF itself drops a connection silent for connection_timeout
  /// (its middleman.connection-timeout; heartbeats are sent either way).
  /// CAF 0.17 counts an outgoing connection as silent since forever until
  /// its handshake ends: one not finished by CAF's next heartbeat tick (at
  /// most heartbeat_interval away) fails with sec::connection_timeout, so
  /// a node slower than that to answer (stopped for a second, overloaded)
  /// is never reached, whatever connect_options::attempt_timeout says. A
  /// runtime that only connects may turn this off: attempt_timeout then
  /// bounds each attempt and its mirrors still mark a node silent for
  /// connection_timeout lost, but a connection to a vanished host stays
  /// open until TCP gives up. A runtime that serves needs it (it drops
  /// silent controllers).
  bool drop_silent_connections = true;
  /// TLS for every connection (serve() and connect()); nullopt: plain
  /// BASP, unauthenticated. With TLS, certificate, key and ca_file are all
  /// required (mutual authentication); a missing, unreadable or malformed
  /// file, or a key that does not match the certificate, throws
  /// std::invalid_argument naming the file when the runtime is built.
  std::optional<tls_options> tls;
};

/// For an application that lends a runtime its own actor system: loads
/// the middleman (and, with options.tls, keeps the certificate files,
/// checked first: std::invalid_argument naming a bad file), sets the heartbeat
/// and timeout and registers vitrine's remote message types into `config`
/// (before the system is built).
void configure_remoting(caf::actor_system_config& config,
                        const remoting_options& options);

/// What runtime::serve() binds.
struct serve_options {
  /// The address to listen on. Without TLS (remoting_options::tls),
  /// anything but a loopback address is refused unless `insecure` is set;
  /// with TLS any address is accepted (peers must hold a certificate). See
  /// docs/distribution.md, "Threat model".
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port (serve() returns it)
  /// Accept an unauthenticated non-loopback bind (no effect with TLS).
  bool insecure = false;
  bool reuse_address = true;
  /// Run the specs controllers send (node_handle::supervise()): any peer
  /// that reaches BASP can then start any program as this process's user.
  /// Off by default: such a request is refused with an error saying so.
  bool accept_supervise = false;
  /// The largest BASP payload a peer may announce. CAF 0.17 has no limit
  /// (a header announcing ~4 GiB makes it allocate that much), so the
  /// node's port is a small relay that checks each header from a peer and
  /// closes the connection past this; CAF itself listens nowhere (the
  /// relay hands it each connection over a socketpair).
  /// With TLS the relay is always there and is the TLS end: it checks the
  /// decrypted headers the same way (0: no limit), and closes a peer whose
  /// handshake fails or has not finished within
  /// remoting_options::connection_timeout. Without TLS, 0: no relay, CAF
  /// listens on the address itself (one hop less, and no protection).
  std::uint32_t max_message_bytes = 16u << 20;
  /// With the relay (above): connections served at once; a new one past
  /// this is closed at accept. The relay also closes a peer silent longer
  /// than remoting_options::connection_timeout (CAF's own timeout applies
  /// only after its handshake, so a connection that never speaks would
  /// otherwise stay open). Each costs two 16 KiB buffers and CAF's state.
  std::uint32_t max_connections = 256;
  /// With TLS: TLS handshakes the relay starts a second for one peer
  /// address (an IPv4 address, an IPv6 /64), in bursts of as many; past
  /// it a new connection from there is closed at accept, before any TLS
  /// work. A handshake costs the node about 0.7 ms of CPU whether or not
  /// the peer holds a certificate: this bounds what one address can spend.
  /// 0: no limit.
  std::uint32_t tls_handshakes_per_second = 20;
  /// With TLS: TLS handshakes the relay starts a second from all peers
  /// together, in bursts of as many (past it, closed at accept as above):
  /// bounds what a flood from many addresses costs the node (100: about
  /// 7% of a core in handshakes), at the price that during one a new
  /// controller's connections are refused like the flood's until one is
  /// admitted (it retries; connections made before are not touched).
  /// 0: no limit.
  std::uint32_t tls_handshakes_per_second_total = 100;
  /// With the relay: called for each connection it closes on its own
  /// (bad framing, an oversized message, silence, max_connections; with
  /// TLS, a handshake that failed or did not end, with OpenSSL's reason,
  /// or one over tls_handshakes_per_second or its _total)
  /// and each one CAF closed while the peer still had it open,
  /// with the peer's "HOST:PORT" and why, on the relay's thread: keep it
  /// short (a slow one holds up every relayed connection) and rate-limit
  /// what it prints. Connections that end normally are not reported.
  /// Empty: nothing is reported.
  std::function<void(std::string_view peer, std::string_view why)> on_refused{};
};

/// How runtime::connect() reaches a node and retries.
struct connect_options {
  /// One connection attempt, its steps together: the port's greeting
  /// check (without TLS), TCP and CAF's handshake, the first snapshot.
  std::chrono::milliseconds attempt_timeout{2000};
  /// A forwarded command's round trip; also how long a close waits for
  /// the answers to commands already forwarded.
  std::chrono::milliseconds command_timeout{2000};
  /// Reconnection backoff after a loss: doubles from min to max.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
  // Each of the four from 1 ms to a day, backoff_max >= backoff_min:
  // runtime::connect() throws std::invalid_argument naming the field
  // otherwise (a zero backoff retried a closed port without pause).
};

/// Where a node is, as its mirror sees it.
enum class node_status : std::uint8_t {
  connecting,  ///< never synchronised yet
  connected,   ///< synchronised; states are pushed as they change
  lost,        ///< lost: every mirrored state is `unknown`; reconnecting
  closed,      ///< close() was called, or the runtime shut down
};
std::string_view to_string(node_status status) noexcept;

namespace detail {
struct node_shared;
}

/// A controller's view of one node: what runtime::connect() returns.
/// Copies share one mirror; the mirror stops when close() is called or the
/// runtime shuts down, after passing on what its handles sent (handles
/// found through it then keep their last state).
class node_handle {
 public:
  using clock = std::chrono::steady_clock;

  node_handle() = default;
  explicit operator bool() const noexcept { return shared_ != nullptr; }

  const remote_endpoint& endpoint() const;
  node_status status() const noexcept;
  /// The last time a message from the node arrived (its keepalives
  /// included); epoch before the first.
  clock::time_point last_contact() const noexcept;
  /// Snapshots applied (1 after the first synchronisation, +1 per
  /// reconnection).
  std::uint64_t synchronisations() const noexcept;
  /// Transitions of mirrored processes the mirror never saw (they happened
  /// while the node was unreachable): the sum, over resynchronisations, of
  /// version jumps past the one the snapshot carried.
  std::uint64_t missed_transitions() const noexcept;
  /// True once the node said that its runtime began to shut down (its
  /// shutdown() or begin_shutdown(), e.g. `vitrine node` on SIGTERM): it
  /// refuses commands from then on (process commands are dropped, as on a
  /// lost connection; signal() fails with ECANCELED), while the states of
  /// its programs' stop still arrive, until it closes the connection.
  /// Every mirrored process is published again when it turns true, so a
  /// waiter on any of them wakes and can check it; a wait does not end by
  /// itself (a command's wait would sleep to its deadline): put
  /// `node.stopping()` in its predicate, as `vitrine ctl --node` does.
  /// A node already stopping when the mirror connects says so with its
  /// snapshot: true as soon as wait_connected() returns. Stays true while
  /// the node is then lost; false again after the next synchronisation
  /// with a node that is not stopping (one run again at that address).
  /// One atomic load.
  bool stopping() const noexcept;
  /// Why the node was lost (its connection closed, with CAF's reason, or
  /// it was silent past the connection timeout), then why the last
  /// connection attempt failed, as CAF reports it (e.g. a refused
  /// connection, a name that does not resolve, no answer from a vitrine
  /// node in attempt_timeout); "" once connected, and before any loss or
  /// failed attempt.
  std::string last_error() const;

  /// Blocks until the node is connected and synchronised (true), or until
  /// `deadline` (false).
  bool wait_connected(clock::time_point deadline) const;
  /// Blocks until status() == s or `deadline`.
  bool wait_for_status(node_status s, clock::time_point deadline) const;

  /// The mirrored process named `name`, or an empty handle (lock-free).
  process_handle find(std::string_view name) const;
  /// The version the node's own process actor gave the state the mirror
  /// holds for `name` (0 for a name it does not hold). A mirrored state's
  /// `version` counts the mirror's publications instead (its `unknown`
  /// states included, starting at 1 in each controller); this one is the
  /// node's and the same in every controller. Lock-free; read apart from
  /// the state, so it may be newer than a state read just before.
  std::uint64_t node_version(std::string_view name) const;
  /// Every mirrored process, in the node's order (the order its own
  /// status lists them: each synchronisation takes it from the snapshot,
  /// and a process the node adds later comes last on both sides).
  std::vector<process_handle> processes() const;

  /// The messaging baseline across the network: asks the node for the
  /// current state of `name` (one request, one round trip over the
  /// middleman, plus a short-lived actor per call); nullopt when the node
  /// is not connected, does not know `name`, or `timeout` passes, or once
  /// the handle is closed (its runtime's shutdown: a call in flight ends
  /// then, not at `timeout`). Blocks; not from an actor. For comparison with
  /// find(name).read(), which stays local. A `timeout` of
  /// core::longest_wait (about 100 years) or more, milliseconds::max()
  /// included, waits without limit; signal() reads it so too.
  std::optional<core::process_state> ask(
      std::string_view name, std::chrono::milliseconds timeout) const;

  /// Sends `sig` to the process group of the node's process `name` and
  /// waits for the node's answer, unlike find(name).signal(sig), which
  /// returns once the request is queued here (a controller that exits
  /// right after it may lose it). Returns 0 once the node's process actor
  /// signalled the group, or an errno: ENOENT (the node has no process
  /// `name`), EINVAL (`sig` outside 1..NSIG-1), ESRCH (no child then:
  /// stopped, exited, backoff), ETIMEDOUT (no answer within `timeout`),
  /// ENOTCONN (not connected, the connection failed, or an empty or closed
  /// handle; a call in flight ends so once the handle is closed, by its
  /// runtime's shutdown), ECANCELED (the node is shutting down). One
  /// request, one round trip, plus a short-lived actor per call. Blocks;
  /// not from an actor.
  int signal(std::string_view name, int sig,
             std::chrono::milliseconds timeout) const;

  /// Has the node supervise `spec` under its root supervisor, as its own
  /// runtime::supervise(spec) would: the node validates it (its program,
  /// cwd and log directories are looked up on the node), adds it, starts it
  /// if spec.autostart and answers once it left `starting`; the call then
  /// waits for the process to appear in this mirror and returns its
  /// handle. Every process_spec field crosses (paths name the node's
  /// files); launch.cgroup_killed, the node's own record of a killed
  /// cgroup, cannot and is refused (as validate() refuses it and
  /// launch.cgroup everywhere: the runtime sets both). The node checks the spec
  /// as untrusted input (counts, sizes, enum values) before validate(). The
  /// node must serve with serve_options::accept_supervise. Throws, as
  /// runtime::supervise() does: spec_error for a field that cannot cross, an
  /// invalid spec or a name already supervised on the node (problems() lists
  /// each); std::runtime_error naming the node when it is not connected within
  /// connect_options::command_timeout, does not answer within command_timeout +
  /// spec.startsecs (it may still add the process: find() will show it), does
  /// not accept supervise requests, shuts down, or the handle is closed or
  /// empty. Blocks; not from an actor.
  process_handle supervise(const process_spec& spec) const;

  /// Closes the node (idempotent; status() is `closed` from here on):
  /// handles keep their last state and send no more commands. Commands and
  /// signals they sent before are still forwarded: the mirror quits once
  /// the node answered each, or it timed out (command_timeout). Returns at
  /// once; runtime::shutdown() waits for the mirror.
  void close();

 private:
  friend class runtime;
  explicit node_handle(std::shared_ptr<detail::node_shared> shared) noexcept
      : shared_(std::move(shared)) {}
  std::shared_ptr<detail::node_shared> shared_;
};

}  // namespace vitrine
