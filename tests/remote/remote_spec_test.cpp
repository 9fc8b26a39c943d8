// The wire form of a process_spec (actors/src/remote_spec.hpp, internal):
// every field crosses and comes back equal, and the node's checks of a
// wire_spec as untrusted input refuse what no real spec holds.
#include <catch2/catch.hpp>

#include "remote_spec.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::detail::spec_from_wire;
using vitrine::detail::spec_to_wire;
using vitrine::detail::wire_spec;

/// A spec whose every field differs from its default.
vitrine::process_spec everything_set() {
  vitrine::process_spec spec;
  spec.name = "web";
  auto& l = spec.launch;
  l.argv = {"/bin/sh", "-c", "exec sleep 5"};
  l.inherit_env = false;
  l.env = {{"A", "1"}, {"PATH", "/bin"}};
  l.cwd = "/tmp";
  l.umask = 027;
  l.rlimits = {{RLIMIT_NOFILE, 64, 128}, {RLIMIT_CORE, 0, 0}};
  l.stdin_target = {vitrine::os::stdio_target::kind::append_file, "/tmp/in"};
  l.stdout_target = {vitrine::os::stdio_target::kind::capture, "/tmp/out"};
  l.stderr_target = {vitrine::os::stdio_target::kind::null, {}};
  l.death_signal = SIGTERM;
  l.notify_fd = 5;
  l.cgroup = "/sys/fs/cgroup/x";
  spec.logs = {4096, 7};
  spec.restart = vitrine::restart_policy::transient;
  spec.expected_exit_codes = {0, 3};
  spec.backoff = {5ms, 700ms, 1.5, 0.25, 9000ms};
  spec.startsecs = 250ms;
  spec.startretries = 9;
  spec.restart_limit = {11, 12'000ms};
  spec.stop_signal = SIGINT;
  spec.stop_timeout = 1500ms;
  spec.autostart = false;
  return spec;
}

bool names_field(const std::vector<vitrine::spec_problem>& problems,
                 const std::string& field) {
  for (const auto& p : problems)
    if (p.field == field) return true;
  return false;
}

}  // namespace

TEST_CASE("every process_spec field crosses the wire and comes back equal",
          "[remote][supervise]") {
  const auto spec = everything_set();
  wire_spec wire;
  REQUIRE(spec_to_wire(spec, wire).empty());
  vitrine::process_spec back;
  REQUIRE(spec_from_wire(wire, back).empty());
  CHECK(back == spec);
  CHECK(back.launch.umask == spec.launch.umask);

  vitrine::process_spec defaults;
  defaults.name = "plain";
  REQUIRE(spec_to_wire(defaults, wire).empty());
  REQUIRE(spec_from_wire(wire, back).empty());
  CHECK(back == defaults);
  CHECK_FALSE(back.launch.umask);

  auto local = everything_set();
  local.launch.cgroup_killed = true;  // this machine's record
  auto refused = spec_to_wire(local, wire);
  REQUIRE(refused.size() == 1);
  // Named as validate() names fields: "NAME.field".
  CHECK(refused[0].field ==
        vitrine::spec_field_prefix(local.name) + "launch.cgroup_killed");
}

TEST_CASE("the node refuses a wire spec no real spec could be",
          "[remote][supervise]") {
  wire_spec good;
  REQUIRE(spec_to_wire(everything_set(), good).empty());
  vitrine::process_spec out;
  auto refused = [&](auto&& spoil, const std::string& field) {
    wire_spec w = good;
    spoil(w);
    auto problems = spec_from_wire(w, out);
    INFO(field);
    CHECK(names_field(problems, vitrine::spec_field_prefix(w.name) + field));
  };
  refused([](wire_spec& w) { w.argv.assign(5000, "x"); }, "launch.argv");
  refused([](wire_spec& w) { w.argv[1].assign(70'000, 'x'); },
          "launch.argv[1]");
  refused([](wire_spec& w) { w.env_values.pop_back(); }, "launch.env");
  refused([](wire_spec& w) { w.env_keys.assign(5000, "K"); }, "launch.env");
  refused([](wire_spec& w) { w.cwd.assign(5000, '/'); }, "launch.cwd");
  refused([](wire_spec& w) { w.rlimit_hard.clear(); }, "launch.rlimits");
  refused([](wire_spec& w) { w.stdout_target.mode = 9; }, "launch.stdout");
  refused([](wire_spec& w) { w.stderr_target.path.assign(5000, 'p'); },
          "launch.stderr.path");
  refused([](wire_spec& w) { w.umask = 01000; }, "launch.umask");
  refused([](wire_spec& w) { w.restart = 7; }, "restart");
  refused([](wire_spec& w) { w.expected_exit_codes.assign(300, 0); },
          "expected_exit_codes");
  refused([](wire_spec& w) { w.name.assign(70'000, 'n'); }, "name");
  // What passes these bounds still meets validate() in runtime::supervise.
  wire_spec empty = good;
  empty.argv.clear();
  CHECK(spec_from_wire(empty, out).empty());
  CHECK(out.launch.argv.empty());
}
