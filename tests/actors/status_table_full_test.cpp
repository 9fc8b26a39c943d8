// The status table on a full file system (an outside tester: the run died
// of SIGBUS when its state directory's tmpfs filled up, as the table grew
// into a hole of its file). Needs to mount a tmpfs: skipped where that is
// not allowed (not root).
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "test_support.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;
using namespace vitrine::test;

TEST_CASE(
    "a full file system leaves new names out of the status table, the run "
    "lives on, and they go in once there is room",
    "[status_table]") {
  temp_dir dir;
  small_tmpfs disk{dir.path(), "64k"};
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << std::strerror(disk.error())
                                  << "): skipped");
    return;
  }
  const std::string path = dir.file("status");
  const std::string filler = dir.file("filler");
  runtime_options options;
  options.status_table_path = path;
  options.status_heartbeat = std::chrono::milliseconds{50};
  runtime rt{options};
  status_reader reader{path};
  CHECK(rt.missing_from_status_table().missing == 0);

  // The table holds 64 slots; the rest of the disk is taken: the 80 names
  // below need it to grow.
  fill_file_system(filler);
  constexpr int count = 80;
  std::vector<process_handle> handles;
  for (int i = 0; i < count; ++i) {
    // Appended, not "p" + ...: GCC 12 at -O3 warns there (-Wrestrict, a
    // false positive).
    std::string name = "p";
    name += std::to_string(i);
    auto spec = sh(name, "exec sleep 30");
    spec.autostart = false;
    handles.push_back(rt.supervise(spec));
  }
  const auto gap = rt.missing_from_status_table();
  INFO(gap.error);
  CHECK(gap.missing > 0);
  CHECK(gap.error.find("No space left on device") != std::string::npos);
  std::vector<status_slot> slots;
  CHECK(reader.read_all(slots) == status_error::none);
  CHECK(slots.size() < count);
  // Readers are told how much their listing lacks (`vitrine status` says
  // so; before, it listed what was there and exited 0).
  CHECK(reader.states_left_out() == gap.missing);
  // The runtime works on: a read, a command.
  CHECK(handles.back().read()->status == core::process_status::stopped);

  // Room again: the heartbeat puts the states that were left out in,
  // without waiting for them to change.
  std::filesystem::remove(filler);
  CHECK(
      eventually([&] { return rt.missing_from_status_table().missing == 0; }));
  CHECK(eventually([&] {
    return reader.read_all(slots) == status_error::none &&
           slots.size() == count + 1;  // and the root supervisor
  }));
  CHECK(reader.states_left_out() == 0);
  status_slot last;
  std::string last_name = "p";
  last_name += std::to_string(count - 1);
  CHECK(reader.find(last_name, last) == status_error::none);
}
