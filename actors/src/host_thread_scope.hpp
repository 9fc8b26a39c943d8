// host_thread_scope: undoes what a vitrine call leaves in CAF's per-thread
// state on the host thread that made it. CAF 0.17.6 keeps, per thread, a
// reference to an actor system's logger, taken by every spawn and every
// scoped_actor made on that thread (CAF_SET_LOGGER_SYS) and dropped only
// when the thread exits or takes another system's; ~actor_system waits
// until the logger's last reference is gone. So a runtime built (or used)
// on a host's main thread and destroyed on another thread waited forever
// for the main thread's reference (an outside tester, 2026-12-06). Each
// entry point that spawns or makes a scoped_actor on the caller's thread
// holds one of these: at its end the thread holds no system's logger
// (CAF's logging is compiled out in Debian's build: nothing else reads it).
// Internal to the actors/ library.
//
// Threads: a host (non-actor) thread. Cost: a thread-local load and a
// reference count decrement.
#pragma once

#include <caf/logger.hpp>

namespace vitrine::detail {

class host_thread_scope {
 public:
  host_thread_scope() = default;
  ~host_thread_scope() { caf::logger::set_current_actor_system(nullptr); }
  host_thread_scope(const host_thread_scope&) = delete;
  host_thread_scope& operator=(const host_thread_scope&) = delete;
};

}  // namespace vitrine::detail
