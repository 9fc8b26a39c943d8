// log_sink: size-based rotation, counted errors, and capture into it.
#include "vitrine/os/log_sink.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <thread>

#include <sys/stat.h>

#include "test_support.hpp"
#include "vitrine/os/io_service.hpp"

using namespace vitrine::os;
using namespace vitrine::os::test;

TEST_CASE(
    "a child writing 10 KiB into a 1 KiB sink with 2 backups leaves "
    "three files of at most 1 KiB and no fourth") {
  leak_guard guard;
  temp_dir dir;
  const std::string path = dir.file("out.log");
  exit_log log;
  std::atomic<bool> closed{false};
  io_service io;  // declared last: its thread uses the above
  auto sink = std::make_shared<log_sink>(path, 1024, 2);
  launch_options o;
  o.argv = {helper(), "flood", "10240"};
  o.stdout_target.mode = stdio_target::kind::capture;
  auto child = launch_ok(o);
  io.capture(std::move(child.stdout_pipe), sink, [&] { closed = true; });
  const pid_t pid = child.pid;
  io.watch_exit(child, log.recorder(pid));
  REQUIRE(wait_until([&] { return closed.load(); }));
  REQUIRE(log.wait_for(pid));  // stop() would drop an unreaped child
  io.stop();                   // the sink's counters are ours to read now
  for (const auto* suffix : {"", ".1", ".2"}) {
    INFO("file " << path << suffix);
    CHECK(std::filesystem::exists(path + suffix));
    CHECK(file_size(path + suffix) <= 1024);
    CHECK(file_size(path + suffix) > 0);
  }
  CHECK_FALSE(std::filesystem::exists(path + ".3"));
  CHECK(sink->bytes_written() == 10240);
  CHECK(sink->rotations() >= 9);
  CHECK(sink->errors() == 0);
  // The newest bytes are in path: the flood ends with 'y' padding or a line.
  CHECK(read_file(path).back() == '\n');
  sink.reset();  // closes the log file
  guard.check();
}

TEST_CASE("rotation keeps whole lines when a newline fits") {
  temp_dir dir;
  const std::string path = dir.file("l");
  log_sink sink(path, 10, 1);
  sink.write("abcd\n");
  sink.write("efgh\nij\n");  // "efgh\n" fits, "ij\n" goes to the new file
  CHECK(read_file(path + ".1") == "abcd\nefgh\n");
  CHECK(read_file(path) == "ij\n");
  sink.write("0123456789ABCDE");  // no newline: rotate, then hard cut
  CHECK(read_file(path + ".1") == "0123456789");
  CHECK(read_file(path) == "ABCDE");
  CHECK(sink.errors() == 0);
}

TEST_CASE("zero backups start the file anew; zero max_bytes never rotates") {
  temp_dir dir;
  log_sink truncating(dir.file("t"), 4, 0);
  truncating.write("aaaa");
  truncating.write("bb");
  CHECK(read_file(dir.file("t")) == "bb");
  CHECK_FALSE(std::filesystem::exists(dir.file("t.1")));

  log_sink unbounded(dir.file("u"), 0, 3);
  for (int i = 0; i < 100; ++i) unbounded.write("0123456789");
  CHECK(file_size(dir.file("u")) == 1000);
  CHECK(unbounded.rotations() == 0);
}

TEST_CASE("an existing file is appended to, and its size counts") {
  temp_dir dir;
  {
    log_sink first(dir.file("a"), 8, 1);
    first.write("12345");
  }
  log_sink second(dir.file("a"), 8, 1);
  second.write("678");
  CHECK(read_file(dir.file("a")) == "12345678");
  second.write("9");
  CHECK(read_file(dir.file("a")) == "9");
  CHECK(read_file(dir.file("a.1")) == "12345678");
}

TEST_CASE("write errors are counted, not thrown") {
  log_sink sink("/nonexistent-dir/x.log", 100, 1);
  CHECK(sink.errors() == 1);
  CHECK_NOTHROW(sink.write("hello"));
  CHECK(sink.errors() == 2);
  CHECK(sink.bytes_written() == 0);
}

TEST_CASE("a sink whose directory went away writes again once it is back") {
  temp_dir dir;
  const std::string sub = dir.file("logs");
  REQUIRE(std::filesystem::create_directory(sub));
  log_sink sink(sub + "/w.log", 10, 1);
  sink.write("before\n");
  std::filesystem::remove_all(sub);
  sink.write("rotates\n");  // over 10 bytes: the new file cannot be opened
  const auto dropped = sink.errors();
  CHECK(dropped > 0);
  sink.write("dropped\n");
  CHECK(sink.errors() > dropped);
  REQUIRE(std::filesystem::create_directory(sub));
  // Within a reopen_interval a write finds the place open again.
  CHECK(wait_until([&] {
    sink.write("after\n");
    return std::filesystem::exists(sub + "/w.log");
  }));
  // What was dropped meanwhile is said where it happened.
  const auto text = read_file(sub + "/w.log");
  CHECK(text.starts_with("[vitrine: "));
  CHECK(text.find(" bytes of output were dropped here: No such file or "
                  "directory]\nafter\n") != std::string::npos);
  CHECK(sink.dropped_bytes() == 0);
}

