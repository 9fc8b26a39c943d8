// The `logs -f` reader (cli/log_follower.hpp) against the real sink
// (os::log_sink), with the rotations placed between polls at will: every
// line once while the rotated files exist, and a notice when they do not
// (or when someone else renamed the file being read).
#include "log_follower.hpp"

#include <stdio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "vitrine/os/log_sink.hpp"

using namespace vitrine;
using namespace vitrine::test;
using progress = cli::log_follower::progress;

namespace {

/// Polls `follower` until it has nothing more to read, collecting what it
/// passed on and its notices (one a line).
void poll_until_caught_up(cli::log_follower& follower, std::string& read,
                          std::string& notices) {
  const auto out = [&](std::string_view text) {
    read += text;
    return true;
  };
  const auto notice = [&](const std::string& text) { notices += text + "\n"; };
  while (follower.poll(out, notice) == progress::more) {
  }
}

/// A sink and a follower of one file, and what each side saw.
struct follow_fixture {
  follow_fixture(std::uint64_t max_bytes, unsigned backups)
      : path(dir.file("out.log")),
        sink(path, max_bytes, backups),
        follower(path, backups) {
    REQUIRE(follower.open_at_end());
  }

  /// Writes lines "line N" for the next `count` numbers.
  void write_lines(int count) {
    for (int i = 0; i < count; ++i) {
      const std::string line = "line " + std::to_string(++written_lines) + "\n";
      sink.write(line);
      written += line;
    }
  }

  /// Polls until the follower has nothing more to read.
  void catch_up() { poll_until_caught_up(follower, read, notices); }

  temp_dir dir;
  std::string path;
  os::log_sink sink;
  cli::log_follower follower;
  int written_lines = 0;
  std::string written, read, notices;
};

}  // namespace

TEST_CASE("a follower reads every line once across many rotations per poll",
          "[cli][logs]") {
  // ~11 lines per 100-byte file; up to 19 rotations between two polls,
  // fewer than the 50 files kept.
  follow_fixture f{100, 50};
  for (int round = 0; round < 20; ++round) {
    f.write_lines(round * 12);
    f.catch_up();
  }
  CHECK(f.sink.rotations() > 100);
  CHECK(f.notices.empty());
  CHECK(f.read == f.written);
}

TEST_CASE("a follower more rotations behind than the backups says it skipped",
          "[cli][logs]") {
  follow_fixture f{100, 2};
  f.write_lines(5);
  f.catch_up();
  f.write_lines(200);  // ~18 rotations: what followed "line 5"'s file is gone
  f.catch_up();
  INFO(f.read);
  CHECK(f.notices == "skipped: some output of " + f.path +
                         " was rotated away before it was read (more than 2 "
                         "rotations behind); going on with " +
                         f.path + ".2 after its first newline\n");
  // The file being read is read to its end (it was open), then the oldest
  // file left (from its second line) and the newer ones: two runs of
  // lines, in order, the second ending with the last line written.
  const auto numbers = numbers_after(f.read, "line ");
  REQUIRE(numbers.size() > 5);
  std::size_t gaps = 0;
  for (std::size_t i = 1; i < numbers.size(); ++i) {
    CHECK(numbers[i] > numbers[i - 1]);
    if (numbers[i] != numbers[i - 1] + 1) ++gaps;
  }
  CHECK(gaps == 1);
  CHECK(numbers.front() == 1);
  CHECK(numbers.back() == f.written_lines);
  // Caught up again, it follows without a further notice.
  f.notices.clear();
  f.read.clear();
  f.written.clear();
  f.write_lines(15);
  f.catch_up();
  CHECK(f.notices.empty());
  CHECK(f.read == f.written);
}

TEST_CASE("a follower that skips at every poll counts its skips",
          "[cli][logs]") {
  // A writer rotating faster than `logs -f` reads made it skip at nearly
  // every poll: one notice each (an outside tester: 2,897 in 16 s). The
  // first skip is said at once, the next ones within a second as one.
  follow_fixture f{100, 2};
  f.write_lines(5);
  f.catch_up();
  const auto begin = std::chrono::steady_clock::now();
  constexpr int rounds = 5;
  for (int round = 0; round < rounds; ++round) {
    f.write_lines(200);  // ~18 rotations: each round skips once
    f.catch_up();
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - begin)
                           .count();
  const auto notice = [&](const std::string& text) {
    f.notices += text + "\n";
  };
  CHECK(f.follower.finish([](std::string_view) { return true; }, notice));
  INFO(f.notices);
  // Every skip is counted once, in at most one notice a second (and the
  // one finish() says).
  int said = 0, lines = 0;
  for (std::size_t at = 0;
       (at = f.notices.find("skipped: ", at)) != std::string::npos; ++at) {
    ++lines;
    const auto end = f.notices.find('\n', at);
    const auto times = f.notices.find(" times since the last notice", at);
    if (times < end) {
      const auto number = f.notices.rfind(", ", times) + 2;
      said += std::stoi(f.notices.substr(number, times - number));
    } else {
      ++said;
    }
  }
  CHECK(said == rounds);
  CHECK(lines <= 2 + seconds);
  if (seconds == 0) {
    CHECK(lines == 2);
    CHECK(f.notices.find(", 4 times since the last notice (more than 2 "
                         "rotations behind each time); going on with ") !=
          std::string::npos);
  }
}

