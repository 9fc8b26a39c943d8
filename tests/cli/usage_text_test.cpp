// Usage errors name the command's words, the argument
// as docs/cli.md writes it (NAME..., -n/--lines) and what to do, never
// CLI11's own terms ("names is required", "At Most 1 required but received
// 2", "A subcommand is required"). --timeout is read one way by all three
// executables (timeout_seconds.hpp).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli_driver.hpp"

using vitrine::test::run_cli;

namespace {

/// vitrine's whole output for `args`, which must be a usage error (exit 2,
/// one line and the hint to --help).
std::string usage_error_of(const std::vector<std::string>& args) {
  const auto result = run_cli(args);
  std::string line = "vitrine";
  for (const auto& arg : args) line += " '" + arg + "'";
  INFO(line << "\n" << result.output);
  CHECK(result.code == 2);
  const std::string hint = "\nRun with --help for more information.\n";
  CHECK(result.output.ends_with(hint));
  CHECK(result.output.find('\n') == result.output.size() - hint.size());
  return result.output.substr(0, result.output.find('\n'));
}

/// stdout and stderr of `vitrine-run` (beside `vitrine`) with `argument`,
/// and its exit code.
std::pair<std::string, int> runner_output(const std::string& argument) {
  const std::string cli_path = VITRINE_CLI_PATH;
  const std::string runner =
      cli_path.substr(0, cli_path.rfind('/') + 1) + "vitrine-run";
  FILE* pipe = ::popen(("'" + runner + "' " + argument + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace

TEST_CASE("usage errors name the command and the argument as the docs do",
          "[cli]") {
  CHECK(usage_error_of({"ctl", "restart"}) ==
        "vitrine: ctl restart: missing NAME...");
  CHECK(usage_error_of({"ctl", "signal", "TERM"}) ==
        "vitrine: ctl signal: missing NAME...");
  CHECK(usage_error_of({"ctl", "signal"}) ==
        "vitrine: ctl signal: missing SIG");
  CHECK(usage_error_of({"run"}) == "vitrine: run: missing FILE");
  CHECK(usage_error_of({"ctl", "--node", "127.0.0.1:1", "restart"}) ==
        "vitrine: ctl restart: missing NAME...");
  CHECK(usage_error_of({"ctl"}) ==
        "vitrine: ctl: give a command: one of start, stop, restart, signal");
  CHECK(usage_error_of({}) ==
        "vitrine: give a command: one of run, check, logs, status, ctl, "
        "reload, node, watch");
  CHECK(usage_error_of({"status", "--file", "a", "--file", "b"}) ==
        "vitrine: status: --file: given 2 times: give it once");
  CHECK(usage_error_of({"status", "--file", "a", "x"}) ==
        "vitrine: status: NAME... cannot be given with --file");
  CHECK(usage_error_of({"status", "--node"}) ==
        "vitrine: status: --node: missing its value");
  // An option a remote ctl does not take is named, not its value taken for
  // the verb (found by a stranger: "verb: sdA not in {start,...}").
  CHECK(usage_error_of({"ctl", "--node", "127.0.0.1:1", "--state-dir", "sdA",
                        "restart", "api"}) ==
        "vitrine: ctl: unexpected argument '--state-dir'");
  CHECK(usage_error_of({"ctl", "--node", "127.0.0.1:1", "frob", "api"}) ==
        "vitrine: ctl: unknown command 'frob' (one of start, stop, "
        "restart, signal)");
  // The short name the user may have typed is shown with the long one.
  CHECK(usage_error_of({"logs", "-n", "-1", "x"}) ==
        "vitrine: logs: -n/--lines: '-1' is not a number of lines (digits, 0 "
        "or more)");
  // Past what the count holds: refused, not read as its largest value.
  CHECK(usage_error_of({"logs", "x", "-n", "99999999999999999999"}) ==
        "vitrine: logs: -n/--lines: '99999999999999999999': at most "
        "1000000000 lines");
  CHECK(run_cli({"logs", "x", "-n", "0001000000000", "--state-dir",
                 "/nonexistent/vitrine-usage-test"})
            .code != 2);
  // An option before any command is named, not taken for a missing one.
  CHECK(usage_error_of({"--versio"}) ==
        "vitrine: unknown option '--versio': options come after the command "
        "(one of run, check, logs, status, ctl, reload, node, watch), or "
        "--help, --version");
}

TEST_CASE(
    "unexpected arguments come in the order typed, before what is "
    "missing, and an option typed too early is told where it goes",
    "[cli]") {
  // CLI11 listed them in reverse ("--zap --frob").
  CHECK(usage_error_of({"status", "--frob", "--zap"}) ==
        "vitrine: status: unexpected arguments '--frob', '--zap'");
  CHECK(usage_error_of({"ctl", "start", "--frob", "a", "--zap=1"}) ==
        "vitrine: ctl start: unexpected arguments '--frob', '--zap=1'");
  // CLI11 checks what is required first: "watch: --node is required".
  CHECK(usage_error_of({"watch", "--frob"}) ==
        "vitrine: watch: unexpected argument '--frob'");
  CHECK(usage_error_of({"ctl", "--frob", "start"}) ==
        "vitrine: ctl start: unexpected argument '--frob'");
  // An option of the verb, typed before it: "not expected: --no-wait".
  CHECK(usage_error_of({"ctl", "--no-wait", "stop", "api"}) ==
        "vitrine: ctl stop: --no-wait is an option of 'ctl stop': give it "
        "after 'stop'");
  CHECK(usage_error_of({"ctl", "--timeout", "3", "--no-wait", "start", "a"}) ==
        "vitrine: ctl start: --no-wait is an option of 'ctl start': give it "
        "after 'start'");
  // After `--` it is an argument like any other.
  CHECK(usage_error_of({"logs", "a", "--", "-n"}) ==
        "vitrine: logs: unexpected argument '-n'");
  // What is left of a cluster of short options is named as typed (CLI11
  // made "--x" of `-f-x`, a word never typed).
  CHECK(usage_error_of({"logs", "c", "-f-x"}) ==
        "vitrine: logs: unexpected argument '-x' in '-f-x'");
  CHECK(usage_error_of({"logs", "c", "-fx", "--frob"}) ==
        "vitrine: logs: unexpected arguments 'x' in '-fx', '--frob'");
  // CLI11 reads --version as soon as it sees it: what follows was ignored.
  CHECK(usage_error_of({"--version", "extra"}) ==
        "vitrine: --version takes no other argument");
  CHECK(run_cli({"--version"}).code == 0);
}

TEST_CASE("what a third stranger found in the command lines", "[cli]") {
  // Every unexpected argument is listed, with the hint for a misplaced one.
  CHECK(usage_error_of({"ctl", "--frob", "--no-wait", "stop", "a"}) ==
        "vitrine: ctl stop: unexpected arguments '--frob', '--no-wait' "
        "(--no-wait is an option of 'ctl stop': give it after 'stop')");
  // A verb after ctl's own options is named ("unexpected argument
  // 'frob'"); after `--` a word is an argument, not a verb.
  CHECK(usage_error_of({"ctl", "--state-dir", "/nonexistent/v", "frob"}) ==
        "vitrine: ctl: unknown command 'frob' (one of start, stop, restart, "
        "signal)");
  CHECK(usage_error_of({"ctl", "--", "stop", "a"}) ==
        "vitrine: ctl: unexpected arguments 'stop', 'a'");
  // Before a bad value read after it ("--timeout: 'x' is not a number").
  CHECK(usage_error_of({"ctl", "stop", "--frob", "--timeout", "x"}) ==
        "vitrine: ctl stop: unexpected argument '--frob'");
  // The remote ctl words its mistakes as the local one ("missing NAME..."
  // for all of these).
  const std::string node = "127.0.0.1:1";
  CHECK(usage_error_of({"ctl", "--node", node, "frob"}) ==
        "vitrine: ctl: unknown command 'frob' (one of start, stop, restart, "
        "signal)");
  CHECK(usage_error_of({"ctl", "--node", node}) ==
        "vitrine: ctl: give a command: one of start, stop, restart, signal");
  CHECK(usage_error_of({"ctl", "--node", node, "signal"}) ==
        "vitrine: ctl signal: missing SIG");
  CHECK(usage_error_of({"ctl", "--node", node, "signal", "CONT"}) ==
        "vitrine: ctl signal: missing NAME...");
  // Taken and ignored before: a signal has no effect to wait for.
  CHECK(usage_error_of(
            {"ctl", "--node", node, "signal", "CONT", "a", "--no-wait"}) ==
        "vitrine: ctl signal: unexpected argument '--no-wait'");
  // A flag takes no value: `--json=0` was read as "no --json".
  CHECK(usage_error_of({"status", "--json=0"}) ==
        "vitrine: status: --json takes no value");
  CHECK(usage_error_of({"logs", "a", "--follow=1"}) ==
        "vitrine: logs: -f/--follow takes no value");
  CHECK(usage_error_of({"--version=1"}) == "vitrine: --version takes no value");
  // CLI11 took these as the flag alone.
  CHECK(usage_error_of({"status", "--json="}) ==
        "vitrine: status: --json takes no value");
  CHECK(usage_error_of({"status", "--json=true"}) ==
        "vitrine: status: --json takes no value");
  CHECK(usage_error_of({"status", "--json={}"}) ==
        "vitrine: status: --json takes no value");
  CHECK(usage_error_of({"ctl", "restart", "a", "--no-wait="}) ==
        "vitrine: ctl restart: --no-wait takes no value");
  CHECK(usage_error_of({"status", "--node", "127.0.0.1:1", "--json=true"}) ==
        "vitrine: status: --json takes no value");
  CHECK(usage_error_of(
            {"ctl", "--node", "127.0.0.1:1", "restart", "a", "--no-wait="}) ==
        "vitrine: ctl: --no-wait takes no value");
  // After `--` it is a NAME, as typed: asked of a state directory that
  // is not there.
  const auto after_end =
      run_cli({"status", "--state-dir", "/nonexistent/v", "--", "--json="});
  CHECK(after_end.code == 1);
  CHECK(after_end.output.starts_with("vitrine: no vitrine state directory"));
  // An empty NAME is a usage error for logs too ("no program ''", exit 1).
  CHECK(usage_error_of({"logs", ""}) ==
        "vitrine: logs: NAME: a name must have 1 to 255 bytes (this one has "
        "0)");
  // One HOST:PORT per --node: `--node A B` watched B too.
  CHECK(usage_error_of({"watch", "--node", node, "127.0.0.1:2"}) ==
        "vitrine: watch: unexpected argument '127.0.0.1:2'");
  // Whole numbers are decimal: CLI11 read 010 as octal 8 (below 10) and
  // refused 090.
  CHECK(usage_error_of({"watch", "--node", node, "--count", "0"}) ==
        "vitrine: watch: --count: '0' is not a whole number from 1 to "
        "1000000000");
  const auto decimal = run_cli({"status", "--node", node, "--timeout-ms", "090",
                                "--heartbeat-ms", "010", "a"});
  INFO(decimal.output);
  CHECK(decimal.code == 1);  // unreachable, not a usage error
  CHECK(decimal.output.find("unreachable") != std::string::npos);
  // The usage line shows no "[]" for the hidden positional that keeps `--`.
  const auto help = run_cli({"ctl", "stop", "--help"});
  CHECK(help.code == 0);
  CHECK(help.output.find("names...\n") != std::string::npos);
  CHECK(help.output.find("[]") == std::string::npos);
}

TEST_CASE("a TLS file's path is escaped as every other path is", "[cli]") {
  const auto result = run_cli({"status", "--node", "127.0.0.1:1", "--tls-cert",
                               "/nonexistent/\x1b[2J\xff", "--tls-key",
                               "/nonexistent/k", "--tls-ca", "/nonexistent/c"});
  INFO(result.output);
  CHECK(result.code == 1);
  CHECK(result.output.find("/nonexistent/\\x1b[2J\\xff") != std::string::npos);
  CHECK(result.output.find('\x1b') == std::string::npos);
}

TEST_CASE("--node after -- is a NAME, not the remote form", "[cli]") {
  // `vitrine` took any --node for the remote form, after `--` too (a
  // program may be named "--node") and as another option's value.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status", "--state-dir", "/nonexistent/v", "--", "--node"},
           {"ctl", "--state-dir", "/nonexistent/v", "stop", "--", "--node"},
           {"status", "--state-dir", "--node", "a"}}) {
    const auto result = run_cli(args);
    INFO(args[0] << " " << args[2] << "\n" << result.output);
    CHECK(result.code == 1);
    CHECK(result.output.find("no vitrine state directory at") !=
          std::string::npos);
  }
}

TEST_CASE("-- ends the options after a NAME too", "[cli]") {
  // CLI11 handed a `--` after the first NAME to `ctl` and refused every
  // word after it. Each word after it is a NAME: one of 256 bytes is
  // refused as a NAME is.
  const std::string long_name(256, 'x');
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ctl", "stop", "--state-dir", "/nonexistent/v", "a", "--",
            "--no-wait", long_name},
           {"status", "--state-dir", "/nonexistent/v", "a", "--", "--json",
            long_name},
           {"ctl", "--node", "127.0.0.1:1", "restart", "a", "--", "--json",
            long_name}}) {
    const auto result = run_cli(args);
    INFO(args[0] << " " << args[1] << "\n" << result.output);
    CHECK(result.code == 2);
    CHECK(result.output.find("a name must have 1 to 255 bytes (this one has "
                             "256)") != std::string::npos);
  }
  // Short names after `--` are taken: the command gets as far as the
  // state directory.
  const auto taken = run_cli({"ctl", "stop", "--state-dir", "/nonexistent/v",
                              "a", "--", "--no-wait", "b"});
  INFO(taken.output);
  CHECK(taken.code != 2);
  CHECK(taken.output.find("/nonexistent/v") != std::string::npos);
}