TEST_CASE(
    "a capture removed or replaced while open is written at its path "
    "again") {
  temp_dir dir;
  const std::string path = dir.file("w.log");
  log_sink sink(path, 0, 0);
  sink.write("one\n");
  std::filesystem::remove(path);
  CHECK(wait_until([&] {
    sink.write("two\n");
    return std::filesystem::exists(path);
  }));
  CHECK(read_file(path).starts_with("two\n"));  // nothing was dropped
  // Moved away (a logrotate without copytruncate): the same.
  std::filesystem::rename(path, path + ".old");
  CHECK(wait_until([&] {
    sink.write("three\n");
    return std::filesystem::exists(path);
  }));
  CHECK(read_file(path) == "three\n");
  CHECK(sink.errors() == 0);
}

TEST_CASE(
    "on a full file system the oldest output makes room for the newest; "
    "what is dropped is said") {
  vitrine::test::temp_dir dir;
  vitrine::test::small_tmpfs disk{dir.path(), "64k"};
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << std::strerror(disk.error())
                                  << "): skipped");
    return;
  }
  const std::string path = dir.file("w.log");
  std::string line;
  {
    // Two files of 40,000 bytes do not fit in 64 KiB: the backup goes
    // when the current file needs its room. (The old sink stopped there,
    // dropping everything, as its file never reached max_bytes.)
    log_sink sink(path, 40'000, 1);
    for (int i = 0; i < 20'000; ++i) {
      line = "line " + std::to_string(i) + "\n";
      sink.write(line);
    }
    CHECK(sink.errors() == 0);
    CHECK(sink.dropped_bytes() == 0);
    CHECK(read_file(path).ends_with(line));
    CHECK(sink.rotations() > 3);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".1");
  // Without rotation nothing may go: output is dropped until there is
  // room, then the file says how much was lost, where.
  log_sink sink(path, 0, 0);
  const std::string filler = dir.file("filler");
  vitrine::test::fill_file_system(filler);
  sink.write("lost 1\n");
  sink.write("lost 2\n");
  CHECK(sink.dropped_bytes() == 14);
  CHECK(sink.errors() == 2);
  std::filesystem::remove(filler);
  sink.write("kept\n");
  CHECK(sink.dropped_bytes() == 0);
  CHECK(read_file(path) ==
        "[vitrine: 14 bytes of output were dropped here: No space left on "
        "device]\nkept\n");
}

TEST_CASE("with zero backups a rotation never leaves the path missing") {
  // A reader (`vitrine logs`) found the path missing at rotations: the
  // sink deleted or renamed it, then created it again. Now an empty file
  // made beforehand is renamed over it.
  temp_dir dir;
  const std::string path = dir.file("busy.log");
  constexpr std::uint64_t max_bytes = 64 * 1024;
  log_sink sink(path, max_bytes, 0);
  std::atomic<bool> done{false};
  std::atomic<unsigned> looks{0}, missing{0};
  std::thread watcher{[&] {
    while (!done.load()) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) missing.fetch_add(1);
      looks.fetch_add(1);
    }
  }};
  const std::string chunk(4096, 'x');
  while (sink.rotations() < 300)
    for (std::uint64_t n = 0; n < max_bytes / chunk.size(); ++n)
      sink.write(chunk);
  done = true;
  watcher.join();
  INFO(looks.load() << " looks");
  CHECK(looks.load() > 1000);
  CHECK(missing.load() == 0);
  CHECK(sink.errors() == 0);
  CHECK_FALSE(std::filesystem::exists(path + ".vitrine-new"));
}

TEST_CASE(
    "a rotation with backups shifts the files and leaves no helper file") {
  temp_dir dir;
  const std::string path = dir.file("r.log");
  log_sink sink(path, 10, 2);
  for (const char* line :
       {"aaaaaaaa\n", "bbbbbbbb\n", "cccccccc\n", "dddddddd\n"})
    sink.write(line);
  CHECK(read_file(path) == "dddddddd\n");
  CHECK(read_file(path + ".1") == "cccccccc\n");
  CHECK(read_file(path + ".2") == "bbbbbbbb\n");
  CHECK_FALSE(std::filesystem::exists(path + ".3"));
  CHECK_FALSE(std::filesystem::exists(path + ".vitrine-new"));
  CHECK_FALSE(std::filesystem::exists(path + ".vitrine-old"));
  CHECK(sink.rotations() == 3);
  CHECK(sink.errors() == 0);
  // Still the file at the path: what comes next is written there.
  sink.write("e");
  CHECK(read_file(path) == "dddddddd\ne");
}