TEST_CASE("a follower leaves a file renamed by someone else for the new PATH",
          "[cli][logs]") {
  follow_fixture f{0, 2};  // never rotates by itself
  f.write_lines(3);
  f.catch_up();
  REQUIRE(::rename(f.path.c_str(), f.dir.file("elsewhere").c_str()) == 0);
  f.write_lines(2);  // still into the renamed file: its writer holds it
  f.sink.reopen();   // what logrotate's postrotate would ask for
  f.write_lines(4);
  // It looks for the renamed file for a few polls, then gives it up.
  for (int poll = 0; poll < 20 && f.notices.empty(); ++poll) f.catch_up();
  f.catch_up();
  CHECK(f.notices == "the file being read as " + f.path +
                         " was renamed out of its rotation; going on with " +
                         f.path + "\n");
  CHECK(f.read == f.written);
}

TEST_CASE(
    "a follower goes on with the new PATH after someone removed the file "
    "it read, skipping nothing",
    "[cli][logs]") {
  // Without rotation (no rotated file), and with rotated files left, all
  // older than the file removed: nothing was rotated away. (It used to
  // say so, and drop the new file's first line.)
  const std::uint64_t max_bytes = GENERATE(0, 1000);
  follow_fixture f{max_bytes, 2};
  f.write_lines(150);  // ~1,300 bytes: one rotation at 1,000
  f.catch_up();
  std::this_thread::sleep_for(std::chrono::milliseconds{20});
  f.write_lines(1);  // the file read is newer than PATH.1
  REQUIRE(::unlink(f.path.c_str()) == 0);
  f.write_lines(2);  // still into the removed file: its writer holds it
  f.sink.reopen();   // as the sink's next look at its path does
  f.write_lines(4);
  f.catch_up();
  CHECK(f.notices == "the file being read as " + f.path +
                         " was removed; going on with the new " + f.path +
                         "\n");
  CHECK(f.read == f.written);
}

TEST_CASE(
    "a follower that finds its file rotated away between two of the "
    "sink's renames does not take it for removed",
    "[cli][logs]") {
  // A rotation renames PATH.1 to PATH.2 (deleting the file read, two
  // rotations behind), then PATH to PATH.1: in between there is no
  // PATH.1. An outside tester's `logs -f` of a fast writer said "was
  // removed" 106 times in 8 s for such rotations.
  follow_fixture f{0, 2};  // rotated by hand below
  const auto name = [&](int k) { return f.path + "." + std::to_string(k); };
  const auto rotate_by_hand = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    REQUIRE(::rename(name(1).c_str(), name(2).c_str()) == 0);
    REQUIRE(::rename(f.path.c_str(), name(1).c_str()) == 0);
    f.sink.reopen();
  };
  f.write_lines(3);
  f.catch_up();  // reading A at PATH
  REQUIRE(::rename(f.path.c_str(), name(1).c_str()) == 0);
  f.sink.reopen();
  f.write_lines(3);  // B at PATH, A at PATH.1
  rotate_by_hand();
  f.write_lines(3);  // C at PATH, B at PATH.1, A at PATH.2
  std::this_thread::sleep_for(std::chrono::milliseconds{5});
  // The next rotation, half done: B replaces A at PATH.2, no PATH.1.
  REQUIRE(::rename(name(1).c_str(), name(2).c_str()) == 0);
  f.catch_up();
  // A loss (what followed A: B's first line), said as such, going on
  // with B.
  CHECK(f.notices == "skipped: some output of " + f.path +
                         " was rotated away before it was read (more than 2 "
                         "rotations behind); going on with " +
                         f.path + ".2 after its first newline\n");
  // Done: C at PATH.1, D at PATH; read on without a further notice.
  REQUIRE(::rename(f.path.c_str(), name(1).c_str()) == 0);
  f.sink.reopen();
  f.write_lines(2);
  f.notices.clear();
  f.catch_up();
  CHECK(f.notices.empty());
  CHECK(f.read.ends_with("line 11\n"));
}

namespace {

/// A follower of `path` from its start, and what it passed on.
struct raw_follower {
  raw_follower(const std::string& path, unsigned backups)
      : follower(path, backups) {}

