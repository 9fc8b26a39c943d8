// remote_wire: what a node server and a controller's mirror exchange over
// CAF's middleman. Internal to the actors/ library.
//
// Protocol (all from one mirror actor to one server actor, or back):
//   mirror -> server  (r_hello, mirror)  -> (std::vector<wire_state>, bool)
//       subscribe; the reply is the full snapshot and whether the node is
//       already stopping (then no r_stopping follows), then the server pushes
//   server -> mirror  (r_state, wire_state)    one per transition, in order
//   server -> mirror  (r_removing, name)       its supervisor began to
//       remove it (a reload removed or replaced it): the states of that
//       removal's stop follow, then r_gone
//   server -> mirror  (r_gone, name)           the process left the node
//       (also the old one of a name a new process took)
//   server -> mirror  (r_alive)                keepalive, each heartbeat
//   server -> mirror  (r_stopping)             the node's runtime began to
//       shut down: commands are refused from now on (r_cmd with an error,
//       r_signal with ECANCELED); states go on until it closes
//   mirror -> server  (r_cmd, name, kind)      -> uint64_t node ticket
//   mirror -> server  (r_signal, name, sig)    -> int: 0 once the process
//       actor signalled the group, else an errno (ENOENT unknown name,
//       EINVAL no such signal, ESRCH no child, ECANCELED shutting down)
//   anyone -> server  (r_get, name)            -> wire_state
//       one state by request: the messaging baseline across the network
//   controller -> server  (r_sup, wire_spec)   node_handle::supervise
//       (remote_spec.hpp)
// Versions are the node's process_state versions: +1 per transition.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "vitrine/core/process_state.hpp"

namespace vitrine::detail {

using r_hello_atom = caf::atom_constant<caf::atom("vr_hello")>;
using r_state_atom = caf::atom_constant<caf::atom("vr_state")>;
using r_gone_atom = caf::atom_constant<caf::atom("vr_gone")>;
using r_removing_atom = caf::atom_constant<caf::atom("vr_remove")>;
using r_alive_atom = caf::atom_constant<caf::atom("vr_alive")>;
using r_stopping_atom = caf::atom_constant<caf::atom("vr_stop")>;
using r_cmd_atom = caf::atom_constant<caf::atom("vr_cmd")>;
using r_signal_atom = caf::atom_constant<caf::atom("vr_signal")>;
using r_get_atom = caf::atom_constant<caf::atom("vr_get")>;
/// Node to mirror, answered with itself: everything sent before it was
/// delivered (one connection keeps order).
using r_ping_atom = caf::atom_constant<caf::atom("vr_ping")>;
/// Hub to its node server as the runtime shuts down: push the last
/// states, see them delivered, then answer.
using r_drain_atom = caf::atom_constant<caf::atom("vr_drain")>;
// Controller-local (never on the wire).
using r_tick_atom = caf::atom_constant<caf::atom("vr_tick")>;
using r_retry_atom = caf::atom_constant<caf::atom("vr_retry")>;
using r_lcmd_atom = caf::atom_constant<caf::atom("vr_lcmd")>;
using r_lsignal_atom = caf::atom_constant<caf::atom("vr_lsignal")>;
using r_lsub_atom = caf::atom_constant<caf::atom("vr_lsub")>;
using r_lunsub_atom = caf::atom_constant<caf::atom("vr_lunsub")>;
using r_close_atom = caf::atom_constant<caf::atom("vr_close")>;
using r_flush_atom = caf::atom_constant<caf::atom("vr_flush")>;
using r_flushed_atom = caf::atom_constant<caf::atom("vr_flushed")>;
using r_greeted_atom = caf::atom_constant<caf::atom("vr_greeted")>;
using r_tls_greeted_atom = caf::atom_constant<caf::atom("vr_tlsgrt")>;

/// One process_state as it travels: plain fields, times as nanoseconds of
/// the node's steady clock with the node's "now" beside them (the mirror
/// rebases them on its own clock).
struct wire_state {
  std::string name;
  std::uint64_t version = 0;
  std::uint8_t status = 0;
  std::int32_t pid = 0;
  std::uint32_t restart_count = 0;
  std::uint8_t exit_how = 0;
  std::int32_t exit_value = 0;
  bool exit_core_dumped = false;
  std::int32_t spawn_errno = 0;
  std::int64_t started_ns = 0;
  std::int64_t ended_ns = 0;
  std::int64_t node_now_ns = 0;
  std::uint64_t applied_command = 0;
  std::string spawn_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_state& x) {
  return f(caf::meta::type_name("vitrine::wire_state"), x.name, x.version,
           x.status, x.pid, x.restart_count, x.exit_how, x.exit_value,
           x.exit_core_dumped, x.spawn_errno, x.started_ns, x.ended_ns,
           x.node_now_ns, x.applied_command, x.spawn_error);
}

/// The node's side: a published state as it goes on the wire.
wire_state to_wire(const core::process_state& s);
/// The controller's side: the state the mirror publishes (its own version
/// and command ticket are set by the mirror). Unknown status bytes become
/// process_status::unknown.
core::process_state from_wire(const wire_state& w,
                              std::shared_ptr<const std::string> name);

}  // namespace vitrine::detail
