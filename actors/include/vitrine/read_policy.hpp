// read_policy: the one seam between the ways host threads read what vitrine
// supervises. A runtime takes one at construction (runtime_options::reads)
// and never changes it; every read goes through it: process and supervisor
// states (the handles' read() and waits), and process lookups
// (runtime::find, for_each, the name check of supervise()). Owning actors
// ask it whether to publish their states while they live.
//
// Two policies exist:
//  * read_policy::hybrid() (the default, vitrine's design): actors publish
//    immutable snapshots; readers load them lock-free, wait on them with a
//    futex, find names in the lock-free registry, and never message an actor.
//  * the messaging baseline, baseline::messaging_reads() in the separate
//    vitrine::baseline target (built for bench/ and tests/, not installed):
//    readers ask the owning actor (request/response) and a directory actor;
//    actors publish nothing while they live, only their last state as they
//    quit (so handles read it after shutdown).
// Everything else (actors, supervision, commands, subscriptions, the status
// table) is the same code under both, so the benchmarks compare this seam.
//
// Threads: a policy is immutable and outlives every runtime and handle (a
// static object); any thread may call it. Costs: the hybrid read and wait
// paths are inline (publication_cell.hpp) behind one predictable branch:
// process handles test a pointer they keep (the record's cell, null under
// other policies), other callers a bool of the policy; the virtual members
// are called by a baseline's reads (one allocation each: the answer becomes
// a snapshot in a cell of the reading thread) and by lookups only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <type_traits>

#include "vitrine/core/registry.hpp"
#include "vitrine/detail/process_record.hpp"
#include "vitrine/detail/supervisor_record.hpp"
#include "vitrine/state_view.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace vitrine {
namespace detail {

struct runtime_access;  // vitrine's own code only (not installed)

/// Where a runtime's processes can be looked up: the lock-free registry
/// (every policy's writer side) and, for a policy that spawned one, the
/// directory actor (invalid once the runtime shut down).
struct name_source {
  const core::registry<process_record>& registry;
  const caf::actor& directory;
};

/// A non-owning callback over records, for the virtual lookups.
struct record_visitor {
  void* context;
  void (*call)(void* context, const std::shared_ptr<process_record>& record);
  void operator()(const std::shared_ptr<process_record>& r) const {
    call(context, r);
  }
};

}  // namespace detail

class read_policy {
 public:
  using clock = std::chrono::steady_clock;

  /// vitrine's design: read what the owning actors publish. Inline: its
  /// address is a link-time constant that handles compare against.
  static const read_policy& hybrid() noexcept;

  /// "hybrid", "messaging".
  std::string_view name() const noexcept { return name_; }
  /// True when owning actors publish every state as it changes and reads
  /// load it; false when reads ask the actors (who then publish only their
  /// last state, as they quit).
  bool reads_published() const noexcept { return reads_published_; }

  // -- reads (any thread) -----------------------------------------------------

  state_view<core::process_state> read(
      const detail::process_record& record) const {
    return state_view<core::process_state>{cell_to_read(record)};
  }
  state_view<core::supervisor_state> read(
      const detail::supervisor_record& record) const {
    return state_view<core::supervisor_state>{cell_to_read(record)};
  }

  /// The cell a read of `record` loads: the record's own where actors
  /// publish; else a cell of the calling thread into which the copy the
  /// owning actor answered has just been published. One view constructor
  /// for both, so that an inlined hybrid read stays in registers.
  const core::publication_cell<core::process_state>& cell_to_read(
      const detail::process_record& record) const {
    if (reads_published_) [[likely]]
      return record.state;
    return ask_into_thread_cell(record);
  }
  const core::publication_cell<core::supervisor_state>& cell_to_read(
      const detail::supervisor_record& record) const {
    if (reads_published_) [[likely]]
      return record.state;
    return ask_into_thread_cell(record);
  }

  /// Blocks until `pred(state)` holds or `deadline` passes: a futex sleep on
  /// the published cell, or (asking policies) a read every millisecond.
  /// Returns false at once when the owning actor has quit (its record's
  /// cell is closed) and its last state fails `pred`.
  template <class Record, class Predicate>
  bool wait_until(const Record& record, Predicate pred,
                  clock::time_point deadline) const {
    if (reads_published_) return record.state.wait_until(pred, deadline);
    for (;;) {
      // Closed once the actor quit: its last state is then in the record.
      const bool last = record.state.closed();
      if (pred(*read(record))) return true;
      if (last || clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
  }

  // -- lookups ----------------------------------------------------------------

  /// The process named `name`, or null.
  virtual std::shared_ptr<detail::process_record> find(
      const detail::name_source& names, std::string_view name) const;
  /// Calls f(const std::shared_ptr<detail::process_record>&) for every
  /// process in insertion order, at one revision; returns that revision.
  template <class F>
  std::uint64_t for_each_record(const detail::name_source& names, F&& f) const {
    using fn = std::remove_reference_t<F>;
    void* context = const_cast<std::remove_const_t<fn>*>(&f);
    return visit(names,
                 detail::record_visitor{context, [](void* c, const auto& r) {
                                          (*static_cast<fn*>(c))(r);
                                        }});
  }

  // -- what a baseline overrides ----------------------------------------------

  /// A copy of the current state, asked of the owning actor. Called only
  /// when !reads_published(). The default copies the published snapshot.
  virtual core::process_state ask(const detail::process_record& record) const;
  virtual core::supervisor_state ask(
      const detail::supervisor_record& record) const;
  /// The actor that answers lookups, spawned once per runtime, which may
  /// read `registry` (the runtime's, which outlives it); the default spawns
  /// none (lookups load the registry).
  virtual caf::actor spawn_directory(
      caf::actor_system& system,
      const core::registry<detail::process_record>& registry) const;
  virtual std::uint64_t visit(const detail::name_source& names,
                              detail::record_visitor visitor) const;

  read_policy(const read_policy&) = delete;
  read_policy& operator=(const read_policy&) = delete;

 protected:
  constexpr read_policy(std::string_view name, bool reads_published) noexcept
      : name_(name), reads_published_(reads_published) {}
  ~read_policy() = default;  // static objects only; never deleted

 private:
  // ask(record), published in the calling thread's cell of asked copies
  // (its views stay valid while later asks replace the copy).
  const core::publication_cell<core::process_state>& ask_into_thread_cell(
      const detail::process_record& record) const;
  const core::publication_cell<core::supervisor_state>& ask_into_thread_cell(
      const detail::supervisor_record& record) const;

  std::string_view name_;
  bool reads_published_;
};

namespace detail {
class hybrid_reads final : public read_policy {
 public:
  constexpr hybrid_reads() noexcept : read_policy("hybrid", true) {}
};
/// The one hybrid policy (read_policy.cpp).
extern const hybrid_reads hybrid_instance;
}  // namespace detail

inline const read_policy& read_policy::hybrid() noexcept {
  return detail::hybrid_instance;
}

}  // namespace vitrine