  void catch_up() { poll_until_caught_up(follower, read, notices); }

  cli::log_follower follower;
  std::string read, notices;
};

}  // namespace

TEST_CASE("a follower passes whole lines, joined across a rotation",
          "[cli][logs]") {
  temp_dir dir;
  const auto path = dir.file("out.log");
  dir.write("out.log", "c 1\nsp");
  raw_follower f{path, 2};
  f.catch_up();
  CHECK(f.read == "c 1\n");  // "sp" is held until its newline
  // The sink went on with the line in a new file (the old one filled up).
  REQUIRE(::rename(path.c_str(), (path + ".1").c_str()) == 0);
  dir.write("out.log", "lit\nc 2\nha");
  f.catch_up();
  CHECK(f.read == "c 1\nsplit\nc 2\n");
  {
    // The rest of "ha" comes later into the same file.
    FILE* file = ::fopen(path.c_str(), "a");
    REQUIRE(file != nullptr);
    ::fputs("lf\n", file);
    ::fclose(file);
  }
  f.catch_up();
  CHECK(f.read == "c 1\nsplit\nc 2\nhalf\n");
  CHECK(f.notices.empty());
}

TEST_CASE(
    "a follower that skips never joins a partial line to the next file's text",
    "[cli][logs]") {
  // What `logs -f` once printed as "512752322608": the file being read
  // ended in the middle of a line ("5127", its rest in the next file), the
  // reader fell more than `backups` rotations behind, and the oldest file
  // left began with another line (or with the end of a lost one).
  temp_dir dir;
  const auto path = dir.file("out.log");
  dir.write("out.log", "51274032\n51274033\n5127");
  raw_follower f{path, 2};
  f.catch_up();
  CHECK(f.read == "51274032\n51274033\n");
  // Rotations past the backups: the file being read (still open) is
  // deleted; PATH.2, PATH.1 and PATH are newer files. PATH.2 begins with
  // the end of a line whose start went with a deleted file.
  REQUIRE(::unlink(path.c_str()) == 0);
  dir.write("out.log.2", "2608\n52322609\n");
  dir.write("out.log.1", "52322610\n");
  dir.write("out.log", "52322611\n5232");
  f.catch_up();
  INFO(f.read);
  CHECK(f.notices == "skipped: some output of " + path +
                         " was rotated away before it was read (more than 2 "
                         "rotations behind); going on with " +
                         path + ".2 after its first newline\n");
  // Only lines the program wrote, whole: neither "5127" nor "2608" (nor
  // the two joined), and "5232" waits for its newline.
  CHECK(f.read == "51274032\n51274033\n52322609\n52322610\n52322611\n");
  // Reading stops: the unfinished line held back is passed on.
  std::string rest;
  CHECK(f.follower.finish([&](std::string_view text) {
    rest += text;
    return true;
  }));
  CHECK(rest == "5232");
}

TEST_CASE("a follower started at a line's middle shows from the next line",
          "[cli][logs]") {
  // `logs -f -n 0` starts while "hal" waits for the rest of its line: the
  // first line printed is the next whole one, not "f".
  temp_dir dir;
  const auto path = dir.file("out.log");
  dir.write("out.log", "a 1\nhal");
  raw_follower at_line{path, 2}, continuing{path, 2};
  REQUIRE(at_line.follower.open_at_end(true));
  REQUIRE(continuing.follower.open_at_end());  // -n N printed "hal" already
  FILE* file = ::fopen(path.c_str(), "a");
  REQUIRE(file != nullptr);
  ::fputs("f\nb 2\n", file);
  ::fclose(file);
  at_line.catch_up();
  continuing.catch_up();
  CHECK(at_line.read == "b 2\n");
  CHECK(continuing.read == "f\nb 2\n");
}

TEST_CASE("a reader between a rotation's two renames waits for the new PATH",
          "[cli][logs]") {
  // `vitrine logs w -n 1` said PATH "does not exist (yet)" 20-44 times in
  // 60 while a busy program's capture rotated: PATH.1 is there, PATH is
  // not yet.
  temp_dir dir;
  const auto path = dir.file("w.log");
  dir.write("w.log.1", "older 1\nolder 2\n");
  cli::log_follower reader{path, 1};
  std::thread rotation{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    dir.write("w.log", "new 1\n");
  }};
  const auto tail = reader.open_with_tail(2);
  rotation.join();
  REQUIRE(tail);
  CHECK(*tail == "older 2\nnew 1\n");
  // Without PATH.1 a missing PATH is missing (never started).
  cli::log_follower never{dir.file("other.log"), 1};
  CHECK_FALSE(never.open_with_tail(2));
}
