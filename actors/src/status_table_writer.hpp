// status_table_writer: keeps the shared-memory status table (see
// core/status_table.hpp, os/status_mapping.hpp) current. The runtime owns
// one when runtime_options::status_table_path is set; every process and
// supervisor actor calls publish() right after publishing a state in its
// publication cell, so the table holds each published state.
//
// Threads: publish() and remove() may be called from any actor thread at
// once; a mutex serializes them (the table has one writer, and growth
// re-maps it). Readers in other processes never take it.
//
// Cost: publish() is one uncontended mutex plus a hash lookup and a
// 256-byte slot write; a new name may grow the file (fallocate + mremap,
// capacity doubled). The heartbeat is a thread that wakes once per period
// (1 s by default) to store the time in the header: an idle runtime wakes
// once a second for it, nothing more. A state the file had no room for (a
// full file system) is kept here and tried again by its next change and
// by each heartbeat. When another process shrinks the file, the mapping is
// repaired (os/src/truncation_rescue.hpp) and the next heartbeat writes the
// header again and asks on_damage()'s function for every state again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/status_table.hpp"
#include "vitrine/core/supervisor_state.hpp"
#include "vitrine/os/status_mapping.hpp"

namespace vitrine::detail {

class status_table_writer {
 public:
  /// Creates the table file at `path` (0600; throws std::system_error) and
  /// starts the heartbeat.
  status_table_writer(std::string path, std::chrono::milliseconds heartbeat);
  ~status_table_writer();  ///< close()
  /// Stops the heartbeat, then removes the file (readers that still map it
  /// see the owner gone once the heartbeat is stale or the process ends);
  /// later publish() calls do nothing. Idempotent. The runtime calls it at
  /// shutdown, after its actors stopped (handles may keep this object).
  void close();
  status_table_writer(const status_table_writer&) = delete;
  status_table_writer& operator=(const status_table_writer&) = delete;

  void publish(const core::process_state& state);
  void publish(const core::supervisor_state& state);
  /// `republish_all` has every state published again; the heartbeat calls
  /// it (outside the writer's mutex) once it found the file shrunk and
  /// rewrote its header. Call before anything can shrink the file; close()
  /// drops it.
  void on_damage(std::function<void()> republish_all);
  /// The file may have been removed, renamed away or shrunk (a watcher of
  /// its directory saw it): the heartbeat checks it, and puts it back, now
  /// instead of at its next beat. Any thread; returns at once.
  void check_now();
  /// Frees the slot of `name` (a process or supervisor no longer there).
  void remove(core::status_table::slot_kind kind, const std::string& name);

  /// Names whose states the table could not take (the file could not grow:
  /// a full file system), and the last such error.
  struct gap {
    std::size_t missing = 0;
    std::string error;
  };
  /// One relaxed load while nothing is missing; the mutex otherwise.
  gap missing() const;

 private:
  /// `payload` with its texts packed (pack_texts, pack_supervisor).
  void write(core::status_table::slot_kind kind, std::string_view name,
             core::status_table::slot_payload& payload);
  // Under mutex_:
  struct slot_entry {
    std::uint32_t index;
    std::uint64_t version;  // of the state last written there
  };
  /// The slot of `key` (kind + name), taken now if it has none; throws
  /// when the file cannot grow.
  slot_entry& slot_for(const std::string& key);
  /// Writes `payload` in the slot of `key`; false if there was no room (it
  /// is then kept in missing_ for a later try). A payload older than the
  /// slot's (lower version) is not written: it comes from another record
  /// of the same name, one that lost a race to register it
  /// (supervisor_actor::add_process) and is being dropped.
  bool put(std::string key, const core::status_table::slot_payload& payload);
  /// Tries the states left out again, until one finds no room.
  void put_missing();
  void forget_missing(const std::string& key);
  /// missing_count_ and the header's states_left_out, from missing_.
  void count_missing();
  void beat_until_stopped();

  mutable std::mutex mutex_;
  std::optional<os::status_table_file> file_;
  std::unordered_map<std::string, slot_entry> slots_;  // kind + name
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t used_ = 0;  // the header's slot_count
  /// The states left out of the table by key, and why (missing()).
  std::unordered_map<std::string, core::status_table::slot_payload> missing_;
  std::string missing_error_;
  std::atomic<std::size_t> missing_count_{0};
  std::chrono::milliseconds period_;
  std::function<void()> republish_all_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool check_due_ = false;  ///< check_now() asked for a beat before period_
  std::thread heartbeat_;
};

}  // namespace vitrine::detail
