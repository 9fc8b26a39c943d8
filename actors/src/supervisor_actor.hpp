// supervisor_actor: OTP-style supervisor of processes and nested
// supervisors. The only writer of its supervisor_record. Internal.
//
// Messages:
//   start                 start every child in order, each once the previous
//                         one runs; replies with the version from before
//   resume                the same, ordered by the parent (no reply)
//   stop, bool            stop every child in reverse order; replies
//   shutdown              like stop, then quit; replies first
//   command, ticket, kind from a handle (start or stop), published as
//                         applied_command
//   hold                  the parent's group restart will start us in our
//                         turn: a handle's start waits for it (on_command)
//   deny, 0               the parent stops: the hold ends
//   cancelled             the running operation was cancelled from outside
//                         (begin_shutdown, the parent): stop waiting on it
//   shutdown, true        like shutdown, and forget every process and
//                         supervisor of the tree (a removed child)
//   add_child, spec       (process_spec or supervisor_spec) add a child at the
//                         end, start it; replies with its record
//   change, request       from a handle: add, remove or replace a child
//                         (child_change_request.hpp), as one operation
//   child_event, report   from a child that ended (see child_report.hpp)
//   subscribe/unsubscribe, actor
//   get                   reply with the current state (for read policies
//                         that ask rather than read what is published)
// A supervisor runs one operation (a sequence of child requests) at a time,
// as an OTP supervisor does: child reports that arrive meanwhile wait until
// it ends. Every step is a request whose reply (or a timer) continues the
// sequence through the mailbox, so no sequence recurses per child. A stop
// (or shutdown) preempts start and restart sequences.
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "name_claims.hpp"
#include "publication_counter.hpp"
#include "status_table_writer.hpp"
#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/io_service.hpp"
#include "vitrine/process_spec.hpp"
#include "vitrine/runtime.hpp"
#include "vitrine/supervisor_handle.hpp"

namespace vitrine::detail {

/// What every actor of one runtime shares; owned by the runtime, which
/// outlives its actors.
struct runtime_context {
  os::io_service& io;
  runtime::registry_type& registry;
  /// Every supervisor by name (a second one with a taken name is not
  /// listed), for status listings.
  runtime::supervisor_registry_type& supervisors;
  /// How host threads read; decides whether actors publish while they live.
  const read_policy* reads;
  /// Kills every program's group (and cgroup) if the host dies; may be null.
  os::guardian* guardian = nullptr;
  /// One cgroup per program where cgroup v2 is writable; else null.
  os::cgroup_tree* cgroups = nullptr;
  /// The shared-memory status table, if the runtime publishes one.
  std::shared_ptr<status_table_writer> status_table;
  /// runtime::publications(): bumped after every change made visible.
  publication_counter* publications = nullptr;
  /// The names of children being added and not registered yet.
  name_claims* claims = nullptr;
  /// Stopped by runtime::shutdown() on the caller's thread, before any
  /// message: every start in flight is cancelled at once, however long the
  /// scheduler takes to reach the root's mailbox.
  std::stop_token shutting_down{};

  void published() const noexcept { publications->bump(); }

  using named_record = std::pair<std::string, std::shared_ptr<process_record>>;

  /// Why `name` cannot be given to a new process or supervisor (one
  /// namespace for both, as validate() checks within a tree); empty when
  /// it is free. A snapshot: the insert can still find it taken.
  std::string name_taken(std::string_view name) const;

  /// Claims every name in `names` (name_claims::claim): one problem (name,
  /// why) per name taken or being added, and then none is claimed.
  std::vector<std::pair<std::string, std::string>> claim_names(
      const std::vector<std::string>& names) const;
  /// Ends the claim on a name registered now (by its child's supervisor).
  void release_name(const std::string& name) const;
  /// Ends the claims on every name of `spec`'s tree: a child never to be
  /// registered (refused, or its supervisor gone before it built it).
  void release_tree_names(const child_spec& spec) const;

  /// Makes `record` findable by name; false if the name is taken.
  bool register_process(const std::string& name,
                        const std::shared_ptr<process_record>& record) const;
  /// Registers all of `records` in one registry revision (one table copy);
  /// false, registering none, if a name is taken or repeated.
  bool register_processes(std::vector<named_record> records) const;

  /// Forgets a process that was shut down (a removed child): frees its
  /// status-table slot, clears its command port, and erases its name from
  /// the registry, so the name may be used again.
  /// Handles keep the record: they read its last state. Only entries that
  /// are `record` itself are erased.
  void forget_process(const std::shared_ptr<process_record>& record) const;
  /// The same for a supervisor (its processes are forgotten by itself).
  void forget_supervisor(
      const std::shared_ptr<supervisor_record>& record) const;
};

caf::actor spawn_supervisor_actor(caf::actor_system& system,
                                  std::shared_ptr<supervisor_record> record,
                                  supervisor_spec spec,
                                  const runtime_context& context,
                                  caf::actor parent);

}  // namespace vitrine::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::process_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vitrine::supervisor_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<vitrine::detail::process_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(
    std::shared_ptr<vitrine::detail::supervisor_record>)
