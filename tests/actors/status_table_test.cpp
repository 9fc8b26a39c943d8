// The runtime's shared-memory status table: every published state of every
// process and supervisor reaches it, read with vitrine::status_reader.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>

#include "status_table_writer.hpp"
#include "test_support.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;
using core::supervisor_status;
namespace st = vitrine::core::status_table;

namespace {

runtime_options with_table(const std::string& path) {
  runtime_options options;
  options.status_table_path = path;
  return options;
}

// True once the table's slot for `name` satisfies pred.
template <class Pred>
bool table_shows(status_reader& reader, const std::string& name, Pred pred) {
  return eventually([&] {
    status_slot slot;
    return reader.find(name, slot) == status_error::none && pred(slot);
  });
}

}  // namespace

TEST_CASE("the runtime's status table follows every published state",
          "[status_table]") {
  leak_checker leaks;
  temp_dir dir;
  const std::string path = dir.file("status");
  {
    runtime rt{with_table(path)};
    status_reader reader{path};
    CHECK(reader.owner() == status_reader::owner_state::alive);

    auto web = rt.supervise(sh("web", "exec sleep 30"));
    auto idle = sh("idle", "exec sleep 30");
    idle.autostart = false;
    auto idle_h = rt.supervise(idle);
    REQUIRE(reaches(web, process_status::running));
    const auto state = web.read();
    CHECK(table_shows(reader, "web", [&](const status_slot& s) {
      return s.kind == static_cast<std::uint8_t>(st::slot_kind::process) &&
             status_name(s) == "running" && s.pid == state->pid &&
             s.version == state->version;
    }));
    // Never started, yet listed.
    CHECK(table_shows(reader, "idle", [](const status_slot& s) {
      return status_name(s) == "stopped" && s.pid == 0;
    }));
    CHECK(table_shows(reader, "root", [](const status_slot& s) {
      return s.kind == static_cast<std::uint8_t>(st::slot_kind::supervisor) &&
             status_name(s) == "running";
    }));

    REQUIRE(web.stop());
    REQUIRE(reaches(web, process_status::stopped));
    CHECK(table_shows(reader, "web", [](const status_slot& s) {
      return status_name(s) == "stopped" && s.pid == 0 &&
             s.exit_how ==
                 static_cast<std::uint8_t>(core::termination::kind::signaled);
    }));

    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);

    rt.shutdown();
    // A clean shutdown closes the table: a reader still mapping it sees the
    // owner gone at once, and the file is removed.
    CHECK(reader.owner() == status_reader::owner_state::gone);
    CHECK_FALSE(file_exists(path));
  }
}

TEST_CASE(
    "the table grows past its first capacity and keeps long spawn errors "
    "cut with a marker",
    "[status_table]") {
  leak_checker leaks;
  temp_dir dir;
  const std::string path = dir.file("status");
  runtime rt{with_table(path)};
  status_reader reader{path};
  supervisor_spec tree;
  tree.name = "many";
  for (int i = 0; i < 100; ++i) {
    auto spec = sh("p" + std::to_string(i), "exec sleep 30");
    spec.autostart = false;
    tree.children.push_back(spec);
  }
  auto many = rt.supervise(tree);
  REQUIRE(reaches(many, supervisor_status::running));
  std::vector<status_slot> slots;
  REQUIRE(eventually([&] {
    return reader.read_all(slots) == status_error::none &&
           slots.size() == 102;  // root, many, p0..p99
  }));

  // A program that deletes itself: its restart fails with ENOENT and an
  // error naming a path longer than the slot's error field.
  const std::string program = dir.file(std::string(150, 'x'));
  {
    std::ofstream out(program);
    out << "#!/bin/sh\nrm -f \"$0\"\nexit 0\n";
  }
  REQUIRE(::chmod(program.c_str(), 0755) == 0);
  process_spec spec;
  spec.name = "vanishing";
  spec.launch.argv = {program};
  spec.startsecs = std::chrono::milliseconds{0};
  spec.backoff.min = std::chrono::milliseconds{10};
  spec.backoff.jitter = 0;
  auto h = rt.supervise(spec);
  REQUIRE(reaches(h, process_status::failed));
  CHECK(table_shows(reader, "vanishing", [](const status_slot& s) {
    return status_name(s) == "failed" && s.spawn_errno == ENOENT &&
           (s.flags & st::error_truncated) != 0 &&
           s.error_view().size() == st::error_capacity &&
           s.error_view().ends_with(st::truncation_marker);
  }));
}

TEST_CASE("a status table path that cannot be created fails the runtime",
          "[status_table]") {
  leak_checker leaks;
  temp_dir dir;
  CHECK_THROWS_AS(runtime{with_table(dir.file("missing/status"))},
                  std::system_error);
  CHECK_FALSE(file_exists(dir.file("missing")));
}

TEST_CASE("a second runtime on a live runtime's table path is refused",
          "[status_table]") {
  leak_checker leaks;
  temp_dir dir;
  const std::string path = dir.file("status");
  runtime first{with_table(path)};
  auto web = first.supervise(sh("web", "exec sleep 30"));
  REQUIRE(reaches(web, process_status::running));
  CHECK_THROWS_AS(runtime{with_table(path)}, std::system_error);
  // The first runtime's table is still the one at the path.
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
  CHECK(table_shows(reader, "web", [](const status_slot& s) {
    return status_name(s) == "running";
  }));
  // Nor does any other file there get replaced.
  const std::string notes = dir.write("notes", "keep me\n");
  CHECK_THROWS_AS(runtime{with_table(notes)}, std::system_error);
  CHECK(read_file(notes) == "keep me\n");
}

TEST_CASE(
    "the status table keeps a name's newest state: an older one, from "
    "another record of that name, is not written",
    "[status_table]") {
  // Two supervisors racing to add one name both make a record; the loser's
  // never-started state (version 0) may be published after the winner's
  // running one, and must not replace it (tests/reliability/
  // name_race_test.cpp races them for real).
  temp_dir dir;
  const std::string path = dir.file("status");
  detail::status_table_writer writer{path, std::chrono::seconds{1}};
  status_reader reader{path};
  const auto state = [](std::uint64_t version, process_status status, int pid) {
    core::process_state s;
    s.name_storage = std::make_shared<const std::string>("contested");
    s.version = version;
    s.status = status;
    s.pid = pid;
    return s;
  };
  const auto shown = [&] {
    status_slot slot;
    REQUIRE(reader.find("contested", slot) == status_error::none);
    return std::pair{std::string{status_name(slot)}, slot.pid};
  };
  writer.publish(state(0, process_status::stopped, 0));
  writer.publish(state(2, process_status::running, 4242));
  writer.publish(state(0, process_status::stopped, 0));  // the loser's
  CHECK(shown() == std::pair{std::string{"running"}, 4242});
  writer.publish(state(3, process_status::backoff, 0));
  CHECK(shown().first == "backoff");
  // A name removed and added again starts over from its first version.
  writer.remove(st::slot_kind::process, "contested");
  writer.publish(state(0, process_status::stopped, 0));
  CHECK(shown() == std::pair{std::string{"stopped"}, 0});
}
