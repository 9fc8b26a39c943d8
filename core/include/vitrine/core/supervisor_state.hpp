// supervisor_state: the immutable snapshot a supervisor actor publishes, the
// same way process states are published (see publication_cell.hpp), with the
// reason of its last failure and its last few transitions.
//
// Threads: written by its supervisor actor only; read from any thread.
// Cost: one small allocation per publish; the failure reason and the history
// are shared (a reference count bump) until they change, and the history is
// bounded (supervisor_history::capacity entries, copied when it changes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vitrine/core/bounded_history.hpp"

namespace vitrine::core {

enum class supervisor_status : std::uint8_t {
  starting,       ///< starting its children in order
  running,        ///< all children started
  restarting,     ///< one_for_all, rest_for_one: stopping and starting the
                  ///< children after a child exit (a one_for_one supervisor
                  ///< stays running while it restarts one child)
  shutting_down,  ///< stopping its children in reverse order
  stopped,        ///< shut down on request
  failed,         ///< restart intensity exceeded; children stopped
};

std::string_view to_string(supervisor_status status) noexcept;

/// Why a supervisor failed: the child whose restart exceeded the intensity,
/// how that child ended, and the window the restarts were counted in.
struct supervisor_failure {
  using clock = std::chrono::steady_clock;

  std::string child;  ///< the child's name
  std::string exit;   ///< "exit 1", "signal 9 (SIGKILL)", "failed (...)"
  std::uint32_t restarts_in_window = 0;  ///< restarts wanted, this one included
  std::uint32_t intensity = 0;
  std::chrono::milliseconds period{0};
  clock::time_point at{};
  /// The child went `failed` (it gave up restarting) under a one_for_all or
  /// rest_for_one supervisor, which cannot run its siblings without it;
  /// the restart counts are then those of the window so far.
  bool child_gave_up = false;

  /// "child 'web' (exit 1): restarting it would make 4 restarts within 5000
  /// ms, above intensity 3" (the refused restart counted, as in OTP),
  /// ("child 'web' (exit 1): not restarted, intensity 0 allows no restart"
  /// at intensity 0), or "child 'db' (exit 1) failed for good, and its
  /// siblings depend on it".
  std::string describe() const;
};

struct supervisor_transition {
  std::uint64_t version = 0;  ///< of the snapshot it was published in
  supervisor_status status = supervisor_status::starting;
  std::uint32_t restarts = 0;
  std::chrono::steady_clock::time_point at{};
  /// 1 for its first transition, one more for each after: a reader that
  /// saw number n and finds n + 3 next missed two (versions skip the
  /// snapshots that were not transitions).
  std::uint64_t number = 0;
};

/// The last few transitions of one supervisor, oldest first.
using supervisor_history = bounded_history<supervisor_transition, 16>;

struct supervisor_state {
  std::uint64_t version = 0;
  supervisor_status status = supervisor_status::starting;
  std::uint32_t child_count = 0;
  std::uint32_t restarts = 0;  ///< restart events it acted on, total
  std::shared_ptr<const std::string> name_storage;
  /// The last failure (kept after a later start), or null if it never
  /// failed.
  std::shared_ptr<const supervisor_failure> last_failure;
  /// Its transitions up to this snapshot, oldest first: an entry per
  /// change of status or of `restarts`. A snapshot that changes neither (a
  /// child added, a command applied) shares its predecessor's history, so
  /// the last entry's version may be older than `version`.
  std::shared_ptr<const supervisor_history> history;
  /// The ticket of the last command from a handle it applied (see
  /// supervisor_handle::start()); 0 before any.
  std::uint64_t applied_command = 0;

  std::string_view name() const noexcept {
    return name_storage ? std::string_view{*name_storage} : std::string_view{};
  }
};

}  // namespace vitrine::core
