// The owner's table file and what is already at its path: another file is
// never replaced, nor a live owner's table; a dead owner's table is; the
// owner removes only its own file, found by the absolute path it had at
// creation.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "support/files.hpp"
#include "vitrine/os/status_mapping.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;

namespace {

/// The errno of the std::system_error `make()` throws, or 0.
template <class F>
int error_of(F make) {
  try {
    make();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

/// A child that owns a table at `path` until killed; returns its pid once
/// the table is in place.
pid_t fork_owner(const std::string& path) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    try {
      os::status_table_file file{path, 4, 0};
      (void)!::write(ready[1], "r", 1);
      for (;;) ::pause();
    } catch (...) {
    }
    ::_exit(99);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

ino_t inode_of(const std::string& path) {
  struct stat info {};
  REQUIRE(::lstat(path.c_str(), &info) == 0);
  return info.st_ino;
}

/// Writes process "p1" in slot 40 of the table at `base` (a page past the
/// header's), as its owner does, and counts the slots to it.
void write_p1(void* base) {
  core::status_table::slot_payload p{};
  core::status_table::pack_texts(p, "p1", {});
  p.kind = static_cast<std::uint8_t>(core::status_table::slot_kind::process);
  p.version = 1;
  core::status_table::table_writer_unsafe writer{base};
  writer.write_slot(40, p);
  writer.set_slot_count(41);
}

}  // namespace

TEST_CASE("a file that is not a status table is never replaced",
          "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.write("precious", "important data\n");
  CHECK(error_of([&] { os::status_table_file file{path, 4, 0}; }) == EEXIST);
  CHECK(test::read_file(path) == "important data\n");
  const std::string link = dir.file("link");
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  CHECK(error_of([&] { os::status_table_file file{link, 4, 0}; }) == EEXIST);
  CHECK(test::read_file(path) == "important data\n");
  // Nothing left beside them: the temporary file is removed.
  auto entries = std::filesystem::directory_iterator{dir.path()};
  CHECK(std::distance(begin(entries), end(entries)) == 2);
}

TEST_CASE("a live owner's table is not taken over", "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  const pid_t owner = fork_owner(path);
  const ino_t before = inode_of(path);
  std::string message;
  try {
    os::status_table_file second{path, 4, 0};
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == EBUSY);
    message = e.what();
  }
  CHECK(message.find("pid " + std::to_string(owner)) != std::string::npos);
  CHECK(inode_of(path) == before);
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
  kill_and_reap(owner);
}

TEST_CASE("a dead owner's table is replaced", "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  const pid_t owner = fork_owner(path);
  kill_and_reap(owner);  // SIGKILL: the file stays, its lock is dropped
  REQUIRE(test::file_exists(path));
  const ino_t stale = inode_of(path);
  os::status_table_file next{path, 4, 0};
  CHECK(inode_of(path) != stale);
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
}

TEST_CASE("an owner removes its path only while it names its own file",
          "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  const std::string moved = dir.file("moved");
  {
    os::status_table_file file{path, 4, 0};
    REQUIRE(::rename(path.c_str(), moved.c_str()) == 0);
    dir.write("status", "someone else's\n");
  }
  CHECK(test::read_file(path) == "someone else's\n");
}

TEST_CASE("a relative path is the one at construction, whatever the cwd",
          "[status_table]") {
  test::temp_dir dir;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      if (::chdir(dir.path().c_str()) != 0) ::_exit(98);
      os::status_table_file file{"relative", 4, 0};
      const std::string& p = file.path();
      if (p.front() != '/' || !p.ends_with("/relative")) code = 1;
      if (::chdir("/") != 0) code = 97;
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(test::file_exists(dir.file("relative")));  // removed there
}

TEST_CASE("an owner whose table file another process shrinks carries on",
          "[status_table][truncation]") {
  // An outside tester: `truncate -s 0` of a run's table killed the run
  // with SIGBUS at its next write into the mapping.
  test::temp_dir dir;
  const std::string path = dir.file("status");
  os::status_table_file file{path, 64, 1'000'000'000};
  const auto size = std::filesystem::file_size(path);
  write_p1(file.base());
  CHECK_FALSE(file.take_damage());
  SECTION("a write into a page that was cut") {
    REQUIRE(::truncate(path.c_str(), 0) == 0);
    write_p1(file.base());  // SIGBUS, repaired: the write goes on
    CHECK(std::filesystem::file_size(path) == size);
  }
  SECTION("cut where nothing writes: the next look finds it") {
    REQUIRE(::truncate(path.c_str(), 100) == 0);
  }
  SECTION("grown: readers refuse a file larger than its table") {
    REQUIRE(::truncate(path.c_str(), 1 << 20) == 0);
  }
  SECTION("its header overwritten") {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "garbage!", 8, 0) == 8);
    ::close(fd);
  }
  CHECK(file.take_damage());  // grown back, the header written again
  CHECK(std::filesystem::file_size(path) == size);
  CHECK_FALSE(file.take_damage());
  write_p1(file.base());  // the owner writes its slots again
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
  CHECK(reader.slot_count() == 41);
}

