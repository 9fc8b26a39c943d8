// spawn_slots: a few low-numbered descriptors that launch() hands a child
// its stdio, notify, cgroup and guardian fds through, so that the child copies
// only the descriptors below them instead of the host's whole fd table.
//
// Why: a child cloned without CLONE_FILES gets a copy of every descriptor
// of the host (one reference taken per fd) and its exec closes them all
// again (they are close-on-exec): O(open fds) per spawn. A supervisor holds
// two descriptors per running program (pidfds), so with 1,000 programs every
// spawn copied and closed ~2,000 of them. With slots the child shares the
// host's table until its first system call, which unshares it keeping only
// the descriptors below the highest slot it uses (close_range with
// CLOSE_RANGE_UNSHARE): the copy no longer grows with the fleet.
//
// What it holds: while at least one spawn_slots object lives, one
// process-wide pool of groups of /dev/null descriptors, opened when the
// first object is created (so create it early, while the table is small:
// the runtime does so in its constructor) and closed when the last one is
// destroyed. launch() takes a free group for the duration of one clone and
// puts /dev/null back into each slot it used. Without a live spawn_slots
// object, or when every group is taken by concurrent launches, launch()
// works as before and the child copies the descriptors below the highest
// one it needs.
//
// Thread contract: create and destroy from any thread; launch() may run
// concurrently on any thread. Cost: 1 + 6 x groups descriptors while alive
// (groups = the number of CPUs, between 4 and 32); per launch a mutex and
// two dup3() per descriptor handed to the child.
#pragma once

#include <memory>

namespace vitrine::os {

namespace detail {
class slot_pool;
}

class spawn_slots {
 public:
  /// Joins the process-wide pool, opening it if none is open. Throws
  /// std::system_error if the descriptors cannot be opened.
  spawn_slots();
  ~spawn_slots();
  spawn_slots(const spawn_slots&) = delete;
  spawn_slots& operator=(const spawn_slots&) = delete;

  /// The pool's descriptor count (what it adds to the process's open fds).
  [[nodiscard]] std::size_t descriptors() const noexcept;

 private:
  std::shared_ptr<detail::slot_pool> pool_;
};

}  // namespace vitrine::os
