// Internal to vitrine_os: the messages a host (guardian.cpp) and a freshly
// cloned child (launch_child.cpp) send to the guardian process, and the one
// it sends back, one record per SOCK_SEQPACKET message. Plain data: the child
// builds one with raw system calls only.
#pragma once

#include <cstdint>

namespace vitrine::os::detail {

enum guardian_op : std::uint32_t {
  guardian_add = 1,     ///< guard process group `pgid`
  guardian_remove = 2,  ///< forget it (its leader is about to be reaped)
  guardian_quit = 3,    ///< the host shuts down normally: kill nothing
  /// The other way, guardian to host: it left the host's session, so a
  /// kill of the host's process group no longer reaches it.
  guardian_ready = 4,
};

struct guardian_record {
  std::uint32_t op;
  std::int32_t pgid;
};

}  // namespace vitrine::os::detail
