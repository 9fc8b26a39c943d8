// Status rows: rendering as table and lines, the JSON round trip, and the
// atomic status file.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "cli_driver.hpp"
#include "render.hpp"
#include "status.hpp"

using namespace vitrine;
using namespace vitrine::cli;
using namespace std::chrono_literals;

namespace {

status_row running_row() {
  status_row row;
  row.name = "web";
  row.status = "running";
  row.pid = 4242;
  row.version = 3;
  row.restarts = 1;
  row.exit_kind = "signaled";
  row.exit_value = 9;
  row.last_exit = "signal 9 (SIGKILL)";
  row.started_at_ms = 1'000'000;
  return row;
}

}  // namespace

TEST_CASE("uptimes are short and readable", "[cli][render]") {
  CHECK(format_uptime(0ms) == "0s");
  CHECK(format_uptime(59'999ms) == "59s");
  CHECK(format_uptime(187s) == "3m07s");
  CHECK(format_uptime(2h + 5min) == "2h05m");
  CHECK(format_uptime(std::chrono::hours{76}) == "3d04h");
}

TEST_CASE("the table aligns its columns and shows uptime of running rows",
          "[cli][render]") {
  status_row stopped;
  stopped.name = "a-much-longer-name";
  stopped.status = "stopped";
  const auto text = render_table({running_row(), stopped}, 1'065'000);
  CHECK(text ==
        "NAME                STATUS   PID   UPTIME  RESTARTS  LAST EXIT\n"
        "web                 running  4242  1m05s   1         signal 9 "
        "(SIGKILL)\n"
        "a-much-longer-name  stopped  -     -       0         -\n");
  // Cut to the terminal width.
  const auto narrow = render_table({running_row()}, 1'065'000, 10);
  CHECK(narrow == "NAME  STAT\nweb   runn\n");
}

TEST_CASE("a plain line says everything about one change", "[cli][render]") {
  auto row = running_row();
  row.spawn_error = "exec /x: No such file";
  const auto line = render_line(row, 0);
  CHECK(line.ends_with(
      " web running pid=4242 restarts=1 last_exit=signal 9 (SIGKILL) "
      "error=\"exec /x: No such file\""));
}

TEST_CASE("rows survive the JSON round trip", "[cli][status]") {
  const auto json = to_json({running_row()}, 1'065'000);
  CHECK(json.find("\"uptime_ms\": 65000") != std::string::npos);
  std::string error;
  const auto rows = rows_from_json(json, error);
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  const auto& r = rows->front();
  const auto expected = running_row();
  CHECK(r.name == expected.name);
  CHECK(r.status == expected.status);
  CHECK(r.pid == expected.pid);
  CHECK(r.version == expected.version);
  CHECK(r.restarts == expected.restarts);
  CHECK(r.exit_kind == expected.exit_kind);
  CHECK(r.exit_value == expected.exit_value);
  CHECK(r.last_exit == expected.last_exit);
  CHECK(r.started_at_ms == expected.started_at_ms);
  CHECK(!rows_from_json("{", error));
  CHECK(!rows_from_json("{\"a\": 1}", error));
  CHECK(!rows_from_json("[1]", error));
}

TEST_CASE("a status file entry with a missing or mistyped field is refused",
          "[cli][status]") {
  // {bad entry, the error expected}: each entry is the second of the list,
  // after a good one, so the index is named too.
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "processes[1]: 'name' is missing"},
      {R"({"name": "a"})", "processes[1]: 'status' is missing"},
      {R"({"name": "", "status": "running"})", "processes[1]: 'name' is empty"},
      {R"({"name": 7, "status": "running"})",
       "processes[1]: 'name' is not a string"},
      {R"({"name": "a", "status": "nonsense"})",
       "processes[1]: 'status' is not a process status: 'nonsense'"},
      {R"({"name": "a", "status": "running", "pid": 99999999999999999999})",
       "processes[1]: 'pid' is not an integer in"},
      {R"({"name": "a", "status": "running", "pid": "12"})",
       "processes[1]: 'pid' is not an integer in"},
      {R"({"name": "a", "status": "running", "pid": 4294967296})",
       "processes[1]: 'pid' is not an integer in"},
      {R"({"name": "a", "status": "running", "pid": -1})",
       "processes[1]: 'pid' is negative"},
      {R"({"name": "a", "status": "running", "restarts": -1})",
       "processes[1]: 'restarts' is not an integer in 0..4294967295"},
      {R"({"name": "a", "status": "running", "last_exit": "-"})",
       "processes[1]: 'last_exit' is not a JSON object"},
      {R"({"name": "a", "status": "running", "last_exit": {"value": 1.5}})",
       "processes[1]: 'value' is not an integer in"},
  };
  for (const auto& [entry, expected] : cases) {
    const std::string json = std::string{R"({"processes": [{"name": "ok",)"} +
                             R"( "status": "stopped"}, )" + entry + "]}";
    INFO(json);
    std::string error;
    CHECK_FALSE(rows_from_json(json, error));
    CHECK(error.starts_with(expected));
  }
  std::string error;
  const auto minimal = rows_from_json(
      R"({"processes": [{"name": "a", "status": "unknown", "pid": 0}]})",
      error);
  INFO(error);
  REQUIRE(minimal);
  CHECK(minimal->front().status == "unknown");
}

TEST_CASE("the status file is replaced whole, and errors leave no temp file",
          "[cli][status]") {
  vitrine::test::temp_dir dir;
  const auto path = dir.path() + "/s.json";
  // Whatever sits at a predictable name beside it is left alone: a FIFO
  // there (opened, it would block until a reader came) and a link.
  REQUIRE(::mkfifo((path + ".tmp").c_str(), 0600) == 0);
  REQUIRE(::symlink("/etc/hostname", (path + ".tmp.1").c_str()) == 0);
  CHECK(write_file_atomic(path, "[]\n").empty());
  CHECK(write_file_atomic(path, "[1]\n").empty());
  CHECK(vitrine::test::read_file(path) == "[1]\n");
  namespace fs = std::filesystem;
  CHECK(fs::is_fifo(path + ".tmp"));
  CHECK(fs::is_symlink(path + ".tmp.1"));
  auto entries = fs::directory_iterator{dir.path()};
  CHECK(std::distance(begin(entries), end(entries)) == 3);  // no temporary
  // A FIFO at the path itself is replaced, not opened.
  const auto fifo = dir.path() + "/fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(write_file_atomic(fifo, "[]\n").empty());
  CHECK(fs::is_regular_file(fifo));
  CHECK(!write_file_atomic(dir.path() + "/no/such/dir/s.json", "x").empty());
}

TEST_CASE("make_row converts a published state", "[cli][status]") {
  core::process_state s;
  s.version = 5;
  s.status = core::process_status::backoff;
  s.restart_count = 2;
  s.last_exit = {core::termination::kind::exited, 3};
  s.name_storage = std::make_shared<const std::string>("job");
  s.started_at = core::process_state::clock::now() - 2s;
  const auto now = clock_pair::now();
  const auto row = make_row(s, now);
  CHECK(row.name == "job");
  CHECK(row.status == "backoff");
  CHECK(row.last_exit == "exit 3");
  CHECK(row.exit_kind == "exited");
  CHECK(row.exit_value == 3);
  CHECK(row.restarts == 2);
  CHECK(row.version == 5);
  CHECK(now.unix_ms() - row.started_at_ms >= 1999);
  CHECK(!uptime(row, now.unix_ms()));  // no child, no uptime
}
