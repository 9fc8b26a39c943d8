// The status table across processes: a writer process and reader processes
// at once (no torn slot), growth seen through a re-map, and the owner's
// liveness (SIGKILLed, stopped, a stale heartbeat, pid reuse).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "vitrine/os/status_mapping.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;
namespace st = vitrine::core::status_table;

namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

// A slot whose every field derives from n, so a copy that mixes two writes
// shows (besides the checksum).
st::slot_payload derived_slot(std::uint32_t index, std::uint64_t n) {
  st::slot_payload p{};
  p.kind = static_cast<std::uint8_t>(st::slot_kind::process);
  p.status = static_cast<std::uint8_t>(n % 7);
  p.version = n;
  p.pid = static_cast<std::int32_t>(n & 0x7fffffff);
  p.restarts = static_cast<std::uint32_t>(n * 3);
  p.started_ns = static_cast<std::int64_t>(n * 7);
  std::string error;
  while (error.size() < 100) error += std::to_string(n) + ",";
  st::pack_texts(p, "slot" + std::to_string(index), error);
  return p;
}

// A table file of capacity 4 whose slots 0 .. count-1 hold derived_slot(i,
// i + 1) ("slot<i>", version i + 1), written as its owner would.
struct table_with_slots {
  explicit table_with_slots(std::uint32_t count)
      : path(dir.file("status")), file(path, 4, 0) {
    st::table_writer_unsafe w{file.base()};
    for (std::uint32_t i = 0; i < count; ++i)
      w.write_slot(i, derived_slot(i, i + 1));
    w.set_slot_count(count);
  }
  test::temp_dir dir;
  std::string path;
  os::status_table_file file;
};

