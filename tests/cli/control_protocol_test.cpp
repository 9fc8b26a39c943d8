// The control socket's protocol as pure functions, and what a request does
// to a real embedded runtime (control_actions), including a failed
// supervisor started again.
#include <catch2/catch.hpp>

#include "config.hpp"
#include "control_actions.hpp"
#include "control_protocol.hpp"
#include "control_server.hpp"
#include "support/files.hpp"
#include "vitrine/runtime.hpp"

using namespace vitrine;
using namespace vitrine::cli;
using namespace std::chrono_literals;

namespace {

std::string parse_error(std::string_view text) {
  std::string error;
  CHECK_FALSE(control::parse_request(text, error));
  return error;
}

}  // namespace

TEST_CASE("a control request encodes and parses back to itself",
          "[cli][control]") {
  control::request r;
  r.command = control::verb::signal;
  r.names = {"web", "db"};
  r.signal = 10;
  r.wait = false;
  r.timeout_ms = 1234;
  r.deadline_ms = 987654321;
  auto line = control::encode(r);
  REQUIRE(line.back() == '\n');
  line.pop_back();
  std::string error;
  const auto back = control::parse_request(line, error);
  INFO(error);
  REQUIRE(back);
  CHECK(back->command == control::verb::signal);
  CHECK(back->names == r.names);
  CHECK(back->signal == 10);
  CHECK_FALSE(back->wait);
  CHECK(back->timeout_ms == 1234);
  CHECK(back->deadline_ms == std::optional<std::uint64_t>{987654321});
  r.deadline_ms.reset();  // optional: absent, no deadline
  line = control::encode(r);
  CHECK(line.find("deadline_ms") == std::string::npos);
  line.pop_back();
  const auto without = control::parse_request(line, error);
  REQUIRE(without);
  CHECK_FALSE(without->deadline_ms);
}

