// The `logs -f` reader (cli/log_follower.hpp) against the real sink
// (os::log_sink), with the rotations placed between polls at will: every
// line once while the rotated files exist, and a notice when they do not
// (or when someone else renamed the file being read).
#include "log_follower.hpp"

#include <stdio.h>

#include <catch2/catch.hpp>
#include <string>

#include "cli_driver.hpp"
#include "vitrine/os/log_sink.hpp"

using namespace vitrine;
using namespace vitrine::test;
using progress = cli::log_follower::progress;

namespace {

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
  void catch_up() {
    const auto out = [this](std::string_view text) {
      read += text;
      return true;
    };
    const auto notice = [this](const std::string& text) {
      notices += text + "\n";
    };
    while (follower.poll(out, notice) == progress::more) {
    }
  }

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
                         f.path + ".2\n");
  // The file being read is read to its end (it was open), then the oldest
  // file left and the newer ones: two runs of lines, in order, the second
  // ending with the last line written.
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
