// packed_spec: a process_spec packed for its actor gives back every field
// the actor uses, byte for byte.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <csignal>

#include "packed_spec.hpp"

using vitrine::process_spec;
using vitrine::detail::packed_spec;
using vitrine::os::stdio_target;

namespace {

process_spec everything_set() {
  process_spec spec;
  spec.name = "web";
  spec.launch.argv = {"/usr/bin/env", "",
                      "a long argument past the small-string buffer"};
  spec.launch.inherit_env = false;
  spec.launch.env = {{"PATH", "/bin"}, {"EMPTY", ""}};
  spec.launch.cwd = "/tmp";
  spec.launch.umask = 027;
  spec.launch.rlimits = {{RLIMIT_NOFILE, 256, 512},
                         {RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY}};
  spec.launch.stdin_target = {stdio_target::kind::append_file, "/dev/null"};
  spec.launch.stdout_target = {stdio_target::kind::capture, "/tmp/out.log"};
  spec.launch.stderr_target = {stdio_target::kind::null, {}};
  spec.launch.death_signal = SIGTERM;
  spec.launch.notify_fd = 5;
  spec.launch.cgroup = "/sys/fs/cgroup/elsewhere";
  spec.launch.cgroup_killed = true;
  spec.logs = {.max_bytes = 1u << 30, .backups = 7};
  spec.restart = vitrine::restart_policy::transient;
  spec.expected_exit_codes = {0, 3, 255};
  spec.backoff = {.min = std::chrono::milliseconds{5},
                  .max = std::chrono::milliseconds{700},
                  .multiplier = 1.5,
                  .jitter = 0.25,
                  .reset_after = std::chrono::milliseconds{9000}};
  spec.startsecs = std::chrono::milliseconds{250};
  spec.startretries = 9;
  spec.stop_signal = SIGINT;
  spec.stop_timeout = std::chrono::milliseconds{1234};
  return spec;
}

}  // namespace

TEST_CASE("packed_spec gives back every launch option but the cgroup") {
  const process_spec spec = everything_set();
  const packed_spec packed{spec};
  auto expected = spec.launch;
  expected.cgroup.clear();
  expected.cgroup_killed = false;
  CHECK(packed.launch_options() == expected);
  CHECK(packed.program() == "/usr/bin/env");
  // Rebuilt on every call, the same each time.
  CHECK(packed.launch_options() == packed.launch_options());
}

TEST_CASE("packed_spec keeps the scalars, exit codes and log rotation") {
  const process_spec spec = everything_set();
  const packed_spec packed{spec};
  CHECK(packed.backoff == spec.backoff);
  CHECK(packed.startsecs == spec.startsecs);
  CHECK(packed.stop_timeout == spec.stop_timeout);
  CHECK(packed.startretries == spec.startretries);
  CHECK(packed.stop_signal == spec.stop_signal);
  CHECK(packed.restart == spec.restart);
  CHECK(packed.logs() == spec.logs);
  for (int code : {0, 3, 255}) CHECK(packed.expects_exit_code(code));
  for (int code : {1, 2, 4, 254, -1})
    CHECK_FALSE(packed.expects_exit_code(code));
}

TEST_CASE("packed_spec of a default spec: no umask, one exit code") {
  process_spec spec;
  spec.launch.argv = {"sleep", "1000"};
  const packed_spec packed{spec};
  const auto options = packed.launch_options();
  CHECK(options == spec.launch);
  CHECK_FALSE(options.umask.has_value());
  CHECK(packed.expects_exit_code(0));
  CHECK_FALSE(packed.expects_exit_code(1));
  CHECK(packed.logs() == spec.logs);
}

TEST_CASE("packed_spec of a spec without argv or exit codes") {
  process_spec spec;
  spec.expected_exit_codes.clear();
  const packed_spec packed{spec};
  CHECK(packed.program().empty());
  CHECK(packed.launch_options().argv.empty());
  CHECK_FALSE(packed.expects_exit_code(0));
}
