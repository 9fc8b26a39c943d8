// `vitrine run` and its state directory, against real runs: one run per
// directory (the default one named after the top supervisor), and a
// directory that others could write or redirect refused.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>  // renameat2
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

/// One program, `a`, a `sleep` running at once.
const std::string one_sleeper =
    "[[program]]\nname = \"a\"\ncommand = [\"sleep\", \"1000\"]\n"
    "startsecs_ms = 0\n";

/// `ctl stop a`, tried for up to 5 s while the run binds its control
/// socket again (a client that comes before is told there is none).
cli_result stop_a_once_bound(const live_run& run) {
  cli_result stop;
  for (int i = 0; i < 100; ++i) {
    stop = run.cli({"ctl", "stop", "a"});
    if (stop.code == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  return stop;
}

}  // namespace

namespace {
const std::string& demo = demo_config;
}  // namespace

TEST_CASE("a second vitrine run on the same state directory is refused",
          "[cli][state_dir]") {
  live_run run{demo};
  run.wait_status("api", "running");
  const auto second = run.cli({"run", "--plain", run.dir().file("run.toml")});
  INFO(second.output);
  CHECK(second.code == 1);
  CHECK(contains(second.output, run.state()));
  run.wait_status("api", "running");  // the first one is untouched

  // The default state directory is the top supervisor's name.
  const auto config = run.dir().file("run.toml");
  cli_process first{{"run", "--plain", config}, run.dir().file("a.log")};
  REQUIRE(
      wait_for_text(run.dir().file("a.log"), "api running", 20s, first.pid()));
  const auto again = run_cli({"run", "--plain", config});
  INFO(again.output);
  CHECK(again.code == 1);
  CHECK(contains(again.output, "/vitrine/demo"));
  const auto status =
      run_cli({"status", "--state-dir",
               std::string{std::getenv("XDG_RUNTIME_DIR")} + "/vitrine/demo"});
  CHECK(status.code == 0);
}

TEST_CASE(
    "a state directory that is world-writable, a symbolic link or owned by "
    "another uid is refused",
    "[cli][state_dir]") {
  temp_dir dir;
  const auto config = dir.write("run.toml", demo);
  const auto refused = [&](const std::string& state) {
    const auto result =
        run_cli({"run", "--plain", "--state-dir", state, config});
    INFO(result.output);
    CHECK(result.code == 1);
    CHECK(contains(result.output, "vitrine: " + state));
    CHECK_FALSE(contains(result.output, "api running"));
  };
  const auto open = dir.file("open");
  REQUIRE(::mkdir(open.c_str(), 0700) == 0);
  REQUIRE(::chmod(open.c_str(), 0777) == 0);
  refused(open);

  const auto real = dir.file("real");
  REQUIRE(::mkdir(real.c_str(), 0700) == 0);
  const auto link = dir.file("link");
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  refused(link);

  if (::geteuid() == 0) {
    const auto other = dir.file("other");
    REQUIRE(::mkdir(other.c_str(), 0700) == 0);
    REQUIRE(::chown(other.c_str(), 65534, 65534) == 0);
    refused(other);
  }
}

TEST_CASE("status refuses a FIFO in the status table's place at once",
          "[cli][state_dir]") {
  temp_dir dir;
  const auto state = dir.file("state");
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  // A stopped run's directory (its lock file marks it), where someone put
  // a FIFO. It waited for a writer forever before.
  dir.write("state/lock", "vitrine state directory\n1\n");
  REQUIRE(::mkfifo((state + "/status").c_str(), 0600) == 0);
  const auto output = dir.file("status.out");
  cli_process status{{"status", "--state-dir", state}, output};
  CHECK(status.wait(20s) == std::optional<int>{1});
  const auto text = read_file(output);
  INFO(text);
  CHECK(contains(
      text, "vitrine: status table " + state + "/status: not a regular file"));
}

TEST_CASE("FIFOs beside the run's files never hold it", "[cli][state_dir]") {
  temp_dir dir;
  const auto config = dir.write("run.toml", demo);
  const auto state = dir.file("state");
  {  // A first run makes it a state directory.
    cli_process first{{"run", "--plain", "--state-dir", state, config},
                      dir.file("first.log")};
    REQUIRE(
        wait_for_text(dir.file("first.log"), "api running", 20s, first.pid()));
    REQUIRE(::kill(first.pid(), SIGTERM) == 0);
    REQUIRE(first.wait(20s) == std::optional<int>{0});
  }
  // Opened for writing, each of these would wait for a reader forever: at
  // the configuration's leaf, and at the names the files were once
  // written through (anyone may create one beside a file in /tmp).
  REQUIRE(::unlink((state + "/config").c_str()) == 0);
  for (const auto& fifo :
       {state + "/config", state + "/order.tmp", dir.file("s.json.tmp")})
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto log = dir.file("run.log");
  cli_process run{{"run", "--plain", "--state-dir", state, "--json-status",
                   dir.file("s.json"), config},
                  log};
  REQUIRE(wait_for_text(log, "api running", 20s, run.pid()));
  CHECK(wait_for_text(dir.file("s.json"), "\"api\"", 20s, run.pid()));
  CHECK(read_file(state + "/config") == config + "\n");
  const auto reload = run_cli({"reload", "--state-dir", state});
  INFO(reload.output);
  CHECK(reload.code == 0);
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  CHECK(run.wait(20s) == std::optional<int>{0});
}

TEST_CASE("a run refused for its --json-status path leaves no state directory",
          "[cli][state_dir]") {
  temp_dir dir;
  const auto config = dir.write("run.toml", demo);
  const auto state = dir.file("state");
  // /proc/version: a directory that passes the access checks (as root)
  // but takes no new file.
  for (const std::string& bad :
       {std::string{"/proc/nope/status.json"}, std::string{"/proc/version"},
        dir.path(), dir.file("run.toml/x")}) {
    const auto refused = run_cli(
        {"run", "--plain", config, "--json-status", bad, "--state-dir", state});
    INFO(bad << ": " << refused.output);
    CHECK(refused.code == 1);
    CHECK(contains(refused.output, "--json-status: "));
    struct stat st {};
    CHECK(::stat(state.c_str(), &st) != 0);  // nothing claimed
  }
}

TEST_CASE("status lists a process the run's order does not name yet last",
          "[cli][state_dir][status]") {
  // As while a reload adds `api`, before the order leaf is rewritten.
  live_run run{demo};
  run.wait_status("cache", "running");
  const auto order = run.state() + "/order";
  auto text = read_file(order);
  const auto at = text.find("api\n");
  REQUIRE(at != std::string::npos);
  text.erase(at, 4);
  run.dir().write("order.new", text);
  REQUIRE(::rename(run.dir().file("order.new").c_str(), order.c_str()) == 0);
  const auto status = run.cli({"status"});
  INFO(status.output);
  REQUIRE(status.code == 0);
  const auto api = status.output.find("\napi ");
  REQUIRE(api != std::string::npos);
  for (const char* other : {"\nlazy ", "\ndb ", "\ncache "}) {
    CHECK(status.output.find(other) != std::string::npos);
    CHECK(status.output.find(other) < api);
  }
  // The supervisors it does not name (the root) still come first.
  CHECK(status.output.find("supervisor root") <
        status.output.find("supervisor demo"));
}

TEST_CASE(
    "a run started with stdin and stdout closed keeps its output out of its "
    "state directory's files",
    "[cli][state_dir]") {
  // Closed fds are the lowest free numbers: the lock file took fd 1 and
  // the run's lines overwrote its marker, so every client refused the
  // directory (an outside tester, `vitrine run ... <&- >&-`).
  live_run run{demo, "exec <&- >&-"};
  run.wait_status("api", "running");
  const auto status = run.cli({"status", "api"});
  INFO(status.output);
  CHECK(status.code == 0);
  CHECK(contains(status.output, "\napi   running"));
  CHECK(read_file(run.state() + "/lock")
            .starts_with("vitrine state directory\n"));
  const auto stop = run.cli({"ctl", "stop", "api"});
  INFO(stop.output);
  CHECK(stop.code == 0);
  ::kill(run.process().pid(), SIGTERM);
  CHECK(run.process().wait(30s) == 0);
}

TEST_CASE("a run whose status table is truncated by another process goes on",
          "[cli][state_dir][truncation]") {
  // An outside tester: `truncate -s 0 STATE/status` killed the run with
  // SIGBUS (its guardian then killed every program), and the empty file
  // left behind refused the next run.
  live_run run{sleep_programs(40, "startsecs_ms = 0\n")};
  const pid_t last = run.wait_status("p39", "running").pid;
  const std::string table = run.state() + "/status";
  REQUIRE(::truncate(table.c_str(), 0) == 0);
  // The next heartbeat (or the next write) finds it cut: the table is
  // grown back and every state written again, the programs untouched.
  CHECK(run.wait_status("p39", "running", 20s).pid == last);
  CHECK(run.wait_status("p0", "running").pid > 0);
  const auto r = run.cli({"status"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(r.output.find("p20") != std::string::npos);
  REQUIRE(::kill(run.process().pid(), SIGTERM) == 0);
  CHECK(run.process().wait(20s) == std::optional<int>{0});
}

TEST_CASE(
    "status of a live run whose table was removed says so, and the table is "
    "back at once, not at the next heartbeat",
    "[cli][state_dir]") {
  live_run run{one_sleeper};
  const pid_t pid = run.wait_status("a", "running").pid;
  const std::string table = run.state() + "/status";
  REQUIRE(::unlink(table.c_str()) == 0);
  const auto r = run.cli({"status"});
  INFO(r.output);
  // Unless the run put it back before `status` looked.
  if (r.code != 0) {
    CHECK(r.code == 4);
    // Before: "no vitrine run is using DIR (it stopped, ...)".
    CHECK(r.output.find("(pid " + std::to_string(run.process().pid()) +
                        ") has no status table there") != std::string::npos);
  }
  // Before, it stayed gone until the run ended, then until its next
  // heartbeat (every 5 s): now the run sees the removal (inotify). Three
  // removals, each back within a second, every state written again, the
  // program untouched.
  CHECK(run.wait_status("a", "running", 1s).pid == pid);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(::unlink(table.c_str()) == 0);
    CHECK(run.wait_status("a", "running", 1s).pid == pid);
  }
  const auto back = run.cli({"status", "a"});
  INFO(back.output);
  CHECK(back.code == 0);
  CHECK(back.output.find(std::to_string(pid)) != std::string::npos);
}

TEST_CASE("a run whose control socket was removed binds it again",
          "[cli][state_dir]") {
  // An outside tester removed a live run's socket: `vitrine ctl` and
  // `vitrine reload` then had no way in until the run ended.
  live_run run{one_sleeper};
  run.wait_status("a", "running");
  const std::string socket = run.state() + "/control";
  SECTION("removed") {
    REQUIRE(::unlink(socket.c_str()) == 0);
  }
  SECTION("moved away") {
    REQUIRE(::rename(socket.c_str(), (run.state() + "/moved").c_str()) == 0);
  }
  // At once (inotify), not at a heartbeat; a client that comes before it
  // is bound is told there is no socket, as before.
  const auto stop = stop_a_once_bound(run);
  INFO(stop.output);
  CHECK(stop.code == 0);
  run.wait_status("a", "stopped");
  struct stat info {};
  REQUIRE(::lstat(socket.c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE(
    "a file moved onto a live run's control socket is named, not taken for a "
    "run that is gone, and the socket comes back once it is removed",
    "[cli][state_dir]") {
  live_run run{one_sleeper};
  run.wait_status("a", "running");
  const std::string socket = run.state() + "/control";
  const std::string junk = run.dir().write("junk", "junk\n");
  REQUIRE(::rename(junk.c_str(), socket.c_str()) == 0);
  // Before: "no vitrine run serves DIR/control (Connection refused)", exit
  // 4 (not running), from a run that was alive (an outside tester).
  const auto refused = run.cli({"ctl", "stop", "a"});
  INFO(refused.output);
  CHECK(refused.code == 1);
  CHECK(refused.output.find("/control is not a socket") != std::string::npos);
  REQUIRE(::unlink(socket.c_str()) == 0);
  const auto stop = stop_a_once_bound(run);
  INFO(stop.output);
  CHECK(stop.code == 0);
  run.wait_status("a", "stopped");
}

TEST_CASE("a run writes its config and order leaves again when removed",
          "[cli][state_dir]") {
  // `vitrine logs` finds the configuration through `config`, `vitrine
  // status` its order through `order`.
  live_run run{sleep_programs(2, "startsecs_ms = 0\n")};
  run.wait_status("p1", "running");
  for (const char* leaf : {"config", "order"}) {
    INFO(leaf);
    const std::string path = run.state() + "/" + leaf;
    const std::string before = read_file(path);
    REQUIRE_FALSE(before.empty());
    REQUIRE(::unlink(path.c_str()) == 0);
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
      std::this_thread::sleep_for(20ms);
      back = ::access(path.c_str(), F_OK) == 0;
    }
    REQUIRE(back);
    CHECK(read_file(path) == before);
  }
  // Not over a file that took the name: a directory swapped in for it
  // (RENAME_EXCHANGE: the name is never free).
  const std::string order = run.state() + "/order";
  const std::string other = run.state() + "/other";
  REQUIRE(::mkdir(other.c_str(), 0700) == 0);
  REQUIRE(::renameat2(AT_FDCWD, other.c_str(), AT_FDCWD, order.c_str(),
                      RENAME_EXCHANGE) == 0);
  std::this_thread::sleep_for(200ms);
  struct stat info {};
  REQUIRE(::lstat(order.c_str(), &info) == 0);
  CHECK(S_ISDIR(info.st_mode));
  REQUIRE(::rmdir(order.c_str()) == 0);  // once it is gone, written again
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    std::this_thread::sleep_for(20ms);
    back = ::lstat(order.c_str(), &info) == 0 && S_ISREG(info.st_mode);
  }
  CHECK(back);
}

TEST_CASE("a file that took the control socket's name is left alone",
          "[cli][state_dir]") {
  // An outside tester's file moved over `control` was removed by the
  // run's clean stop.
  live_run run{one_sleeper};
  run.wait_status("a", "running");
  const std::string socket = run.state() + "/control";
  const std::string theirs = run.dir().write("theirs", "not a socket\n");
  REQUIRE(::rename(theirs.c_str(), socket.c_str()) == 0);
  std::this_thread::sleep_for(200ms);
  CHECK(read_file(socket) == "not a socket\n");
  REQUIRE(::kill(run.process().pid(), SIGTERM) == 0);
  CHECK(run.process().wait(20s) == std::optional<int>{0});
  CHECK(read_file(socket) == "not a socket\n");
}

TEST_CASE(
    "the order leaf is written again once the state directory's full disk "
    "has room",
    "[cli][state]") {
  temp_dir dir;
  const std::string disk = dir.file("disk");
  REQUIRE(::mkdir(disk.c_str(), 0700) == 0);
  small_tmpfs tmpfs{disk, "256k"};
  if (!tmpfs.mounted()) {
    WARN("skipped: cannot mount a tmpfs here (errno " << tmpfs.error() << ")");
    return;
  }
  const std::string state = disk + "/state";
  const auto config = dir.write("order.toml", one_sleeper);
  const auto output = dir.file("output");
  cli_process run{{"run", config, "--plain", "--state-dir", state}, output};
  REQUIRE(wait_for_text(output, " a running pid=", 30s, run.pid()));
  const std::string filler = disk + "/filler";
  fill_file_system(filler);
  {
    std::FILE* f = std::fopen(config.c_str(), "a");
    REQUIRE(f != nullptr);
    std::fputs(
        "[[program]]\nname = \"b\"\ncommand = [\"sleep\", \"1000\"]\n"
        "startsecs_ms = 0\n",
        f);
    std::fclose(f);
  }
  REQUIRE(::kill(run.pid(), SIGHUP) == 0);
  REQUIRE(wait_for_text(output, "reload: added 1 (b)", 30s, run.pid()));
  INFO(read_file(output));
  CHECK(read_file(state + "/order").find("b\n") == std::string::npos);
  REQUIRE(std::remove(filler.c_str()) == 0);
  // Before: the order leaf kept the old order until the next reload.
  CHECK(
      wait_for_text(output, "wrote " + state + "/order again", 20s, run.pid()));
  CHECK(read_file(state + "/order").find("b\n") != std::string::npos);
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  CHECK(run.wait(30s) == 0);
}

TEST_CASE(
    "a run removes the temporary files a killed run left beside its status "
    "file and its leaves",
    "[cli][state_dir]") {
  temp_dir dir;
  // A pid no process has: a child's, once reaped.
  const pid_t dead = ::fork();
  REQUIRE(dead >= 0);
  if (dead == 0) ::_exit(0);
  REQUIRE(::waitpid(dead, nullptr, 0) == dead);
  const std::string json = dir.file("st.json");
  const std::string state = dir.file("state");
  const auto config = dir.write("t.toml", one_sleeper);
  const auto output = dir.file("output");
  const std::vector<std::string> args = {
      "run", config, "--plain", "--state-dir", state, "--json-status", json};
  {
    // A first run makes the state directory its own (a marked lock).
    const auto first_output = dir.file("first");
    cli_process first{args, first_output};
    REQUIRE(wait_for_text(first_output, " a running pid=", 30s, first.pid()));
    REQUIRE(::kill(first.pid(), SIGTERM) == 0);
    REQUIRE(first.wait(30s) == 0);
  }
  const std::string d = std::to_string(dead);
  const std::string mine = std::to_string(::getpid());
  const std::vector<std::string> stale = {json + ".tmp." + d + ".11",
                                          json + ".probe." + d,
                                          state + "/order.tmp." + d + ".2"};
  // Kept: a live process's, and names that only look alike.
  const std::vector<std::string> kept = {json + ".tmp." + mine + ".1",
                                         json + ".tmp." + d + "x.1",
                                         json + ".tmpx." + d + ".1"};
  for (const auto& f : stale) dir.write(f.substr(dir.path().size() + 1), "");
  for (const auto& f : kept) dir.write(f.substr(dir.path().size() + 1), "");
  cli_process run{args, output};
  REQUIRE(wait_for_text(output, " a running pid=", 30s, run.pid()));
  for (const auto& f : stale) CHECK_FALSE(file_exists(f));
  for (const auto& f : kept) CHECK(file_exists(f));
  REQUIRE(::kill(run.pid(), SIGTERM) == 0);
  CHECK(run.wait(30s) == 0);
}