bool consistent(const st::slot_payload& p) {
  const std::uint64_t n = p.version;
  const auto expected = derived_slot(0, n);
  return p.pid == expected.pid && p.restarts == expected.restarts &&
         p.started_ns == expected.started_ns && p.status == expected.status &&
         p.error_view() == expected.error_view() &&
         p.name_view().starts_with("slot");
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A forked owner: creates the table, fills `slots` slots, reports ready on
// `ready`, then runs `body` and _exits. Returns its pid.
template <class Body>
pid_t fork_owner(const std::string& path, std::uint32_t slots,
                 std::uint64_t period_ns, Body body) {
  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    int code = 0;
    try {
      os::status_table_file file{path, slots, period_ns};
      st::table_writer_unsafe w{file.base()};
      for (std::uint32_t i = 0; i < slots; ++i)
        w.write_slot(i, derived_slot(i, 0));
      w.set_slot_count(slots);
      (void)!::write(ready[1], "r", 1);
      code = body(file);
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  return pid;
}

}  // namespace

TEST_CASE(
    "readers in other processes never see a torn slot while the owner "
    "writes and grows the table",
    "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  int stop[2];
  REQUIRE(::pipe2(stop, O_CLOEXEC | O_NONBLOCK) == 0);
  // 16 slots, then 64: each slot is rewritten every 16 (64) writes, so
  // readers overlap writes all the time yet are not starved (a slot
  // rewritten back to back can keep a reader busy: see read_error::busy).
  const pid_t owner = fork_owner(path, 16, 10'000'000, [&](auto& file) {
    ::close(stop[1]);
    std::uint64_t n = 0;
    std::uint32_t used = 16;
    char c;
    for (;; ++n) {
      if (n % 256 == 0 && ::read(stop[0], &c, 1) >= 0) return 0;  // EOF/data
      if (n == 20'000) {  // grow while readers read: they must re-map
        file.grow(64);
        used = 64;
      }
      st::table_writer_unsafe w{file.base()};
      const auto index = static_cast<std::uint32_t>(n % used);
      w.write_slot(index, derived_slot(index, n));
      if (n == 20'000) {
        // Fill the new slots before counting them: no free slot shows.
        for (std::uint32_t i = 16; i < used; ++i)
          w.write_slot(i, derived_slot(i, n));
        w.set_slot_count(used);
      }
      if (n % 4096 == 0) w.beat(os::monotonic_ns());
    }
  });
  ::close(stop[0]);

  // Each reader: 20,000 full reads; exit 0, 1 (a torn or inconsistent
  // slot), 10 + read_error (a read error), 3 (a version went backwards),
  // 4 (fewer than 1,000 rounds read every slot). A busy slot (the writer
  // rewrote it through every attempt and busy_patience: seen under
  // ThreadSanitizer on 2 loaded cores) is an answer, not a tear: that
  // round's other slots are still checked.
  std::vector<pid_t> readers;
  for (int r = 0; r < 2; ++r) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        status_reader reader{path};
        std::vector<status_slot> slots;
        std::vector<std::uint64_t> last(64, 0);
        bool grown = false;
        int whole_rounds = 0;
        for (int round = 0; round < 20'000 && code == 0; ++round) {
          const auto e = reader.read_all(slots);
          if (e == status_error::none)
            ++whole_rounds;
          else if (e != status_error::busy)
            code = 10 + static_cast<int>(e);
          for (std::size_t i = 0; i < slots.size() && code == 0; ++i) {
            if (!consistent(slots[i])) code = 1;
            // Versions only grow, per slot (named slot<index>).
            const auto index = static_cast<std::size_t>(
                std::stoul(std::string{slots[i].name_view().substr(4)}));
            if (index >= last.size() || slots[i].version < last[index])
              code = 3;
            else
              last[index] = slots[i].version;
          }
          grown = grown || slots.size() == 64;
        }
        if (code == 0 && whole_rounds < 1'000) code = 4;
        if (code == 0 && !grown) {
          // The owner may still be before the growth: wait for it.
          while (reader.slot_count() != 64) std::this_thread::yield();
          auto e = reader.read_all(slots);
          for (int retry = 0; e == status_error::busy && retry < 100; ++retry)
            e = reader.read_all(slots);
          if (e != status_error::none || slots.size() != 64) code = 2;
        }
      } catch (...) {
        code = 98;
      }
      ::_exit(code);
    }
    readers.push_back(pid);
  }
  for (pid_t pid : readers) CHECK(wait_exit_code(pid) == 0);
  ::close(stop[1]);  // the owner sees EOF and exits
  CHECK(wait_exit_code(owner) == 0);
  CHECK_FALSE(test::file_exists(path));  // removed by its owner
}

TEST_CASE("the table file is private to its owner's uid", "[status_table]") {
  test::temp_dir dir;
  os::status_table_file file{dir.file("status"), 4, 0};
  struct stat info {};
  REQUIRE(::stat(file.path().c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(S_ISREG(info.st_mode));
}

TEST_CASE("a reader sees the owner gone once it is SIGKILLed",
          "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  const pid_t owner = fork_owner(path, 3, 1'000'000'000, [](auto&) {
    for (;;) ::pause();
    return 0;
  });
  status_reader reader{path};
  CHECK(reader.owner() == status_reader::owner_state::alive);
  status_slot slot;
  REQUIRE(reader.find("slot2", slot) == status_error::none);
  CHECK(slot.version == 0);
  REQUIRE(::kill(owner, SIGKILL) == 0);
  // Gone already as a zombie, before it is reaped.
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::gone; }));
  CHECK(wait_exit_code(owner) == 128 + SIGKILL);
  CHECK(reader.owner() == status_reader::owner_state::gone);
  // The last states stay readable, and a new reader sees the same.
  CHECK(reader.read(2, slot) == status_error::none);
  status_reader late{path};
  CHECK(late.owner() == status_reader::owner_state::gone);
}

namespace {
volatile sig_atomic_t stop_beating = 0;
}  // namespace

