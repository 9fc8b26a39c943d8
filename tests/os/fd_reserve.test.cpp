// os::fd_reserve under a limit this test lowers, and the orphan reaper,
// whose scans take their descriptors from a reserve of its own: at the
// open-file limit an orphan is still reaped, and the scan leaves every
// other descriptor as it found it.
#include "vitrine/os/fd_reserve.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "vitrine/os/reaper.hpp"

using vitrine::os::fd_reserve;
using vitrine::os::orphan_reaper;

namespace {

/// This process's lowest free descriptor number.
int lowest_free_fd() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::close(fd);
  return fd;
}

/// The open-file limit lowered to `room` above what is open now, and every
/// descriptor below it taken; the destructor gives all back.
class descriptors_exhausted {
 public:
  explicit descriptors_exhausted(int room) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free_fd() + room);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
      filler_.push_back(fd);
    REQUIRE(errno == EMFILE);
  }
  ~descriptors_exhausted() {
    for (int fd : filler_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  descriptors_exhausted(const descriptors_exhausted&) = delete;
  descriptors_exhausted& operator=(const descriptors_exhausted&) = delete;

 private:
  rlimit saved_{};
  std::vector<int> filler_;
};

}  // namespace

TEST_CASE(
    "a lent reserve makes room at the open-file limit, then is taken back",
    "[cli][limits]") {
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Room for the reserve and a few more above what is open now.
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free_fd()) + 64;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> filler;
  {
    fd_reserve reserve{8};
    CHECK(reserve.held() == 8);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
      filler.push_back(fd);
    CHECK(errno == EMFILE);
    int opened = -1;
    {
      const fd_reserve::use room{reserve};
      CHECK(reserve.held() == 0);
      opened = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      CHECK(opened >= 0);
      errno = ENOENT;  // the last error of the work, kept by ~use
    }
    CHECK(errno == ENOENT);
    // Taken back as far as the limit allows: one is still in use.
    CHECK(reserve.held() == 7);
    ::close(opened);
    reserve.refill();
    CHECK(reserve.held() == 8);
    CHECK(::open("/dev/null", O_RDONLY | O_CLOEXEC) == -1);
  }
  for (int fd : filler) ::close(fd);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
}

TEST_CASE("a loan holds one descriptor back from the reserve while it lives",
          "[cli][limits]") {
  fd_reserve reserve{4};
  {
    const fd_reserve::loan connection{&reserve};
    CHECK(reserve.held() == 3);
    {
      const fd_reserve::use room{reserve};
      CHECK(reserve.held() == 0);
    }
    CHECK(reserve.held() == 3);  // taken back, less the loan
    reserve.refill();
    CHECK(reserve.held() == 3);
  }
  CHECK(reserve.held() == 4);
  const fd_reserve::loan none{nullptr};  // no reserve: nothing lent
}

TEST_CASE("the orphan reaper scans at the open-file limit",
          "[reaper][limits]") {
  // Before the reaper had a reserve, its scan found no descriptor for
  // /proc/self/task: the orphan stayed a zombie (no SIGCHLD came again),
  // or, a descriptor free, the scan took one a program's start needed.
  const orphan_reaper reaper;
  const descriptors_exhausted exhausted{16};
  // Not launched: nobody owns it, so it is the reaper's to reap.
  const pid_t orphan = ::fork();
  REQUIRE(orphan >= 0);
  if (orphan == 0) ::_exit(0);
  // SIGCHLD wakes the reaper's thread; it scans on its own.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds{5};
  auto still_ours = [orphan] {  // a zombie, or not yet exited
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(P_PID, static_cast<id_t>(orphan), &info,
                    WEXITED | WNOHANG | WNOWAIT);
    } while (rc != 0 && errno == EINTR);
    return rc == 0;
  };
  while (still_ours() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  CHECK_FALSE(still_ours());  // reaped by the reaper, not left a zombie
  // A scan on this thread too, and what it leaves: the reserve took back
  // its own two, and nothing else is free.
  CHECK(orphan_reaper::reap_now() == 0);
  errno = 0;
  CHECK(::open("/dev/null", O_RDONLY | O_CLOEXEC) == -1);
  CHECK(errno == EMFILE);
}
