// Reloading a running `vitrine run` (docs/cli.md, "Reloading"): the file is
// rewritten, SIGHUP applies the difference (added programs start, removed
// ones stop and leave no process, changed ones restart with a new pid,
// unchanged ones keep theirs), an invalid file is rejected with its
// diagnostics and changes nothing. Real `vitrine` processes, checked through
// --json-status and /proc. The difference itself: reload_diff_test.cpp.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "cli_driver.hpp"
#include "status.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 20s;

std::string program(const std::string& name, const std::string& seconds) {
  return "[[program]]\nname = \"" + name + "\"\ncommand = [\"sleep\", \"" +
         seconds + "\"]\nstartsecs_ms = 0\nstop_timeout_ms = 5000\n\n";
}

bool wait_until(auto pred, std::chrono::milliseconds limit = deadline) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// name -> row, from the status file (empty while it cannot be parsed).
std::map<std::string, vitrine::cli::status_row> rows_of(
    const std::string& status) {
  std::string error;
  std::map<std::string, vitrine::cli::status_row> out;
  if (auto rows = vitrine::cli::rows_from_json(read_file(status), error))
    for (auto& row : *rows) out[row.name] = row;
  return out;
}

struct reload_run {
  temp_dir dir;
  std::string output = dir.file("output");
  std::string status = dir.file("status.json");
  std::string config;
  cli_process cli;

  explicit reload_run(const std::string& text)
      : config(dir.write("run.toml", text)),
        cli({"run", config, "--plain", "--json-status", status}, output) {
    REQUIRE(
        wait_for_text(output, "supervisor main running", deadline, cli.pid()));
  }

  /// Waits until every named program runs with a pid (for those in
  /// `replaced`, another pid than the one given: the status file is
  /// rewritten a little after a change); returns the rows.
  std::map<std::string, vitrine::cli::status_row> running(
      const std::vector<std::string>& names,
      const std::map<std::string, pid_t>& replaced = {}) {
    std::map<std::string, vitrine::cli::status_row> rows;
    const bool ok = wait_until([&] {
      rows = rows_of(status);
      for (const auto& n : names)
        if (!rows.contains(n) || rows[n].status != "running" ||
            rows[n].pid <= 0)
          return false;
      for (const auto& [n, old_pid] : replaced)
        if (rows[n].pid == old_pid) return false;
      return true;
    });
    INFO(read_file(output));
    CHECK(ok);
    return rows;
  }

  /// Rewrites the file, sends SIGHUP, waits for the nth summary line
  /// `marker` ("reload: unchanged" ends an applied reload's summary).
  void reload(const std::string& text, std::size_t nth = 1,
              const std::string& marker = "reload: unchanged") {
    dir.write("run.toml", text);
    REQUIRE(::kill(cli.pid(), SIGHUP) == 0);
    INFO(read_file(output));
    REQUIRE(wait_for_text(output, marker, deadline, cli.pid(), nth));
  }
};

}  // namespace

TEST_CASE("SIGHUP applies the rewritten file to the running programs",
          "[cli][reload]") {
  reload_run run{program("keep", "1000") + program("change", "1000") +
                 program("drop", "1000")};
  auto before = run.running({"keep", "change", "drop"});
  const pid_t keep_pid = before["keep"].pid;
  const pid_t change_pid = before["change"].pid;
  const pid_t drop_pid = before["drop"].pid;

  run.reload(program("keep", "1000") + program("change", "999") +
             program("added", "1000"));
  const auto text = read_file(run.output);
  INFO(text);
  CHECK(text.find("received SIGHUP: reloading") != std::string::npos);
  CHECK(text.find("reload: added 1 (added)") != std::string::npos);
  CHECK(text.find("reload: removed 1 (drop)") != std::string::npos);
  CHECK(text.find("reload: changed 1 (change)") != std::string::npos);
  CHECK(text.find("reload: unchanged 1") != std::string::npos);

  auto after =
      run.running({"keep", "change", "added"}, {{"change", change_pid}});
  CHECK(after["keep"].pid == keep_pid);
  CHECK(after["change"].pid != change_pid);
  CHECK(wait_until([&] { return !rows_of(run.status).contains("drop"); }));
  // No process left of the removed and the replaced program.
  CHECK(wait_until([&] { return process_gone(drop_pid); }));
  CHECK(wait_until([&] { return process_gone(change_pid); }));
  CHECK(wait_until(
      [&] { return descendants_named(run.cli.pid(), "sleep").size() == 3; }));

  SECTION("an invalid file is rejected with its diagnostics") {
    run.reload(program("keep", "1000") +
                   "[[program]]\nname = \"bad\"\nstartretries = \"x\"\n",
               1, "reload: rejected, nothing changed");
    const auto out = read_file(run.output);
    CHECK(out.find(run.config + ":") != std::string::npos);
    CHECK(out.find("program[bad]") != std::string::npos);
    // Nothing changed: the same programs with the same pids.
    const auto now = run.running({"keep", "change", "added"});
    CHECK(now.at("keep").pid == keep_pid);
    CHECK(now.at("change").pid == after["change"].pid);
    CHECK(now.at("added").pid == after["added"].pid);
    CHECK(now.size() == 3);
  }
  SECTION("the same file again changes nothing") {
    REQUIRE(::kill(run.cli.pid(), SIGHUP) == 0);
    REQUIRE(wait_for_text(run.output, "reload: unchanged 3", deadline,
                          run.cli.pid()));
    const auto now = run.running({"keep", "change", "added"});
    CHECK(now.at("change").pid == after["change"].pid);
  }
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
  CHECK(descendants_of(run.cli.pid()).empty());
}