TEST_CASE(
    "an owner that stops beating reads as gone once its heartbeat is "
    "stale",
    "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  // Beats every millisecond (period 5 ms) until SIGUSR1, then runs on
  // without beating: alive to /proc, stale to the heartbeat. The handler
  // is installed before the fork, so the owner has it from its start.
  const auto previous = ::signal(SIGUSR1, [](int) { stop_beating = 1; });
  const pid_t owner = fork_owner(path, 1, 5'000'000, [](auto& file) {
    while (!stop_beating) {
      st::table_writer_unsafe{file.base()}.beat(os::monotonic_ns());
      std::this_thread::sleep_for(1ms);
    }
    for (;;) ::pause();
    return 0;
  });
  ::signal(SIGUSR1, previous);
  status_reader reader{path};
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::alive; }));
  REQUIRE(::kill(owner, SIGUSR1) == 0);
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::gone; }));
  REQUIRE(::kill(owner, SIGKILL) == 0);
  CHECK(wait_exit_code(owner) == 128 + SIGKILL);
}

TEST_CASE("a stopped owner reads as stopped, then alive once continued",
          "[status_table]") {
  test::temp_dir dir;
  const std::string path = dir.file("status");
  // A heartbeat period of a minute: stale only after five of them.
  const pid_t owner = fork_owner(path, 1, 60'000'000'000, [](auto& file) {
    for (;;) {
      st::table_writer_unsafe{file.base()}.beat(os::monotonic_ns());
      std::this_thread::sleep_for(1ms);
    }
    return 0;
  });
  status_reader reader{path};
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::alive; }));
  REQUIRE(::kill(owner, SIGSTOP) == 0);
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::stopped; }));
  REQUIRE(::kill(owner, SIGCONT) == 0);
  CHECK(eventually(
      [&] { return reader.owner() == status_reader::owner_state::alive; }));
  const auto beat = reader.last_heartbeat();
  REQUIRE(beat.has_value());
  CHECK(std::chrono::steady_clock::now() - *beat < 10s);
  REQUIRE(::kill(owner, SIGKILL) == 0);
  CHECK(wait_exit_code(owner) == 128 + SIGKILL);
  CHECK(reader.owner() == status_reader::owner_state::gone);
}

TEST_CASE("liveness checks the recorded start time, not only the pid",
          "[status_table]") {
  const auto self = os::process_start_ticks(::getpid());
  REQUIRE(self.has_value());
  st::header_snapshot h;
  h.owner_pid = ::getpid();
  h.owner_start_ticks = *self;
  CHECK(os::owner_alive(h, os::monotonic_ns()));
  h.owner_start_ticks = *self + 1;  // the pid was reused by another process
  CHECK_FALSE(os::owner_alive(h, os::monotonic_ns()));
  h.owner_start_ticks = *self;
  h.heartbeat_period_ns = 1'000'000;
  h.heartbeat_ns = os::monotonic_ns() - 10'000'000;
  CHECK_FALSE(os::owner_alive(h, os::monotonic_ns()));
  CHECK_FALSE(os::process_start_ticks(0).has_value());
}

TEST_CASE("opening something that is not a status table is an error",
          "[status_table]") {
  test::temp_dir dir;
  CHECK_THROWS_AS(status_reader{dir.file("absent")}, std::system_error);
  CHECK_THROWS_AS(status_reader{dir.write("short", "VITRSTAT")},
                  std::runtime_error);
  CHECK_THROWS_AS(status_reader{dir.write("junk", std::string(4096, 'x'))},
                  std::runtime_error);
  CHECK_THROWS_AS(status_reader{dir.path()}, std::runtime_error);
}

TEST_CASE("a FIFO or a symbolic link in the table's place is refused at once",
          "[status_table]") {
  test::temp_dir dir;
  // Opened without O_NONBLOCK, a FIFO waited for a writer forever.
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  try {
    status_reader reader{fifo};
    FAIL("a FIFO was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()} ==
          "status table " + fifo + ": not a regular file");
  }
  const std::string link = dir.file("link");
  REQUIRE(::symlink(dir.write("target", "x").c_str(), link.c_str()) == 0);
  try {
    status_reader reader{link};
    FAIL("a symbolic link was followed");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ELOOP);
    CHECK(std::string{e.what()}.starts_with("status table " + link +
                                            ": is a symbolic link: refused"));
  }
}

