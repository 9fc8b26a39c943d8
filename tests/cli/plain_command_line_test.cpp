// The `vitrine` front reads the plain status, ctl and reload command lines
// itself (plain_command_line.hpp) and leaves every other line to
// vitrine-cli's CLI11 parser. Every line the front takes must mean to it
// what it means to CLI11: checked here on hand-picked lines and on 20,000
// random ones, each read both ways.
#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client_subcommands.hpp"
#include "plain_command_line.hpp"
#include "runner_subcommands.hpp"

using namespace vitrine::cli;

namespace {

/// What vitrine-cli makes of a command line (cli_main.cpp).
struct cli11_reading {
  bool accepted = false;
  std::optional<table_status_options> status;
  std::optional<ctl_options> ctl;
};

std::vector<const char*> argv_of(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"vitrine"};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return argv;
}

cli11_reading read_with_cli11(const std::vector<std::string>& args) {
  CLI::App app{"vitrine"};
  app.require_subcommand(1);
  runner_subcommands runner{app};
  client_subcommands clients{app};
  const auto argv = argv_of(args);
  cli11_reading reading;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return reading;
  }
  reading.accepted = true;
  if (const auto* status = clients.table_status()) reading.status = *status;
  std::string problem;
  reading.ctl = clients.ctl_request(problem);
  return reading;
}

std::string shown(const std::vector<std::string>& args) {
  std::string line = "vitrine";
  for (const auto& arg : args) line += " '" + arg + "'";
  return line;
}

/// Whether the front takes `args`; when it does, that CLI11 reads the same
/// options.
bool taken_alike(const std::vector<std::string>& args) {
  const auto argv = argv_of(args);
  const int argc = static_cast<int>(argv.size());
  const auto status = plain_status_line(argc, argv.data());
  const auto ctl = plain_ctl_line(argc, argv.data());
  if (!status && !ctl) return false;
  INFO(shown(args));
  REQUIRE_FALSE((status && ctl));
  const auto cli11 = read_with_cli11(args);
  REQUIRE(cli11.accepted);
  if (status) {
    REQUIRE(cli11.status);
    CHECK(status->names == cli11.status->names);
    CHECK(status->state_dir == cli11.status->state_dir);
    CHECK(status->json == cli11.status->json);
  } else {
    REQUIRE(cli11.ctl);
    CHECK(ctl->command == cli11.ctl->command);
    CHECK(ctl->signal == cli11.ctl->signal);
    CHECK(ctl->names == cli11.ctl->names);
    CHECK(ctl->state_dir == cli11.ctl->state_dir);
    CHECK(ctl->no_wait == cli11.ctl->no_wait);
    CHECK(ctl->timeout_s == cli11.ctl->timeout_s);
  }
  return true;
}

}  // namespace

TEST_CASE("the front takes the plain command lines, as CLI11 reads them",
          "[cli][front]") {
  const std::vector<std::vector<std::string>> plain{
      {"status"},
      {"status", "a", "b"},
      {"status", "--json"},
      {"status", "a", "--json", "b", "--state-dir", "/tmp/x"},
      {"status", "--state-dir=/tmp/x", "a"},
      {"status", "ctl"},  // a name, as for CLI11
      {"status", "p-1", "a.b", "x@y:z"},
      {"ctl", "restart", "a"},
      {"ctl", "stop", "a", "b", "--no-wait"},
      {"ctl", "--state-dir", "/d", "start", "a"},
      {"ctl", "restart", "a", "--state-dir=/d", "--timeout", "0.5"},
      {"ctl", "--timeout", "5", "restart", "a", "--state-dir", "/d"},
      {"ctl", "restart", "a", "--timeout=2.25"},
      {"ctl", "restart", "a", "--timeout", "0.001"},
      {"ctl", "restart", "a", "--timeout", "3600"},
      {"ctl", "signal", "TERM", "a"},
      {"ctl", "signal", "9", "a", "b", "--timeout", "3"},
      {"ctl", "signal", "NOSUCH", "a"},  // refused by ctl_command()
      {"ctl", "restart", "stop"},
      {"reload"},
      {"reload", "--timeout", "3"},
      {"reload", "--state-dir", "/d", "--timeout=1.5"},
  };
  for (const auto& args : plain) {
    INFO(shown(args));
    CHECK(taken_alike(args));
  }
}

