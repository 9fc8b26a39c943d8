#include "vitrine/status_reader.hpp"

#include <chrono>
#include <thread>

#include "vitrine/core/process_state.hpp"
#include "vitrine/core/supervisor_state.hpp"

namespace vitrine {
namespace st = core::status_table;

status_reader::status_reader(const std::string& path) : mapping_(path) {}

status_error status_reader::header(st::header_snapshot& out) {
  // Shrunk under us (a read met zero pages in place of what was cut), or
  // grown: mapped again. A file too small to map for now (its owner grows
  // it back within a heartbeat) is an error, not an exception, and the
  // next call tries again (an outside tester: a reader threw once, then
  // read nothing for good).
  if (mapping_.take_damage()) remap_due_ = true;
  if (remap_due_ && !remapped()) {
    out = {};
    return status_error::too_small;
  }
  auto e = mapping_.reader().read_header(out);
  if (e == status_error::needs_remap) {
    if (!remapped()) return status_error::too_small;
    e = mapping_.reader().read_header(out);
    // Still past the file's end: not a growth but a cut header-deep.
    if (e == status_error::needs_remap) e = status_error::too_small;
  }
  return e;
}

bool status_reader::remapped() {
  try {
    mapping_.remap();
  } catch (const std::exception&) {
    remap_due_ = true;
    return false;
  }
  remap_due_ = false;
  return true;
}

status_reader::owner_state status_reader::owner() {
  st::header_snapshot h;
  const auto e = header(h);
  if (e != status_error::none && e != status_error::needs_remap)
    return owner_state::gone;
  switch (os::owner_condition_of(h, os::monotonic_ns())) {
    case os::owner_condition::alive:
      return owner_state::alive;
    case os::owner_condition::stopped:
      return owner_state::stopped;
    case os::owner_condition::gone:
      break;
  }
  return owner_state::gone;
}

std::optional<std::chrono::steady_clock::time_point>
status_reader::last_heartbeat() {
  st::header_snapshot h;
  const auto e = header(h);
  if ((e != status_error::none && e != status_error::needs_remap) ||
      h.heartbeat_period_ns == 0)
    return std::nullopt;
  return std::chrono::steady_clock::time_point{
      std::chrono::nanoseconds{h.heartbeat_ns}};
}

std::uint32_t status_reader::slot_count() {
  st::header_snapshot h;
  header(h);
  return h.slot_count;
}

std::uint32_t status_reader::states_left_out() {
  st::header_snapshot h;
  header(h);
  return h.states_left_out;
}

status_error status_reader::read_slot(std::uint32_t index,
                                      status_slot& out) const {
  auto e = mapping_.reader().read_slot(index, out);
  // Busy: the writer is inside this slot, maybe preempted there (on a
  // loaded machine for a whole time slice). Give it the CPU, then poll
  // for up to busy_patience; the writer never waits for us.
  if (e != status_error::busy) return e;
  const auto deadline = std::chrono::steady_clock::now() + busy_patience;
  for (int retry = 0; e == status_error::busy; ++retry) {
    if (retry < 8)
      std::this_thread::yield();
    else if (std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds{100});
    else
      break;
    e = mapping_.reader().read_slot(index, out);
  }
  return e;
}

status_error status_reader::read(std::uint32_t index, status_slot& out) {
  auto e = read_slot(index, out);
  if (e == status_error::out_of_range && index >= slot_count())
    return e;  // slot_count() re-mapped if the table grew
  if (e == status_error::out_of_range) e = read_slot(index, out);
  return e;
}

status_error status_reader::read_all(std::vector<status_slot>& out) {
  return read_all(out, nullptr);
}

// The loop of read_all() and for_each(): `start(count)` once the header is
// trusted, each slot read into `buffer()`, `visit(index, slot)` for each
// one in use.
template <class Start, class Buffer, class Visit>
status_error status_reader::scan(Start start, Buffer buffer, Visit visit) {
  st::header_snapshot h;
  if (const auto e = header(h); e != status_error::none) return e;
  start(h.slot_count);
  status_error first = status_error::none;
  for (std::uint32_t i = 0; i < h.slot_count; ++i) {
    status_slot& slot = buffer();
    if (const auto e = read_slot(i, slot); e != status_error::none) {
      if (first == status_error::none) first = e;
      continue;
    }
    if (slot.kind != static_cast<std::uint8_t>(st::slot_kind::free))
      visit(i, slot);
  }
  return first;
}

status_error status_reader::read_all(
    std::vector<status_slot>& out,
    const std::function<bool(const status_slot&)>& keep) {
  // Copied in place (no second copy per slot), free, unreadable and
  // unwanted slots squeezed out. Without a filter every slot is sized up
  // front (a reused vector already is: no clear() before, which would
  // zero it all again); with one, `out` grows by the kept slots alone.
  std::size_t kept = 0;
  const auto e =
      scan([&](std::uint32_t count) { out.resize(keep ? 1 : count); },
           [&]() -> status_slot& {
             if (kept == out.size()) out.emplace_back();
             return out[kept];
           },
           [&](std::uint32_t, const status_slot& slot) {
             if (!keep || keep(slot)) ++kept;
           });
  out.resize(kept);
  return e;
}

status_error status_reader::for_each(
    const std::function<void(std::uint32_t, const status_slot&)>& visit) {
  status_slot slot;
  return scan([](std::uint32_t) {}, [&]() -> status_slot& { return slot; },
              visit);
}

status_error status_reader::find(std::string_view name, status_slot& out) {
  // The header first, as read_all() does: a table whose header is not
  // trusted answers no name, not even one remembered from before.
  st::header_snapshot h;
  if (const auto e = header(h); e != status_error::none) return e;
  if (const auto it = index_.find(std::string{name}); it != index_.end()) {
    if (read(it->second, out) == status_error::none &&
        out.kind != static_cast<std::uint8_t>(st::slot_kind::free) &&
        out.name_view() == name)
      return status_error::none;
  }
  const std::uint32_t count = h.slot_count;
  status_error unreadable = status_error::none;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (const auto e = read(i, out); e != status_error::none) {
      if (unreadable == status_error::none) unreadable = e;
      continue;
    }
    if (out.kind == static_cast<std::uint8_t>(st::slot_kind::free)) continue;
    index_[std::string{out.name_view()}] = i;
    if (out.name_view() == name) return status_error::none;
  }
  return unreadable == status_error::none ? status_error::out_of_range
                                          : unreadable;
}

std::string_view status_name(const status_slot& slot) noexcept {
  switch (static_cast<st::slot_kind>(slot.kind)) {
    case st::slot_kind::process:
      return core::to_string(static_cast<core::process_status>(slot.status));
    case st::slot_kind::supervisor:
      return core::to_string(static_cast<core::supervisor_status>(slot.status));
    default:
      return "free";
  }
}

}  // namespace vitrine