TEST_CASE("an unreadable slot hides no other: read_all and find pass over it",
          "[status_table]") {
  table_with_slots table{3};
  // Slot 1's payload overwritten behind the writer's back: its checksum
  // no longer matches.
  auto* bytes = static_cast<unsigned char*>(table.file.base());
  for (std::size_t at = st::header_size + st::slot_size + 16;
       at < st::header_size + st::slot_size + 80; ++at)
    bytes[at] ^= 0x5a;
  status_reader reader{table.path};
  std::vector<status_slot> slots;
  CHECK(reader.read_all(slots) == status_error::corrupt_slot);
  REQUIRE(slots.size() == 2);
  CHECK(slots[0].name_view() == "slot0");
  CHECK(slots[1].name_view() == "slot2");
  // A filter keeps what it accepts among the readable slots; the error is
  // still the unreadable slot's, whatever the filter would have said.
  int asked = 0;
  CHECK(reader.read_all(slots, [&](const status_slot& slot) {
    ++asked;
    return slot.name_view() == "slot2";
  }) == status_error::corrupt_slot);
  CHECK(asked == 2);
  REQUIRE(slots.size() == 1);
  CHECK(slots[0].name_view() == "slot2");
  CHECK(slots[0].version == 3);
  CHECK(reader.read_all(slots, [](const status_slot&) { return false; }) ==
        status_error::corrupt_slot);
  CHECK(slots.empty());
  status_slot found;
  CHECK(reader.find("slot2", found) == status_error::none);
  CHECK(found.version == 3);
  // Not in a readable slot: maybe in the corrupt one.
  CHECK(reader.find("nope", found) == status_error::corrupt_slot);
}

TEST_CASE("for_each and a filtered read_all never see a free slot",
          "[status_table]") {
  table_with_slots table{3};
  {
    // Slot 1 freed, as the owner frees the slot of a removed process.
    st::table_writer_unsafe w{table.file.base()};
    w.write_slot(1, st::slot_payload{});
  }
  status_reader reader{table.path};
  std::vector<status_slot> slots;
  std::vector<std::string> asked;
  CHECK(reader.read_all(slots, [&](const status_slot& slot) {
    asked.emplace_back(slot.name_view());
    return true;
  }) == status_error::none);
  CHECK(asked == std::vector<std::string>{"slot0", "slot2"});
  REQUIRE(slots.size() == 2);
  CHECK(slots[1].version == 3);
  // for_each, which read_all is built on: each slot in use with its index.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> visited;
  CHECK(reader.for_each([&](std::uint32_t index, const status_slot& slot) {
    visited.emplace_back(index, slot.version);
  }) == status_error::none);
  CHECK(visited ==
        std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 1}, {2, 3}});
}

TEST_CASE("a bad header answers no name, not even one found before",
          "[status_table]") {
  table_with_slots table{2};
  status_reader reader{table.path};
  status_slot found;
  REQUIRE(reader.find("slot1", found) == status_error::none);  // cached
  // The header's slot count past its capacity: a header nobody wrote.
  auto* h = static_cast<st::header*>(table.file.base());
  h->slot_count = h->slot_capacity + 1;
  std::vector<status_slot> slots;
  CHECK(reader.read_all(slots) == status_error::bad_layout);
  CHECK(slots.empty());
  int visits = 0;
  CHECK(reader.for_each([&](std::uint32_t, const status_slot&) { ++visits; }) ==
        status_error::bad_layout);
  CHECK(visits == 0);
  CHECK(reader.find("slot1", found) == status_error::bad_layout);
  CHECK(reader.find("slot0", found) == status_error::bad_layout);
}
