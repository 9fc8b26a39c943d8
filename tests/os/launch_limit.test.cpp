// launch() at the open-file limit: a child's `null` streams share one
// /dev/null (shared_dev_null), so a launch needs only its pidfd. At the
// limit, what a stopped program gave back is then enough for the next
// start (an outside tester's `ctl stop` + `ctl start` at `ulimit -n 200`
// left the program `failed`: the start needed one descriptor more).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <variant>
#include <vector>

#include "vitrine/os/launch.hpp"

using namespace vitrine::os;

TEST_CASE("a launch with null streams needs one descriptor: its pidfd",
          "[launch][limits]") {
  REQUIRE(shared_dev_null() >= 0);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(probe >= 0);
  ::close(probe);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(probe) + 32;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  // Every descriptor taken, then one given back.
  std::vector<int> filler;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    filler.push_back(fd);
  REQUIRE(errno == EMFILE);
  REQUIRE_FALSE(filler.empty());
  ::close(filler.back());
  filler.pop_back();
  launch_options o;  // stdin, stdout and stderr: null
  o.argv = {"/bin/true"};
  o.stdout_target = {stdio_target::kind::null, {}};
  o.stderr_target = {stdio_target::kind::null, {}};
  auto result = launch(o);
  for (int fd : filler) ::close(fd);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  INFO((std::holds_alternative<launch_error>(result)
            ? std::get<launch_error>(result).what
            : std::string{"launched"}));
  REQUIRE(std::holds_alternative<launched_child>(result));
  auto& child = std::get<launched_child>(result);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  CHECK(WIFEXITED(status));
}
