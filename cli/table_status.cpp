// `vitrine status [NAME...]`: reads a run's shared-memory status table
// (vitrine::status_reader); never messages the run. See commands.hpp.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "packed_table.hpp"
#include "print_line.hpp"
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
  if (auto failure = st::unpack_failure(slot))
    state.last_failure =
        std::make_shared<const core::supervisor_failure>(std::move(*failure));
  return make_supervisor_row(state);
}

/// What `vitrine status` keeps of each slot it reads: its name, for the
/// run's order, and the number of what was made of it (a table line, a
/// --json row or a supervisor row); never the 256-byte slot itself: fresh
/// heap pages are page faults, most of a short command's cost (docs/cli.md).
class visited_slots {
 public:
  void reserve(std::size_t slots) {
    names_.reserve(slots * 16);
    name_ends_.reserve(slots);
    items_.reserve(slots);
    supervisor_.reserve(slots);
  }
  void add(std::string_view name, bool supervisor, std::size_t item) {
    names_ += name;
    name_ends_.push_back(static_cast<std::uint32_t>(names_.size()));
    items_.push_back(static_cast<std::uint32_t>(item));
    supervisor_.push_back(supervisor);
  }
  std::size_t size() const noexcept { return items_.size(); }
  std::string_view name(std::size_t i) const noexcept {
    const std::size_t begin = i ? name_ends_[i - 1] : 0;
    return std::string_view{names_}.substr(begin, name_ends_[i] - begin);
  }
  bool supervisor(std::size_t i) const { return supervisor_[i]; }
  std::uint32_t item(std::size_t i) const noexcept { return items_[i]; }

 private:
  std::string names_;  // back to back (a name is at most 64 bytes)
  std::vector<std::uint32_t> name_ends_;
  std::vector<std::uint32_t> items_;
  std::vector<bool> supervisor_;
};

/// The slots visited, by number, in the order of the run's order leaf
/// (state_dir.hpp). Supervisors it does not list (the runtime's root) come
/// first, processes it does not list (one a reload is adding, before the
/// leaf is rewritten) last; each in slot order, as is every slot of a run
/// whose leaf is missing. The names are
/// indexed by an open-addressing table of numbers (4 bytes a position, at
/// most half full), not a node-based map (~50 bytes a name); the leaf is
/// scanned once and no name copied.
std::vector<std::uint32_t> in_run_order(const state_dir& dir,
                                        const visited_slots& slots) {
  const std::size_t count = slots.size();
  const std::size_t mask = std::bit_ceil(2 * count + 1) - 1;
  std::vector<std::uint32_t> index(mask + 1, 0);  // number + 1; 0: empty
  const std::hash<std::string_view> hash;
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t at = hash(slots.name(i)) & mask;
    while (index[at] != 0) at = (at + 1) & mask;
    index[at] = static_cast<std::uint32_t>(i + 1);
  }
  // Position + 1 in the leaf; 0: not listed.
  std::vector<std::uint32_t> position(count, 0);
  constexpr std::uint64_t limit = std::uint64_t{64} << 20;  // as a config
  std::string text;
  if (read_regular_file(dir.file(order_leaf), limit, text).empty()) {
    const std::string_view leaf{text};
    std::uint32_t line = 0;
    for (std::size_t at = 0, end; (end = leaf.find('\n', at)) != leaf.npos;
         at = end + 1) {
      ++line;
      const std::string_view name = leaf.substr(at, end - at);
      for (std::size_t probe = hash(name) & mask; index[probe] != 0;
           probe = (probe + 1) & mask) {
        const std::uint32_t i = index[probe] - 1;
        if (position[i] == 0 && slots.name(i) == name) position[i] = line;
      }
    }
  }
  for (std::size_t i = 0; i < count; ++i)
    if (position[i] == 0 && !slots.supervisor(i))
      position[i] = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) {
                     return position[a] < position[b];
                   });
  return order;
}

/// What the slots read became: table lines (or --json rows) and
/// supervisor rows, and the names for ordering them.
struct collected {
  packed_table table{table_header()};
  std::vector<status_row> rows;  // --json
  std::vector<supervisor_row> supervisors;
  visited_slots visited;
  status_error error = status_error::none;  // the first unreadable slot's
};

/// Reads the slots named in `wanted` (all when empty), each made into a
/// line, a row or a supervisor row as it is read.
collected collect(status_reader& reader,
                  const std::set<std::string, std::less<>>& wanted, bool json,
                  const clock_pair& now) {
  collected got;
  if (wanted.empty()) {
    // Room for every slot up front (see packed_table::reserve).
    const std::uint32_t slots = reader.slot_count();
    got.visited.reserve(slots);
    if (!json) got.table.reserve(slots, 64);
  }
  got.error = reader.for_each([&](std::uint32_t, const status_slot& slot) {
    const std::string_view name = slot.name_view();
    if (!wanted.empty() && !wanted.contains(name)) return;
    if (slot.kind == static_cast<std::uint8_t>(st::slot_kind::supervisor)) {
      got.visited.add(name, true, got.supervisors.size());
      got.supervisors.push_back(supervisor_of(slot));
    } else if (json) {
      got.visited.add(name, false, got.rows.size());
      got.rows.push_back(row_of(slot, now));
    } else {
      got.visited.add(
          name, false,
          got.table.add(table_cells(row_of(slot, now), now.unix_ms())));
    }
  });
  return got;
}

