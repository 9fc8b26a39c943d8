// process_actor: owns one supervised OS process. The only writer of its
// process_record's state. Internal to the actors/ library.
//
// Messages (see atoms.hpp):
//   start, bool fresh, bool until_running
//                    spawn now (or after the pending backoff delay); fresh:
//                    a new restart-limit window. Replies once the process
//                    runs or ended; until_running: not in a backoff (the
//                    supervisor grants the retry within its start)
//   stop, bool resting
//                    signal the group, SIGKILL after stop_timeout; replies
//                    once the child is reaped (by this actor, through its
//                    pidfd: the I/O thread only reports the exit); resting:
//                    the supervisor stops itself, so until its next start
//                    an exit after a start by hand ends `exited`
//   restart          stop, then start
//   signal, int      signal the process group (pidfd_send_signal)
//   shutdown         stop, reply, quit
//   get              reply with the current state (the messaging baseline)
//   subscribe/unsubscribe, actor
// and events of its child's run (run_event) from the I/O thread and its own
// timers. After an exit it reports (child_event, child_report) to its
// supervisor, which answers resume when the restart may go ahead, or deny.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "vitrine/detail/process_record.hpp"
#include "vitrine/process_spec.hpp"

namespace vitrine::detail {

struct runtime_context;

caf::actor spawn_process_actor(caf::actor_system& system,
                               std::shared_ptr<process_record> record,
                               process_spec spec,
                               const runtime_context& context,
                               caf::actor supervisor);

}  // namespace vitrine::detail