TEST_CASE("a request has expired once CLOCK_MONOTONIC reaches its deadline",
          "[cli][control]") {
  control::request r;
  CHECK_FALSE(control::expired(r, control::monotonic_now_ms()));
  const auto now = control::monotonic_now_ms();
  r.deadline_ms = now + 60'000;
  CHECK_FALSE(control::expired(r, now));
  CHECK(control::expired(r, now + 60'000));
  r.deadline_ms = 0;
  CHECK(control::expired(r, control::monotonic_now_ms()));
}

TEST_CASE(
    "malformed, oversized or unknown-version requests are refused with a "
    "reason",
    "[cli][control]") {
  CHECK(parse_error("hello").starts_with("malformed request"));
  CHECK(parse_error("[1]").starts_with("malformed request"));
  CHECK(parse_error(R"({"command":"start","names":["a"]})").find("'version'") !=
        std::string::npos);
  CHECK(parse_error(R"({"version":1.0,"command":"start","names":["a"]})") ==
        "malformed request: 'version' must be a non-negative integer, not "
        "1.0");
  // The parser would keep the last one: a repeated field is refused.
  CHECK(parse_error(R"({"version":1,"command":"stop","names":["a"],)"
                    R"("command":"start"})") ==
        "malformed request: field 'command' appears twice");
  CHECK(parse_error(R"({"version":1,"version":2,"command":"start",)"
                    R"("names":["a"]})") ==
        "malformed request: field 'version' appears twice");
  CHECK(parse_error(R"({"version":2,"command":"start","names":["a"]})") ==
        "unsupported protocol version 2 (this vitrine speaks version 1)");
  CHECK(parse_error(R"({"version":1,"command":"explode","names":["a"]})")
            .starts_with("unknown command"));
  CHECK(parse_error(R"({"version":1,"command":"start"})") ==
        "'start' needs 'names'");
  CHECK(parse_error(R"({"version":1,"command":"stop","names":[]})") ==
        "'names' is empty: 'stop' needs at least one name");
  CHECK(parse_error(R"({"version":1,"command":"start","names":["a"],"x":1})") ==
        "unknown field 'x'");
  CHECK(parse_error(R"({"version":1,"command":"signal","names":["a"]})") ==
        "'signal' needs a 'signal' field");
  CHECK(parse_error(
            R"({"version":1,"command":"signal","names":["a"],"signal":0})")
            .starts_with("'signal' must be"));
  CHECK(parse_error(R"({"version":1,"command":"reload","names":["a"]})") ==
        "'reload' takes no names and no signal");
  CHECK(parse_error(
            R"({"version":1,"command":"stop","names":["a"],"timeout_ms":-1})")
            .starts_with("'timeout_ms' must be"));
  for (const char* bad : {"-1", "1.5", "\"5\"", "true", "9007199254740992"})
    CHECK(parse_error(
              std::string{R"({"version":1,"command":"stop","names":["a"],)"} +
              R"("deadline_ms":)" + bad + "}")
              .starts_with("'deadline_ms' must be"));
  CHECK(parse_error(std::string(control::max_request_bytes + 1, ' '))
            .starts_with("request too large"));
  std::string many = R"({"version":1,"command":"stop","names":[)";
  for (std::size_t i = 0; i <= control::max_names; ++i)
    many += (i ? ",\"n" : "\"n") + std::to_string(i) + "\"";
  CHECK(parse_error(many + "]}").starts_with("too many names"));
}

TEST_CASE("an error reply is a valid reply carrying the text",
          "[cli][control]") {
  auto line = control::encode_error("nope");
  line.pop_back();
  std::string error;
  const auto reply = control::parse_reply(line, error);
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->error == "nope");
  CHECK(reply->results.empty());
}

TEST_CASE(
    "a reply carries a reload's warnings and notes, and one without them "
    "parses",
    "[cli][control]") {
  control::reply sent;
  sent.ok = true;
  sent.warnings = {"run.toml:5:1: program[a].stop_signal: warning: x", "y"};
  sent.notes = {"reload: added 1 (a)", "reload: removed 0"};
  auto line = control::encode(sent);
  line.pop_back();
  std::string error;
  const auto reply = control::parse_reply(line, error);
  REQUIRE(reply);
  CHECK(reply->ok);
  CHECK(reply->warnings == sent.warnings);
  CHECK(reply->notes == sent.notes);
  // A run from before the fields: no warnings, no notes, no error.
  const auto older = control::parse_reply(
      R"({"version":1,"ok":true,"error":"","expired":false,"results":[]})",
      error);
  REQUIRE(older);
  CHECK(older->warnings.empty());
  CHECK(older->notes.empty());
  CHECK(control::parse_reply(R"({"version":1,"ok":true,"error":"",)"
                             R"("expired":false,"results":[],"warnings":[1]})",
                             error) == std::nullopt);
  CHECK(control::parse_reply(R"({"version":1,"ok":true,"error":"",)"
                             R"("expired":false,"results":[],"notes":{}})",
                             error) == std::nullopt);
}

TEST_CASE("only the owner's uid and root may use the control socket",
          "[cli][control]") {
  CHECK(peer_allowed(1000, 1000));
  CHECK(peer_allowed(0, 1000));
  CHECK_FALSE(peer_allowed(1001, 1000));
  CHECK_FALSE(peer_allowed(65534, 0));
}

TEST_CASE(
    "a start request brings a failed supervisor back with its children, "
    "and an unknown name does nothing",
    "[cli][control][supervisor]") {
  test::temp_dir dir;
  const auto flag = dir.file("healthy");
  // The child exits 3 until the flag exists; the top's intensity 0 fails
  // it on the first restart wanted, and the root's intensity 0 leaves it
  // failed.
  const auto parsed = parse_config(R"(
[supervisor]
name = "top"
intensity = 0
period_ms = 60000

[[program]]
name = "steady"
command = ["sleep", "1000"]
startsecs_ms = 0

[[program]]
name = "flaky"
command = "sleep 0.2; test -e )" + flag +
                                       R"( || exit 3; exec sleep 1000"
startsecs_ms = 0
)",
                                   "t.toml");
  REQUIRE(parsed.ok());
  runtime_options options;
  options.root_intensity = 0;
  runtime rt{options};
  auto top = rt.supervise(parsed.value.tree);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  // The root fails in turn and stops the failed top, which stays failed.
  REQUIRE(rt.root().wait_for_status(core::supervisor_status::failed, deadline));
  REQUIRE(top.wait_for_status(core::supervisor_status::failed, deadline));
  const auto steady = rt.find("steady");
  REQUIRE(steady.read()->pid == 0);

  const control_context context{rt, {}, {}};
  control::request unknown;
  unknown.command = control::verb::start;
  unknown.names = {"top", "ghost"};
  const auto refused = execute(context, unknown);
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "unknown name 'ghost': nothing was done");
  CHECK(top.read()->status == core::supervisor_status::failed);

  dir.write("healthy", "");
  control::request start;
  start.command = control::verb::start;
  start.names = {"top"};
  const auto reply = execute(context, start);
  INFO(reply.error);
  std::string outcome;
  for (const auto& r : reply.results)
    outcome += r.name + ": " + r.status + " " + r.error + "\n";
  INFO(outcome);
  REQUIRE(reply.ok);
  REQUIRE(reply.results.size() == 1);
  CHECK(reply.results[0].kind == "supervisor");
  CHECK(reply.results[0].status == "running");
  CHECK(steady.read()->status == core::process_status::running);
  CHECK(steady.read()->pid != 0);
  CHECK(rt.find("flaky").wait_for_status(
      core::process_status::running, std::chrono::steady_clock::now() + 10s));

  control::request reload;
  reload.command = control::verb::reload;
  const auto no_reload = execute(context, reload);
  CHECK_FALSE(no_reload.ok);
  CHECK(no_reload.error == "reload is not available");
}