TEST_CASE(
    "a reader whose table file is shrunk under it reports errors, then reads "
    "again once the owner repaired it",
    "[status_table][truncation]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  os::status_table_file owner{path, 64, 1'000'000'000};
  write_p1(owner.base());
  status_reader reader{path};
  std::vector<status_slot> slots;
  REQUIRE(reader.read_all(slots) == status_error::none);
  REQUIRE(slots.size() == 1);
  for (const off_t size : {off_t{0}, off_t{100}}) {
    INFO("cut to " << size << " bytes");
    REQUIRE(::truncate(path.c_str(), size) == 0);
    // Before, a SIGBUS; then (once the reader was rescued) an exception,
    // and no read ever again.
    for (int i = 0; i < 3; ++i) {
      CHECK_NOTHROW(reader.owner());
      CHECK(reader.read_all(slots) != status_error::none);
    }
    REQUIRE(owner.take_damage());  // grown back, its header written
    write_p1(owner.base());        // the owner writes its states again
    CHECK(reader.read_all(slots) == status_error::none);
    CHECK(slots.size() == 1);
    CHECK(reader.owner() == status_reader::owner_state::alive);
  }
}

TEST_CASE(
    "a table cut on a full file system goes on in memory and maps the file "
    "again once there is room",
    "[status_table][truncation]") {
  test::temp_dir dir;
  test::small_tmpfs disk{dir.path(), "256k"};
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << std::strerror(disk.error())
                                  << "): skipped");
    return;
  }
  const std::string path = dir.file("status");
  const std::string filler = dir.file("filler");
  os::status_table_file owner{path, 64, 1'000'000'000};
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  test::fill_file_system(filler);
  // Grown back as a hole the full file system cannot back: the write
  // faults again, and anonymous memory takes it (the process goes on).
  write_p1(owner.base());
  CHECK_FALSE(owner.take_damage());  // no room yet: still in memory
  std::filesystem::remove(filler);
  REQUIRE(owner.take_damage());  // the file mapped again, its header written
  write_p1(owner.base());
  status_reader reader{path};
  std::vector<status_slot> slots;
  CHECK(reader.read_all(slots) == status_error::none);
  CHECK(slots.size() == 1);
  CHECK(reader.owner() == status_reader::owner_state::alive);
}

TEST_CASE("an owner whose table file is removed puts a new one at its path",
          "[status_table][removed]") {
  // An outside tester removed a live run's table: `vitrine status` then
  // had nothing to read until the run ended.
  test::temp_dir dir;
  const std::string path = dir.file("status");
  os::status_table_file owner{path, 64, 1'000'000'000};
  write_p1(owner.base());
  const ino_t first = inode_of(path);
  SECTION("removed") {
    REQUIRE(::unlink(path.c_str()) == 0);
  }
  SECTION("renamed away") {
    REQUIRE(::rename(path.c_str(), dir.file("moved").c_str()) == 0);
  }
  REQUIRE(owner.take_damage());
  CHECK(inode_of(path) != first);
  CHECK_FALSE(owner.take_damage());
  write_p1(owner.base());  // the owner writes its slots again
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
  std::vector<status_slot> slots;
  REQUIRE(reader.read_all(slots) == status_error::none);
  REQUIRE(slots.size() == 1);
  CHECK(slots[0].name_view() == "p1");
}

TEST_CASE(
    "a removed table is not put back over a file that took its path, and is "
    "once the path is free again",
    "[status_table][removed]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  os::status_table_file owner{path, 64, 1'000'000'000};
  const std::string copy = dir.file("copy");
  SECTION("another file") {
    REQUIRE(::unlink(path.c_str()) == 0);
    dir.write("status", "someone else's\n");
  }
  SECTION("a copy of the table (an outside tester's: it was replaced)") {
    std::filesystem::copy_file(path, copy);
    REQUIRE(::rename(copy.c_str(), path.c_str()) == 0);
  }
  const ino_t theirs = inode_of(path);
  CHECK_FALSE(owner.take_damage());
  CHECK_FALSE(owner.take_damage());
  CHECK(inode_of(path) == theirs);
  {  // No temporary file left beside it.
    auto entries = std::filesystem::directory_iterator{dir.path()};
    CHECK(std::distance(begin(entries), end(entries)) == 1);
  }
  // Until 2026-12-06 a path once taken was never tried again.
  REQUIRE(::unlink(path.c_str()) == 0);
  CHECK(owner.take_damage());
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
}
