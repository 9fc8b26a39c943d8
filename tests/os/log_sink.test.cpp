// log_sink: size-based rotation, counted errors, and capture into it.
#include "vitrine/os/log_sink.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

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
  CHECK(read_file(sub + "/w.log").starts_with("after\n"));
}