std::vector<std::string> missing_names(
    const std::set<std::string, std::less<>>& wanted,
    const visited_slots& visited) {
  if (wanted.empty()) return {};
  std::set<std::string_view> found;
  for (std::size_t i = 0; i < visited.size(); ++i)
    found.insert(visited.name(i));
  std::vector<std::string> missing;
  for (const auto& name : wanted)
    if (!found.contains(name)) missing.emplace_back(name);
  return missing;
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
    print_error({error});
    return 1;
  }
  const std::string path = dir->file(status_table_leaf);
  std::optional<status_reader> reader;
  try {
    reader.emplace(path);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT && dir->owner_running()) {
      // Not "no run": its lock is held (an outside tester removed the
      // table of a live run, and was told that the run had stopped).
      const pid_t pid = dir->owner_pid();
      print_error({"the vitrine run of ", dir->path(),
                   pid != 0 ? " (pid " + std::to_string(pid) + ")" : "",
                   " has no status table there (it is starting, or ", path,
                   " was removed: the run puts it back at once)"});
      return exit_not_running;
    }
    if (e.code().value() == ENOENT) {
      print_error({"no vitrine run is using ", dir->path(),
                   " (it stopped, or has not started yet)"});
      return exit_not_running;
    }
    print_error({e.what()});  // names the path
    return 1;
  } catch (const std::exception& e) {
    print_error({e.what()});
    return 1;
  }
  const auto owner = reader->owner();
  const bool gone =
      owner != status_reader::owner_state::alive || !dir->owner_running();
  const pid_t stopped_pid =
      gone && process_stopped(dir->owner_pid()) ? dir->owner_pid() : 0;
  // A dead run's programs were killed with it: uptimes end at its last
  // heartbeat, not now.
  const auto now =
      gone && stopped_pid == 0 ? last_heard(*reader) : clock_pair::now();
  const std::set<std::string, std::less<>> wanted(options.names.begin(),
                                                  options.names.end());
  auto got = collect(*reader, wanted, options.json, now);
  const status_error read_error = got.error;
  if (read_error != status_error::none && read_error != status_error::busy &&
      read_error != status_error::corrupt_slot) {
    print_error({"status table ", path, ": ", st::to_string(read_error)});
    return 1;
  }
  // One unreadable slot (a writer killed inside it) hides no other state.
  if (read_error != status_error::none)
    print_error({"status table ", path, ": ", st::to_string(read_error),
                 ": a slot could not be read; the others follow"});
  // A full file system: the run could not put every state in the table.
  const std::uint32_t left_out = reader->states_left_out();
  const std::string lacking =
      left_out == 0 ? std::string{}
                    : "the status table lacks " + std::to_string(left_out) +
                          (left_out == 1 ? " state" : " states") +
                          " the run has no room for (its file system is "
                          "full)";
  // Said first, also before a NAME that is not there: it is missing from
  // the last states the run published (an outside tester was told only
  // that a name was unknown).
  if (const pid_t pid = stopped_pid; pid != 0) {
    const std::string number = std::to_string(pid);
    print_error({"the vitrine run of ", dir->path(), " (pid ", number,
                 ") is stopped (SIGSTOP?): resume it with kill -CONT ", number,
                 "; these are the last states it published"});
  } else if (gone) {
    print_error({"the vitrine run of ", dir->path(),
                 " is gone (killed?); these are the last states it "
                 "published"});
  }
  const auto missing = missing_names(wanted, got.visited);
  if (!missing.empty()) {
    print_error({"no process or supervisor named ", quoted_names(missing),
                 " in ", dir->path(),
                 lacking.empty() ? "" : " (" + lacking + ")"});
    return 1;
  }
  if (!lacking.empty() && wanted.empty())
    print_error({lacking, ": this list is incomplete"});
  std::vector<supervisor_row> supervisors_in_order;
  std::vector<std::uint32_t> processes;  // their items, in the run's order
  for (const std::uint32_t i : in_run_order(*dir, got.visited)) {
    const std::uint32_t item = got.visited.item(i);
    if (got.visited.supervisor(i))
      supervisors_in_order.push_back(std::move(got.supervisors[item]));
    else
      processes.push_back(item);
  }
  if (options.json) {
    std::vector<status_row> rows_in_order;
    rows_in_order.reserve(processes.size());
    for (const std::uint32_t at : processes)
      rows_in_order.push_back(std::move(got.rows[at]));
    const std::string json =
        to_json(rows_in_order, now.unix_ms(), supervisors_in_order);
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else {
    for (const auto& sup : supervisors_in_order)
      print_line(stdout, {render_supervisor(sup)});
    // Names of supervisors alone ask for no process: no empty table.
    if (!processes.empty() || wanted.empty())
      got.table.write(stdout, processes);
  }
  if (gone) return exit_not_running;
  return read_error != status_error::none ||
                 (!lacking.empty() && wanted.empty())
             ? 1
             : 0;
}

}  // namespace vitrine::cli
