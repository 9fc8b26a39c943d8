// `vitrine status [NAME...]`: reads a run's shared-memory status table
// (vitrine::status_reader); never messages the run. See commands.hpp.
#include <cerrno>
#include <iostream>
#include <set>
#include <system_error>

#include "commands.hpp"
#include "render.hpp"
#include "state_dir.hpp"
#include "status.hpp"
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
    std::cerr << "vitrine: " << path << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vitrine: " << path << ": " << e.what() << "\n";
    return 1;
  }
  const bool gone = reader->owner() == status_reader::owner_state::gone ||
                    !dir->owner_running();
  std::vector<status_slot> slots;
  if (const auto e = reader->read_all(slots); e != status_error::none) {
    std::cerr << "vitrine: " << path << ": " << st::to_string(e) << "\n";
    return 1;
  }
  const std::set<std::string, std::less<>> wanted(options.names.begin(),
                                                  options.names.end());
  std::set<std::string, std::less<>> found;
  const auto now = clock_pair::now();
  std::vector<status_row> rows;
  std::vector<supervisor_row> supervisors;
  for (const auto& slot : slots) {
    if (!wanted.empty()) {
      if (!wanted.contains(slot.name_view())) continue;
      found.emplace(slot.name_view());  // only to name the missing ones
    }
    if (slot.kind == static_cast<std::uint8_t>(st::slot_kind::supervisor))
      supervisors.push_back(supervisor_of(slot));
    else
      rows.push_back(row_of(slot, now));
  }
  std::string missing;
  for (const auto& name : wanted)
    if (!found.contains(name))
      missing += (missing.empty() ? "'" : ", '") + name + "'";
  if (!missing.empty()) {
    std::cerr << "vitrine: no process or supervisor named " << missing << " in "
              << dir->path() << "\n";
    return 1;
  }
  if (gone)
    std::cerr << "vitrine: the vitrine run of " << dir->path()
              << " is gone (killed?); these are the last states it "
                 "published\n";
  if (options.json) {
    std::cout << to_json(rows, now.unix_ms(), supervisors);
  } else {
    std::string text;
    for (const auto& sup : supervisors) text += render_supervisor(sup) + "\n";
    text += render_table(rows, now.unix_ms());
    std::cout << text;
  }
  std::cout.flush();
  return gone ? exit_not_running : 0;
}

}  // namespace vitrine::cli