TEST_CASE("ctl signal names kill's form -SIG instead of misreading it",
          "[cli]") {
  CHECK(usage_error_of({"ctl", "signal", "-CONT", "api"}) ==
        "vitrine: ctl signal: '-CONT': write the signal without '-' (`ctl "
        "signal CONT NAME...`)");
  CHECK(usage_error_of({"ctl", "signal", "-9", "api", "web"}) ==
        "vitrine: ctl signal: '-9': write the signal without '-' (`ctl "
        "signal 9 NAME...`)");
  CHECK(usage_error_of(
            {"ctl", "--node", "127.0.0.1:1", "signal", "-TERM", "api"}) ==
        "vitrine: ctl signal: '-TERM': write the signal without '-' (`ctl "
        "signal TERM NAME...`)");
  // A signal named wrong, after the options too, and kill's form after
  // them (found by a stranger: only the word right after `signal` was
  // checked).
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ctl", "signal", "NOPE", "api", "--state-dir", "/nonexistent/v"},
           {"ctl", "--node", "127.0.0.1:1", "signal", "NOPE", "api"}}) {
    const auto nope = run_cli(args);
    CHECK(nope.code == 2);
    CHECK(nope.output ==
          "vitrine: ctl signal: unknown signal 'NOPE' (TERM, SIGUSR1, "
          "10...)\nRun with --help for more information.\n");
  }
  const auto late =
      run_cli({"ctl", "signal", "--state-dir", "/nonexistent/v", "-9", "a"});
  CHECK(late.code == 2);
  CHECK(late.output.find("ctl signal: '-9': write the signal without '-'") !=
        std::string::npos);
  // Not a signal, where CLI11 took the name for the signal and reported
  // the name as missing.
  CHECK(usage_error_of({"ctl", "signal", "-NOSUCH\x1b", "api"}) ==
        "vitrine: ctl signal: '-NOSUCH\\x1b': the signal comes first, "
        "without '-' (TERM, SIGUSR1, 10...)");
}

