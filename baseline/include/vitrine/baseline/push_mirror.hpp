// The push baseline: readers subscribe to the process actors
// (process_handle::subscribe, (state_changed_atom, process_state) messages)
// and read a local copy, instead of asking per read (messaging) or reading
// the owner's published snapshot (hybrid). Not part of the installed
// package: link vitrine::baseline (bench/ and tests/ do).
//
// push_mirror spawns one subscriber actor in the runtime's actor system. It
// subscribes to each given process, asks each owner once for its current
// state, and from then on writes every state it receives (newer versions
// only) into one state_seqlock per process. Host threads read a process's
// copy with read(i): a seqlock copy of the trivially copyable fields
// (pushed_state; the name and the spawn error text are strings, which a
// seqlock cannot copy: a reader knows the name it asked for).
//
// Threads: construct and destroy on a host thread (not inside an actor of
// the same system: the destructor waits for the subscriber to quit). read()
// and received() from any thread, any number of readers; the only writer of
// each seqlock is the subscriber actor. Costs: a read is two counter loads
// and 7 word loads (state_seqlock::words), never a message and never a lock
// (it retries while the subscriber writes); each transition of a watched
// process costs its actor one message send to the mirror (a copy of the
// state) and the mirror one handler run and a 7-word seqlock write. The copy
// is as stale as the mailbox is long: docs/study.md measures the staleness.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "vitrine/core/process_state.hpp"
#include "vitrine/process_handle.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::baseline {

/// The fields of a process_state a seqlock can copy (no strings).
struct pushed_state {
  std::uint64_t version = 0;  ///< 0: nothing received yet
  core::process_status status = core::process_status::stopped;
  pid_t pid = 0;
  std::uint32_t restart_count = 0;
  core::termination last_exit;
  int spawn_errno = 0;
  core::process_state::clock::time_point started_at{};
  core::process_state::clock::time_point ended_at{};
  std::uint64_t applied_command = 0;

  static pushed_state from(const core::process_state& s) noexcept;
};
static_assert(std::is_trivially_copyable_v<pushed_state>);

/// One writer, any number of readers; a reader copies the words between two
/// even, equal counter values. Every shared word is a std::atomic.
class alignas(64) state_seqlock {
 public:
  static constexpr std::size_t words = (sizeof(pushed_state) + 7) / 8;

  /// The single writer only.
  void store(const pushed_state& s) noexcept {
    std::array<std::uint64_t, words> buffer{};
    std::memcpy(buffer.data(), &s, sizeof s);
    const auto seq = sequence_.load(plain);
    sequence_.store(seq + 1, plain);
    fence(std::memory_order_release);  // odd before words
    for (std::size_t i = 0; i < words; ++i) words_[i].store(buffer[i], plain);
    sequence_.store(seq + 2, std::memory_order_release);  // words before even
  }

  /// Any thread. Never blocks; retries while a write is in progress.
  pushed_state load() const noexcept {
    std::array<std::uint64_t, words> buffer;
    for (;;) {
      const auto before = sequence_.load(std::memory_order_acquire);
      for (std::size_t i = 0; i < words; ++i) buffer[i] = words_[i].load(plain);
      fence(std::memory_order_acquire);  // words before
      if ((before & 1) == 0 && sequence_.load(plain) == before) break;
    }
    pushed_state s;
    std::memcpy(static_cast<void*>(&s), buffer.data(), sizeof s);
    return s;
  }

 private:
#if defined(VITRINE_TSAN)
  // ThreadSanitizer does not model fences (GCC rejects them with -Wtsan):
  // there every access is seq_cst instead, which orders them as well.
  static constexpr auto plain = std::memory_order_seq_cst;
  static void fence(std::memory_order) noexcept {}
#else
  static constexpr auto plain = std::memory_order_relaxed;
  static void fence(std::memory_order order) noexcept {
    std::atomic_thread_fence(order);
  }
#endif

  std::atomic<std::uint64_t> sequence_{0};
  std::array<std::atomic<std::uint64_t>, words> words_{};
};

static_assert(state_seqlock::words == 7, "update the cost comment above");

class push_mirror {
 public:
  /// Subscribes to every process in `processes` (non-empty handles of `rt`).
  push_mirror(runtime& rt, std::vector<process_handle> processes);
  /// Unsubscribes and waits for the subscriber actor to quit.
  ~push_mirror();
  push_mirror(const push_mirror&) = delete;
  push_mirror& operator=(const push_mirror&) = delete;

  std::size_t size() const noexcept { return count_; }
  /// The latest state of processes[i] the mirror has received.
  pushed_state read(std::size_t i) const noexcept { return copies_[i].load(); }
  /// Polls read(i) (yielding) until its version is at least `version`.
  bool wait_for_version(std::size_t i, std::uint64_t version,
                        std::chrono::steady_clock::time_point deadline) const;
  /// States received and written so far (initial replies included).
  std::uint64_t received() const noexcept {
    return received_.load(std::memory_order_acquire);
  }

 private:
  struct impl;
  std::size_t count_;
  std::unique_ptr<state_seqlock[]> copies_;
  std::atomic<std::uint64_t> received_{0};
  std::unique_ptr<impl> impl_;
};

}  // namespace vitrine::baseline
