// What `check` and `run` refuse about captures and the state directory
// before anything starts, naming the key (or option) concerned.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "cli_driver.hpp"
#include "live_run.hpp"

using namespace vitrine::test;

namespace {

/// A program "p" that writes to `stdout_table` and `stderr_table`.
std::string program_with(const std::string& stdout_table,
                         const std::string& stderr_table = "\"inherit\"") {
  return "[[program]]\nname = \"p\"\ncommand = [\"sleep\", \"1000\"]\n"
         "stdout = " +
         stdout_table + "\nstderr = " + stderr_table + "\n";
}

}  // namespace

TEST_CASE("check and run refuse a capture that is not a regular file",
          "[cli][config]") {
  temp_dir dir;
  REQUIRE(std::filesystem::create_directory(dir.file("sub")));
  const auto config =
      dir.write("dir.toml", program_with("{ capture = \"sub\" }"));
  const std::string problem =
      "dir.toml:4:12: program[p].stdout.capture: " + dir.file("sub") +
      " is a directory, not a regular file";
  const auto checked = run_cli({"check", config});
  INFO(checked.output);
  CHECK(checked.code == 1);
  CHECK(contains(checked.output, problem));
  const auto ran =
      run_cli({"run", config, "--plain", "--state-dir", dir.file("state")});
  INFO(ran.output);
  CHECK(ran.code == 1);
  CHECK(contains(ran.output, problem));
  // A `file` may be a device: only a capture is rotated by renaming it.
  const auto device =
      dir.write("dev.toml", program_with("{ file = \"/dev/null\" }"));
  CHECK(run_cli({"check", device}).code == 0);
  // But not a directory, which it could not open at start.
  const auto file_dir =
      dir.write("file-dir.toml", program_with("{ file = \"sub\" }"));
  const auto refused = run_cli({"check", file_dir});
  INFO(refused.output);
  CHECK(refused.code == 1);
  CHECK(contains(refused.output, "program[p].stdout.file: " + dir.file("sub") +
                                     " is a directory, not a regular file"));
}

TEST_CASE("an empty cwd is refused, not read as vitrine's own",
          "[cli][config]") {
  temp_dir dir;
  const auto config = dir.write(
      "cwd.toml",
      "[[program]]\nname = \"p\"\ncommand = [\"true\"]\ncwd = \"\"\n");
  const auto checked = run_cli({"check", config});
  INFO(checked.output);
  CHECK(checked.code == 1);
  CHECK(contains(checked.output,
                 "cwd.toml:4:1: program[p].cwd: needs a directory (absolute, "
                 "or relative to the directory of the configuration file)"));
}

TEST_CASE("an empty capture path says what a path may be", "[cli][config]") {
  temp_dir dir;
  const auto config =
      dir.write("empty.toml", program_with("{ capture = \"\" }"));
  const auto checked = run_cli({"check", config});
  INFO(checked.output);
  CHECK(checked.code == 1);
  CHECK(contains(checked.output,
                 "program[p].stdout.capture: needs a file path (absolute, or "
                 "relative to the directory of the configuration file)"));
  CHECK(!contains(checked.output, "absolute file path"));
  // The entry's other values are still checked (they went unsaid).
  const auto both = run_cli(
      {"check", dir.write("both.toml",
                          program_with("{ capture = \"\", backups = 5000 }"))});
  INFO(both.output);
  CHECK(contains(both.output, "program[p].stdout.capture: needs a file path"));
  CHECK(contains(both.output, "program[p].stdout.backups:"));
}

TEST_CASE("stdout and stderr may not set different rotation settings",
          "[cli][config]") {
  temp_dir dir;
  const auto conflicting = dir.write(
      "conflict.toml",
      program_with("{ capture = \"e.log\", max_bytes = 4096, backups = 4 }",
                   "{ capture = \"e.log\", max_bytes = 8192, backups = 4 }"));
  const auto refused = run_cli({"check", conflicting});
  INFO(refused.output);
  CHECK(refused.code == 1);
  CHECK(contains(refused.output,
                 "program[p].stderr.max_bytes: is 8192 but stdout.max_bytes "
                 "is 4096: the rotation settings are one per program"));
  CHECK(!contains(refused.output, "backups"));
  // stdout's out of range too: said in the same round, not after the
  // mismatch is fixed (an outside tester).
  const auto both_wrong = dir.write(
      "both.toml", program_with("{ capture = \"e.log\", max_bytes = 100 }",
                                "{ capture = \"e.log\", max_bytes = 8192 }"));
  const auto both = run_cli({"check", both_wrong});
  INFO(both.output);
  CHECK(contains(both.output,
                 "program[p].stderr.max_bytes: is 8192 but "
                 "stdout.max_bytes is 100"));
  CHECK(contains(both.output,
                 "program[p].stdout.max_bytes: must be 0 (never "
                 "rotate) or at least 4096 (is 100)"));
  // Set once, or the same in both: accepted.
  const auto once = dir.write(
      "once.toml", program_with("{ capture = \"e.log\", max_bytes = 4096 }",
                                "{ capture = \"e.log\" }"));
  CHECK(run_cli({"check", once}).code == 0);
  const auto same = dir.write(
      "same.toml", program_with("{ capture = \"e.log\", backups = 2 }",
                                "{ capture = \"f.log\", backups = 2 }"));
  CHECK(run_cli({"check", same}).code == 0);
}

