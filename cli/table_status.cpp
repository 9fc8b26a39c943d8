// `vitrine status [NAME...]`: reads a run's shared-memory status table
// (vitrine::status_reader); never messages the run. See commands.hpp.
#include <algorithm>
#include <cerrno>
#include <iostream>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "regular_file.hpp"
#include "render.hpp"
#include "state_dir.hpp"
#include "status.hpp"
#include "text_escape.hpp"
#include "vitrine/status_reader.hpp"

namespace vitrine::cli {
namespace {

namespace st = core::status_table;

std::chrono::steady_clock::time_point steady_at(std::int64_t ns) {
  return std::chrono::steady_clock::time_point{std::chrono::nanoseconds{ns}};
}

status_row row_of(const status_slot& slot, const clock_pair& now) {
  core::process_state state;
  state.version = slot.version;
  state.status = static_cast<core::process_status>(slot.status);
  state.pid = slot.pid;
  state.restart_count = slot.restarts;
  state.last_exit = st::unpack_exit(slot);
  state.spawn_errno = slot.spawn_errno;
  if (slot.started_ns) state.started_at = steady_at(slot.started_ns);
  if (slot.ended_ns) state.ended_at = steady_at(slot.ended_ns);
  state.name_storage = std::make_shared<const std::string>(slot.name_view());
  if (slot.error_length)
    state.spawn_error_storage =
        std::make_shared<const std::string>(slot.error_view());
  return make_row(state, now);
}

supervisor_row supervisor_of(const status_slot& slot) {
  core::supervisor_state state;
  state.version = slot.version;
  state.status = static_cast<core::supervisor_status>(slot.status);
  state.restarts = slot.restarts;
  state.child_count = slot.child_count;
  state.name_storage = std::make_shared<const std::string>(slot.name_view());
  auto row = make_supervisor_row(state);
  row.failure = std::string{slot.error_view()};
  return row;
}

/// The positions of `slots` in the run's order leaf (state_dir.hpp); slots
/// it does not list (the runtime's root, or every slot for a run of an
/// older vitrine) first, in slot order. The index is over the slots read,
/// not over the leaf's names: `vitrine status NAME` indexes one name, and
/// no name is copied (fresh heap pages are page faults, most of a short
/// command's cost: docs/cli.md). Only positions move: a slot is 256 bytes.
std::vector<std::uint32_t> in_run_order(const state_dir& dir,
                                        const std::vector<status_slot>& slots) {
  // name -> position + 1 in the leaf; 0: not listed.
  std::unordered_map<std::string_view, std::size_t> position_of;
  position_of.reserve(slots.size());
  for (const auto& slot : slots) position_of.emplace(slot.name_view(), 0);
  constexpr std::uint64_t limit = std::uint64_t{64} << 20;  // as a config
  std::string text;
  if (read_regular_file(dir.file(order_leaf), limit, text).empty()) {
    const std::string_view leaf{text};
    std::size_t position = 0;
    for (std::size_t at = 0, end; (end = leaf.find('\n', at)) != leaf.npos;
         at = end + 1) {
      ++position;
      if (const auto it = position_of.find(leaf.substr(at, end - at));
          it != position_of.end() && it->second == 0)
        it->second = position;
    }
  }
  std::vector<std::pair<std::size_t, std::uint32_t>> keyed;
  keyed.reserve(slots.size());
  for (std::uint32_t i = 0; i < slots.size(); ++i)
    keyed.emplace_back(position_of.find(slots[i].name_view())->second, i);
  std::stable_sort(keyed.begin(), keyed.end());
  std::vector<std::uint32_t> sorted;
  sorted.reserve(keyed.size());
  for (const auto& [position, i] : keyed) sorted.push_back(i);
  return sorted;
}

/// The time of the owner's last heartbeat as a clock pair (now when there
/// is none, or it is in the future).
clock_pair last_heard(status_reader& reader) {
  const auto now = clock_pair::now();
  const auto beat = reader.last_heartbeat();
  if (!beat || *beat >= now.steady) return now;
  const auto ago = now.steady - *beat;
  return {
      *beat,
      now.wall -
          std::chrono::duration_cast<std::chrono::system_clock::duration>(ago)};
}

}  // namespace

int table_status_command(const table_status_options& options) {
  std::string error;
  const auto dir = state_dir::open_existing(options.state_dir, error);
  if (!dir) {
    std::cerr << "vitrine: " << error << "\n";
    return 1;
  }
  const std::string path = dir->file(status_table_leaf);
  std::optional<status_reader> reader;
  try {
    reader.emplace(path);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT) {
      std::cerr << "vitrine: no vitrine run is using " << dir->path()
                << " (it stopped, or has not started yet)\n";
      return exit_not_running;
    }
    std::cerr << "vitrine: " << e.what() << "\n";  // names the path
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << e.what() << "\n";
    return 1;
  }
  const auto owner = reader->owner();
  const bool gone =
      owner != status_reader::owner_state::alive || !dir->owner_running();
  const std::set<std::string, std::less<>> wanted(options.names.begin(),
                                                  options.names.end());
  // Names asked for: only their slots are copied, ordered and rendered.
  std::vector<status_slot> slots;
  const auto read_error =
      wanted.empty() ? reader->read_all(slots)
                     : reader->read_all(slots, [&](const status_slot& slot) {
                         return wanted.contains(slot.name_view());
                       });
  if (read_error != status_error::none && read_error != status_error::busy &&
      read_error != status_error::corrupt_slot) {
    std::cerr << "vitrine: " << path << ": " << st::to_string(read_error)
              << "\n";
    return 1;
  }
  // One unreadable slot (a writer killed inside it) hides no other state.
  if (read_error != status_error::none)
    std::cerr << "vitrine: " << path << ": " << st::to_string(read_error)
              << ": a slot could not be read; the others follow\n";
  std::set<std::string, std::less<>> found;
  const pid_t stopped_pid =
      gone && process_stopped(dir->owner_pid()) ? dir->owner_pid() : 0;
  // A dead run's programs were killed with it: uptimes end at its last
  // heartbeat, not now.
  const auto now =
      gone && stopped_pid == 0 ? last_heard(*reader) : clock_pair::now();
  std::vector<supervisor_row> supervisors;
  std::vector<std::uint32_t> processes;  // their slots, in the run's order
  for (const std::uint32_t at : in_run_order(*dir, slots)) {
    const status_slot& slot = slots[at];
    if (!wanted.empty())
      found.emplace(slot.name_view());  // only to name the missing ones
    if (slot.kind == static_cast<std::uint8_t>(st::slot_kind::supervisor))
      supervisors.push_back(supervisor_of(slot));
    else
      processes.push_back(at);
  }
  std::vector<std::string> missing;
  for (const auto& name : wanted)
    if (!found.contains(name)) missing.emplace_back(name);
  if (!missing.empty()) {
    std::cerr << "vitrine: no process or supervisor named "
              << quoted_names(missing) << " in " << dir->path() << "\n";
    return 1;
  }
  if (const pid_t pid = stopped_pid; pid != 0)
    std::cerr << "vitrine: the vitrine run of " << dir->path() << " (pid "
              << pid << ") is stopped (SIGSTOP?): resume it with kill -CONT "
              << pid << "; these are the last states it published\n";
  else if (gone)
    std::cerr << "vitrine: the vitrine run of " << dir->path()
              << " is gone (killed?); these are the last states it "
                 "published\n";
  if (options.json) {
    std::vector<status_row> rows;
    rows.reserve(processes.size());
    for (const std::uint32_t at : processes)
      rows.push_back(row_of(slots[at], now));
    std::cout << to_json(rows, now.unix_ms(), supervisors);
  } else {
    std::string text;
    for (const auto& sup : supervisors) text += render_supervisor(sup) + "\n";
    // Names of supervisors alone ask for no process: no empty table. Rows
    // are made as the table asks for them, not kept.
    if (!processes.empty() || wanted.empty())
      text += render_table(processes.size(), [&](std::size_t i) {
        return table_cells(row_of(slots[processes[i]], now), now.unix_ms());
      });
    std::cout << text;
  }
  std::cout.flush();
  return gone ? exit_not_running : read_error != status_error::none ? 1 : 0;
}

}  // namespace vitrine::cli