TEST_CASE("a reload replaces a changed group as a whole", "[cli][reload]") {
  const auto group = [](const std::string& seconds) {
    return "[[group]]\nname = \"g\"\n\n[[group.program]]\nname = \"in1\"\n"
           "command = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n\n"
           "[[group.program]]\nname = \"in2\"\ncommand = [\"sleep\", \"" +
           seconds + "\"]\nstartsecs_ms = 0\n\n";
  };
  reload_run run{program("top", "1000") + group("1000")};
  auto before = run.running({"top", "in1", "in2"});
  run.reload(program("top", "1000") + group("999"));
  INFO(read_file(run.output));
  CHECK(wait_for_text(run.output, "reload: changed 1 (g)", deadline));
  auto after = run.running({"top", "in1", "in2"}, {{"in1", before["in1"].pid},
                                                   {"in2", before["in2"].pid}});
  CHECK(after["top"].pid == before["top"].pid);
  CHECK(after["in1"].pid != before["in1"].pid);
  CHECK(after["in2"].pid != before["in2"].pid);
  // A program that moves out of the group keeps its name.
  run.reload(program("top", "1000") + program("in1", "1000"), 2);
  CHECK(wait_for_text(run.output, "reload: moved 1 (in1 out of g)", deadline));
  after = run.running({"top", "in1"});
  CHECK(wait_until([&] { return !rows_of(run.status).contains("in2"); }));
  CHECK(wait_until(
      [&] { return descendants_named(run.cli.pid(), "sleep").size() == 2; }));
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE("a program moves between two changed groups", "[cli][reload]") {
  const auto group = [](const std::string& name,
                        const std::vector<std::string>& programs) {
    std::string text = "[[group]]\nname = \"" + name + "\"\n\n";
    for (const auto& p : programs)
      text += "[[group.program]]\nname = \"" + p +
              "\"\ncommand = [\"sleep\", \"1000\"]\nstartsecs_ms = 0\n\n";
    return text;
  };
  reload_run run{group("g1", {"a"}) + group("g2", {"b", "c"})};
  run.running({"a", "b", "c"});
  // g1 is replaced first and needs `c`, which the old g2 still holds: it
  // is placed once g2 was replaced (after it, at the end).
  run.reload(group("g1", {"a", "c"}) + group("g2", {"b"}));
  const auto text = read_file(run.output);
  INFO(text);
  CHECK(text.find("reload: changed 2 (g1, g2)") != std::string::npos);
  CHECK(text.find("reload failed") == std::string::npos);
  run.running({"a", "b", "c"});
  CHECK(wait_until(
      [&] { return descendants_named(run.cli.pid(), "sleep").size() == 3; }));
  // The next reload starts from what runs: nothing to do.
  REQUIRE(::kill(run.cli.pid(), SIGHUP) == 0);
  REQUIRE(wait_for_text(run.output, "reload: unchanged 2", deadline,
                        run.cli.pid()));
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE(
    "a reload applies the top's derived intensity: an added crash loop "
    "within its own restart_limit does not fail the run",
    "[cli][reload]") {
  reload_run run{program("a", "1030")};
  run.running({"a"});
  // A program that crashes every 0.1 s but may restart 100 times in 10 s:
  // the limit derived with it (5 + 100 + 100 restarts) must cover it.
  const std::string crasher =
      "[[program]]\nname = \"cr\"\ncommand = \"sleep 0.1; exit 1\"\n"
      "startsecs_ms = 0\nbackoff = { min_ms = 10, max_ms = 10 }\n"
      "restart_limit = { burst = 100, interval_ms = 10000 }\n\n";
  run.reload(program("a", "1030") + crasher);
  // Past the old derived intensity (10 restarts) in its window.
  const bool crashed_on = wait_until([&] {
    const auto rows = rows_of(run.status);
    return rows.contains("cr") && rows.at("cr").restarts > 15;
  });
  INFO(read_file(run.output));
  CHECK(crashed_on);
  CHECK(::kill(run.cli.pid(), 0) == 0);  // the run goes on
  run.reload(program("a", "1030"), 2);
  const auto text = read_file(run.output);
  CHECK(text.find("own settings changed") == std::string::npos);
  CHECK(text.find("failed") == std::string::npos);
  CHECK(count_of(text,
                 "derived from the programs is now 205 restarts in "
                 "10000 ms") == 1);
  CHECK(count_of(text, "derived from the programs is now 10 restarts") == 1);
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE("a reload cannot give a program the running top supervisor's name",
          "[cli][reload]") {
  reload_run run{program("a", "1040")};
  const pid_t a_pid = run.running({"a"})["a"].pid;
  // The new file renames the top (not applied) and uses its old name;
  // then keeps the top's name, which the program takes too: one problem,
  // not also a duplicate of the [supervisor] name (before: 2 problems).
  for (const auto& [top, reloads] :
       {std::pair{"x5", 1}, std::pair{"main", 2}}) {
    run.reload(std::string{"[supervisor]\nname = \""} + top + "\"\n\n" +
                   program("a", "1040") + program("main", "1041"),
               reloads, "reload: rejected, nothing changed (1 problem)");
  }
  const auto text = read_file(run.output);
  INFO(text);
  CHECK(count_of(text,
                 "program[main].name: 'main' is the name of the "
                 "running top supervisor") == 2);
  const auto rows = run.running({"a"});
  CHECK(rows.at("a").pid == a_pid);
  CHECK_FALSE(rows.contains("main"));
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE(
    "--plain shows every transition of the programs a reload removes or "
    "replaces, in time order",
    "[cli][reload]") {
  const std::string group =
      "[[group]]\nname = \"g\"\n\n[[group.program]]\nname = \"c\"\n"
      "command = [\"sleep\", \"1253\"]\nstartsecs_ms = 0\n\n";
  reload_run run{program("a", "1250") + program("b", "1251") + group};
  auto before = run.running({"a", "b", "c"});
  run.reload(program("a", "1252"));
  run.running({"a"}, {{"a", before["a"].pid}});
  const auto text = read_file(run.output);
  INFO(text);
  for (const auto& name : {"a", "b", "c"}) {
    const std::string pid = std::to_string(before[name].pid);
    CHECK(count_of(text, std::string{" "} + name + " stopping pid=" + pid) ==
          1);
    CHECK(count_of(text, std::string{" "} + name +
                             " stopped pid=0 restarts=0 last_exit=signal 15 "
                             "(SIGTERM)") == 1);
  }
  CHECK(count_of(text, " supervisor g stopped") == 1);
  // Each line stamped no earlier than the one before (HH:MM:SS.mmm).
  std::string previous;
  for (std::size_t at = 0, end;
       (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    const auto stamp = text.substr(at, 12);
    if (stamp.size() < 12 || stamp[2] != ':' || stamp[8] != '.') continue;
    CHECK(previous <= stamp);
    previous = stamp;
  }
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE("a stop during a reload is said before the reload's summary",
          "[cli][reload]") {
  reload_run run{program("a", "1260")};
  run.running({"a"});
  // b stays `starting` for 30 s: the reload waits on it when SIGTERM comes.
  run.dir.write("run.toml", program("a", "1260") +
                                "[[program]]\nname = \"b\"\ncommand = "
                                "[\"sleep\", \"1261\"]\nstartsecs_ms = "
                                "30000\n\n");
  // Asked by `vitrine reload`, which must not hear that it took.
  const auto asked = run.dir.file("reload.out");
  cli_process reload{{"reload"}, asked};
  REQUIRE(
      wait_for_text(run.output, " b starting pid=", deadline, run.cli.pid()));
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
  CHECK(reload.wait(deadline) == std::optional<int>{1});
  const auto answer = read_file(asked);
  INFO(answer);
  CHECK(answer.find("the tree stopped while reloading") != std::string::npos);
  const auto text = read_file(run.output);
  INFO(text);
  const auto note =
      text.find("reload: the tree stopped while reloading (supervisor ");
  const auto summary = text.find("reload: added 1 (b)");
  REQUIRE(note != std::string::npos);
  REQUIRE(summary != std::string::npos);
  CHECK(note < summary);
  // Said when the reload ends (docs/cli.md), which is once the stop has
  // begun: after the stop's note and the tree's `shutting_down`, maybe
  // before the tree is `stopped` (until the loop woke for a reload's output,
  // it printed the summary a tick later, after `stopped`).
  CHECK(text.find("received SIGTERM: stopping every program") < note);
  CHECK(text.find(" supervisor main shutting_down") < note);
}

TEST_CASE(
    "a reload's summary comes when it ends, not when a reload "
    "queued behind it does",
    "[cli][reload]") {
  const auto slow = [](const std::string& name, const std::string& seconds,
                       const std::string& startsecs_ms) {
    return "[[program]]\nname = \"" + name + "\"\ncommand = [\"sleep\", \"" +
           seconds + "\"]\nstartsecs_ms = " + startsecs_ms + "\n\n";
  };
  const auto a = program("a", "1280");
  reload_run run{a};
  run.running({"a"});
  run.dir.write("run.toml", a + slow("slow1", "1281", "2000"));
  cli_process first{{"reload"}, run.dir.file("first.out")};
  REQUIRE(wait_for_text(run.output, " slow1 starting pid=", deadline,
                        run.cli.pid()));
  // Asked while the first one waits on slow1's startsecs: it waits for it.
  run.dir.write("run.toml", a + slow("slow1", "1281", "2000") +
                                slow("slow2", "1282", "4000"));
  cli_process second{{"reload"}, run.dir.file("second.out")};
  CHECK(first.wait(deadline) == std::optional<int>{0});
  REQUIRE(wait_for_text(run.output, "reload: added 1 (slow1)", deadline,
                        run.cli.pid()));
  // Before: held back until the second reload ended, after slow2 ran.
  CHECK(read_file(run.output).find(" slow2 running") == std::string::npos);
  CHECK(second.wait(deadline) == std::optional<int>{0});
  REQUIRE(wait_for_text(run.output, "reload: added 1 (slow2)", deadline,
                        run.cli.pid()));
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE(
    "while the run stops, a reload is refused at once and SIGHUP is "
    "ignored, each saying so",
    "[cli][reload]") {
  reload_run run{
      "[[program]]\nname = \"stubborn\"\ncommand = [\"sh\", \"-c\", "
      "\"trap '' TERM; while :; do sleep 1; done\"]\nstartsecs_ms = "
      "0\nstop_timeout_ms = 20000\n\n"};
  run.running({"stubborn"});
  std::this_thread::sleep_for(300ms);  // time for the shell's trap
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  REQUIRE(wait_for_text(run.output, "received SIGTERM: stopping", deadline,
                        run.cli.pid()));
  // Before: "reloading run.toml", then nothing.
  REQUIRE(::kill(run.cli.pid(), SIGHUP) == 0);
  CHECK(wait_for_text(run.output,
                      "received SIGHUP: ignored, the run is stopping", deadline,
                      run.cli.pid()));
  // Before: the request waited in the socket's backlog until the run
  // exited, 20 s on.
  const auto asked = run.dir.file("reload.out");
  cli_process reload{{"reload"}, asked};
  CHECK(reload.wait(5s) == std::optional<int>{1});
  INFO(read_file(asked));
  CHECK(read_file(asked).find("the run is stopping") != std::string::npos);
  // Again, later than the same request would come twice: kills stubborn.
  std::this_thread::sleep_for(300ms);
  REQUIRE(::kill(run.cli.pid(), SIGTERM) == 0);
  CHECK(run.cli.wait(deadline) == std::optional<int>{0});
}

TEST_CASE("a program a reload added in the middle is no reorder afterwards",
          "[cli][reload]") {
  reload_run run{program("a", "1270") + program("c", "1271")};
  run.running({"a", "c"});
  const auto file =
      program("a", "1270") + program("b", "1272") + program("c", "1271");
  run.reload(file);  // b runs after c: added programs run last
  run.running({"a", "b", "c"});
  run.reload(file, 2);
  // Moving a program in the file says so, once: not for the reload before.
  const std::string note = "reload: unchanged programs were reordered";
  run.reload(program("c", "1271") + program("a", "1270") + program("b", "1272"),
             1, note);
  const std::string text = read_file(run.output);
  INFO(text);
  CHECK(text.find(note) == text.rfind(note));
}

TEST_CASE("programs a reload removes stop in reverse order, as at a run's end",
          "[cli][reload]") {
  reload_run run{program("k", "1280") + program("p1", "1281") +
                 program("p2", "1282") + program("p3", "1283")};
  run.running({"k", "p1", "p2", "p3"});
  run.reload(program("k", "1280"));
  const std::string text = read_file(run.output);
  INFO(text);
  const auto stopped_at = [&](const std::string& name) {
    return text.find(" " + name + " stopped ");
  };
  REQUIRE(stopped_at("p1") != std::string::npos);
  CHECK(stopped_at("p3") < stopped_at("p2"));
  CHECK(stopped_at("p2") < stopped_at("p1"));
  CHECK(text.find("reload: removed 3 (p1, p2, p3)") != std::string::npos);
}