TEST_CASE("two programs may not capture into one file", "[cli][config]") {
  temp_dir dir;
  const auto shared =
      dir.write("shared.toml",
                "[[program]]\nname = \"w1\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { capture = \"d/../shared.log\" }\n"
                "[[program]]\nname = \"w2\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stderr = { capture = \"shared.log\" }\n");
  REQUIRE(std::filesystem::create_directory(dir.file("d")));
  const auto refused = run_cli({"check", shared});
  INFO(refused.output);
  CHECK(refused.code == 1);
  CHECK(contains(refused.output,
                 "program[w2].stderr: captures into " + dir.file("shared.log") +
                     " as program 'w1' does (line 4): a capture file belongs "
                     "to one program, which rotates it"));
  // Through a linked directory: the same file under another name (an
  // outside tester: only names were compared).
  std::filesystem::create_directory_symlink(dir.file("d"), dir.file("link"));
  const auto linked =
      dir.write("linked.toml",
                "[[program]]\nname = \"w1\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { capture = \"d/x.log\" }\n"
                "[[program]]\nname = \"w2\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stderr = { capture = \"link/x.log\" }\n");
  const auto through_link = run_cli({"check", linked});
  INFO(through_link.output);
  CHECK(through_link.code == 1);
  CHECK(contains(through_link.output, "program[w2].stderr: captures into " +
                                          dir.file("d/x.log") +
                                          " as program 'w1' does (line 4)"));
  // A hard link: the same file under another name (an outside tester).
  std::ofstream{dir.file("h.log")} << "";
  std::filesystem::create_hard_link(dir.file("h.log"), dir.file("h2.log"));
  const auto hard =
      dir.write("hard.toml",
                "[[program]]\nname = \"w1\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { capture = \"h.log\" }\n"
                "[[program]]\nname = \"w2\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { capture = \"h2.log\" }\n");
  const auto through_hard_link = run_cli({"check", hard});
  INFO(through_hard_link.output);
  CHECK(through_hard_link.code == 1);
  CHECK(contains(through_hard_link.output,
                 "program[w2].stdout: captures into " + dir.file("h2.log") +
                     " as program 'w1' does (line 4)"));
  // Another program appending to a capture file, before or after it.
  for (const auto& [first, second, expected] :
       {std::tuple{"capture", "file",
                   "program[w2].stdout: appends to " + dir.file("a.log") +
                       ", which program 'w1' captures into (line 4)"},
        std::tuple{"file", "capture",
                   "program[w2].stdout: captures into " + dir.file("a.log") +
                       ", which program 'w1' appends to (line 4)"}}) {
    const auto appended = dir.write(
        "appended.toml",
        std::string{"[[program]]\nname = \"w1\"\ncommand = [\"sleep\", "
                    "\"1000\"]\nstdout = { "} +
            first +
            " = \"a.log\" }\n[[program]]\nname = \"w2\"\ncommand = "
            "[\"sleep\", \"1000\"]\nstdout = { " +
            second + " = \"a.log\" }\n");
    const auto refused_append = run_cli({"check", appended});
    INFO(refused_append.output);
    CHECK(refused_append.code == 1);
    CHECK(contains(refused_append.output, expected));
  }
  // Two programs appending to one file: allowed (neither rotates it).
  const auto both_append =
      dir.write("both_append.toml",
                "[[program]]\nname = \"w1\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { file = \"b.log\" }\n"
                "[[program]]\nname = \"w2\"\ncommand = [\"sleep\", \"1000\"]\n"
                "stdout = { file = \"b.log\" }\n");
  CHECK(run_cli({"check", both_append}).code == 0);
  // One program's stdout and stderr may share theirs.
  const auto own = dir.write(
      "own.toml",
      program_with("{ capture = \"p.log\" }", "{ capture = \"p.log\" }"));
  CHECK(run_cli({"check", own}).code == 0);
}

TEST_CASE("a top supervisor named . or .. is refused", "[cli][config]") {
  temp_dir dir;
  for (const std::string name : {".", ".."}) {
    const auto config =
        dir.write("dots.toml", "[supervisor]\nname = \"" + name + "\"\n" +
                                   program_with("\"inherit\""));
    const auto checked = run_cli({"check", config});
    INFO(checked.output);
    CHECK(checked.code == 1);
    CHECK(contains(checked.output,
                   "supervisor.name: '" + name +
                       "' cannot name the run's state directory"));
  }
}

TEST_CASE("run refuses a --state-dir too long for its socket, creating nothing",
          "[cli][state_dir]") {
  temp_dir dir;
  const auto config = dir.write("one.toml", program_with("\"inherit\""));
  const std::string parent = dir.file(std::string(100, 'd'));
  const std::string state = parent + "/state";
  const auto ran = run_cli({"run", config, "--plain", "--state-dir", state});
  INFO(ran.output);
  CHECK(ran.code == 1);
  CHECK(contains(ran.output, "the state directory path is too long"));
  CHECK(!file_exists(parent));
}