TEST_CASE("the front leaves help, errors and other forms to vitrine-cli",
          "[cli][front]") {
  const std::vector<std::vector<std::string>> others{
      {},
      {"--version"},
      {"status", "--help"},
      {"status", "-h"},
      {"status", "--file", "/tmp/s.json"},
      {"status", "--node", "127.0.0.1:1"},
      {"status", "--json", "--json"},
      {"status", "--state-dir", "/a", "--state-dir", "/b"},
      {"status", "--state-dir", ""},
      {"status", "--state-dir="},
      {"status", "--state-dir"},
      {"status", "--", "a"},
      {"status", ""},
      {"status", std::string(300, 'a')},
      {"status", "--json=true"},
      {"ctl"},
      {"ctl", "restart"},
      {"ctl", "frob", "a"},
      {"ctl", "signal", "TERM"},
      {"ctl", "signal", "-9", "a"},
      {"ctl", "signal", "TERM", "a", "--no-wait"},
      {"ctl", "--state-dir", "/d", "restart", "a", "--state-dir", "/e"},
      {"ctl", "--no-wait", "restart", "a"},
      {"ctl", "restart", "a", "--no-wait", "--no-wait"},
      {"ctl", "restart", "a", "--timeout", "1e3"},
      {"ctl", "restart", "a", "--timeout", "-1"},
      {"ctl", "restart", "a", "--timeout", ".5"},
      {"ctl", "restart", "a", "--timeout", "abc"},
      {"ctl", "restart", "a", "--timeout", "0"},
      {"ctl", "restart", "a", "--timeout", "0.0001"},
      {"ctl", "restart", "a", "--timeout", "1.2345"},
      {"ctl", "restart", "a", "--timeout", "3601"},
      {"ctl", "restart", "a", "--timeout", "+5"},
      {"ctl", "restart", "a", "--help"},
      {"ctl", "--node", "127.0.0.1:1", "restart", "a"},
      {"reload", "a"},
      {"reload", "--no-wait"},
      {"run", "x.toml"},
      {"logs", "a"},
  };
  for (const auto& args : others) {
    INFO(shown(args));
    CHECK_FALSE(taken_alike(args));
  }
}

TEST_CASE("random command lines the front takes mean the same to CLI11",
          "[cli][front]") {
  const std::vector<std::string> commands{"status", "ctl", "reload"};
  const std::vector<std::string> tokens{"status",
                                        "ctl",
                                        "reload",
                                        "start",
                                        "stop",
                                        "restart",
                                        "signal",
                                        "TERM",
                                        "9",
                                        "a",
                                        "b",
                                        "p-1",
                                        "x.y",
                                        "--json",
                                        "--state-dir",
                                        "/d",
                                        "--state-dir=/e",
                                        "--timeout",
                                        "5",
                                        "0.5",
                                        "--timeout=2",
                                        "1e3",
                                        "-1",
                                        "--no-wait",
                                        "--",
                                        "-h",
                                        "",
                                        "x y",
                                        ".5",
                                        "--state-dir=",
                                        "run",
                                        "--file",
                                        "--node",
                                        "5.",
                                        "0",
                                        "0.0001",
                                        "3601"};
  std::mt19937 random{20261207};
  std::uniform_int_distribution<std::size_t> pick_command(0,
                                                          commands.size() - 1);
  std::uniform_int_distribution<std::size_t> pick_token(0, tokens.size() - 1);
  std::uniform_int_distribution<int> length(0, 6);
  int taken = 0;
  for (int line = 0; line < 20'000; ++line) {
    std::vector<std::string> args{commands[pick_command(random)]};
    for (int n = length(random); n > 0; --n)
      args.push_back(tokens[pick_token(random)]);
    if (taken_alike(args)) ++taken;
  }
  // Enough of them were plain for the comparison to mean something.
  CHECK(taken > 1'000);
}