TEST_CASE("--timeout is refused alike in every command that takes it",
          "[cli]") {
  const std::string expected_tail =
      "' is not a number of seconds from 0.001 to 3600 (digits, at most one "
      "'.' and three decimals)";
  for (const std::string bad :
       {"abc", "+5", "0x10", "", "1e-9", "1e3", "0", "0.0001", "1.2345", "3601",
        "-1", ".5", "5.", " 5", "inf"}) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"ctl", "restart", "a", "--timeout", bad},
             {"ctl", "--timeout", bad, "restart", "a"},
             {"ctl", "signal", "TERM", "a", "--timeout", bad},
             {"reload", "--timeout", bad},
             {"ctl", "--node", "127.0.0.1:1", "restart", "a", "--timeout",
              bad}}) {
      const auto line = usage_error_of(args);
      INFO(line);
      CHECK(line.ends_with("--timeout: '" + bad + expected_tail));
    }
  }
  // `--timeout=` is the empty value, not `--timeout` alone (which took the
  // next word as its value).
  CHECK(usage_error_of({"reload", "--timeout="}) ==
        "vitrine: reload: --timeout: '" + expected_tail);
  CHECK(usage_error_of({"reload", "--timeout"}) ==
        "vitrine: reload: --timeout: missing its value");
  // The edges are taken: refused later only because no run is there.
  for (const std::string good : {"0.001", "3600", "2.25"}) {
    const auto taken =
        run_cli({"ctl", "restart", "a", "--timeout", good, "--state-dir",
                 "/nonexistent/vitrine-usage-test"});
    INFO(good << ": " << taken.output);
    CHECK(taken.code == 1);
    CHECK(taken.output.find("no vitrine state directory") != std::string::npos);
  }
}

TEST_CASE("vitrine-run answers --version as vitrine does", "[cli]") {
  const auto version = run_cli({"--version"});
  CHECK(version.code == 0);
  CHECK(version.output.starts_with("vitrine 0."));
  const auto [output, code] = runner_output("--version");
  CHECK(code == 0);
  CHECK(output == version.output);
}
