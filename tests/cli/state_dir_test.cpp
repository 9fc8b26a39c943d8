// The state directory (cli/state_dir.hpp): created private, refused when
// unsafe, held by one run at a time through a lock the kernel drops.
#include "state_dir.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace vitrine::cli;
namespace fs = std::filesystem;

namespace {

/// A fresh private directory, removed with everything in it.
struct temp_root {
  fs::path path;
  temp_root() {
    std::string pattern =
        (fs::temp_directory_path() / "vitrine-state-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = fs::canonical(pattern);
  }
  ~temp_root() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

/// Restores an environment variable on scope exit.
struct env_override {
  std::string name;
  std::optional<std::string> old;
  env_override(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~env_override() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("claim creates a private directory and holds its lock",
          "[cli][state_dir]") {
  temp_root root;
  const auto dir = root.path / "a" / "b";
  std::string error;
  auto claimed = state_dir::claim(dir.string(), error);
  REQUIRE(claimed);
  CHECK(error.empty());
  CHECK(claimed->path() == dir.string());
  CHECK(claimed->file(status_table_leaf) == (dir / "status").string());
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(root.path / "a") == 0700);
  CHECK(mode_of(dir / "lock") == 0600);
  CHECK(claimed->owner_running());

  auto client = state_dir::open_existing(dir.string(), error);
  REQUIRE(client);
  CHECK(client->owner_running());

  // A second claim (another open file description) is refused.
  std::string second_error;
  CHECK_FALSE(state_dir::claim(dir.string(), second_error));
  CHECK(second_error.find("another vitrine run") != std::string::npos);

  claimed.reset();
  CHECK_FALSE(client->owner_running());
  CHECK(state_dir::claim(dir.string(), error));
}

TEST_CASE("the lock of a killed owner is gone with it", "[cli][state_dir]") {
  temp_root root;
  const auto dir = (root.path / "run").string();
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string error;
    auto claimed = state_dir::claim(dir, error);
    const char byte = claimed ? 1 : 0;
    (void)!::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  REQUIRE(byte == 1);
  std::string error;
  auto client = state_dir::open_existing(dir, error);
  REQUIRE(client);
  CHECK(client->owner_running());
  CHECK_FALSE(state_dir::claim(dir, error));
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(client->owner_running());
  CHECK(state_dir::claim(dir, error));
}

TEST_CASE("a directory of other files is not taken for a state directory",
          "[cli][state_dir]") {
  temp_root root;
  const auto project = root.path / "project";
  fs::create_directory(project);
  REQUIRE(::chmod(project.c_str(), 0700) == 0);
  for (const char* name : {"config", "order", "lock"})
    std::ofstream{project / name} << "mine\n";
  std::string error;
  CHECK_FALSE(state_dir::claim(project.string(), error));
  CHECK(error.find("is not a vitrine state directory") != std::string::npos);
  // Nor by the clients (status, ctl, reload, logs): before, they took it
  // for a stopped run's (exit 4, "no vitrine run is using ...").
  error.clear();
  CHECK_FALSE(state_dir::open_existing(project.string(), error));
  CHECK(error.find("is not a vitrine state directory") != std::string::npos);
  for (const char* name : {"config", "order", "lock"}) {
    std::ifstream in{project / name};
    std::string line;
    CHECK((std::getline(in, line) && line == "mine"));
  }

  // An existing empty directory, or one whose only file is the empty lock
  // of a claim cut short, is taken; so is one a run marked.
  const auto empty = root.path / "empty";
  fs::create_directory(empty);
  REQUIRE(::chmod(empty.c_str(), 0700) == 0);
  CHECK(state_dir::open_existing(empty.string(), error));  // not started yet
  CHECK(state_dir::claim(empty.string(), error));
  const auto cut_short = root.path / "cut-short";
  fs::create_directory(cut_short);
  REQUIRE(::chmod(cut_short.c_str(), 0700) == 0);
  std::ofstream{cut_short / "lock"};
  {
    auto claimed = state_dir::claim(cut_short.string(), error);
    REQUIRE(claimed);
    CHECK(claimed->owner_pid() == ::getpid());
    std::ofstream{cut_short / "config"} << "/some/file.toml\n";
  }
  CHECK(state_dir::claim(cut_short.string(), error));
}

TEST_CASE("unsafe state directories are refused with the reason",
          "[cli][state_dir]") {
  temp_root root;
  std::string error;

  SECTION("group- or world-writable") {
    const auto dir = root.path / "open";
    fs::create_directory(dir);
    REQUIRE(::chmod(dir.c_str(), 0777) == 0);
    CHECK_FALSE(state_dir::claim(dir.string(), error));
    CHECK(error.find("writable by group or others") != std::string::npos);
    CHECK_FALSE(state_dir::open_existing(dir.string(), error));
  }
  SECTION("a symbolic link, at the end or on the way") {
    const auto real = root.path / "real";
    fs::create_directory(real);
    REQUIRE(::chmod(real.c_str(), 0700) == 0);
    fs::create_directory_symlink(real, root.path / "link");
    CHECK_FALSE(state_dir::claim((root.path / "link").string(), error));
    CHECK(error.find("symbolic link") != std::string::npos);
    CHECK_FALSE(state_dir::claim((root.path / "link" / "x").string(), error));
    CHECK(error.find("symbolic link") != std::string::npos);
    CHECK_FALSE(fs::exists(real / "x"));  // refused before creating it
    CHECK_FALSE(state_dir::open_existing((root.path / "link").string(), error));
  }
  SECTION("owned by another uid") {
    if (::geteuid() != 0) {
      WARN("not root: cannot create a directory of another uid, skipped");
      return;
    }
    const auto dir = root.path / "theirs";
    fs::create_directory(dir);
    REQUIRE(::chmod(dir.c_str(), 0700) == 0);
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    // root may read it (open_existing), but a run never claims it.
    CHECK_FALSE(state_dir::claim(dir.string(), error));
    CHECK(error.find("belongs to uid 65534") != std::string::npos);
  }
  SECTION("a missing directory, for a client") {
    CHECK_FALSE(state_dir::open_existing((root.path / "none").string(), error));
    CHECK(error.find("no vitrine state directory") != std::string::npos);
  }
  SECTION("an empty path") {
    CHECK_FALSE(state_dir::claim("", error));
    CHECK(error.find("empty") != std::string::npos);
  }
}

TEST_CASE("clients find the only instance under the default base",
          "[cli][state_dir]") {
  temp_root root;
  env_override xdg{"XDG_RUNTIME_DIR", root.path.string()};
  CHECK(default_state_base() == (root.path / "vitrine").string());
  CHECK(default_state_dir("web") == (root.path / "vitrine" / "web").string());
  CHECK(default_state_dir("..") ==
        (root.path / "vitrine" / "vitrine").string());

  std::string error;
  CHECK_FALSE(state_dir::open_existing("", error));
  CHECK(error.find("no vitrine run found") != std::string::npos);

  auto web = state_dir::claim(default_state_dir("web"), error);
  REQUIRE(web);
  auto found = state_dir::open_existing("", error);
  REQUIRE(found);
  CHECK(found->path() == web->path());

  // Two directories, one live: the live one.
  auto db = state_dir::claim(default_state_dir("db"), error);
  REQUIRE(db);
  db.reset();
  found = state_dir::open_existing("", error);
  REQUIRE(found);
  CHECK(found->path() == web->path());

  // Two live ones: ambiguous, both named.
  db = state_dir::claim(default_state_dir("db"), error);
  REQUIRE(db);
  CHECK_FALSE(state_dir::open_existing("", error));
  CHECK(error.find("db") != std::string::npos);
  CHECK(error.find("web") != std::string::npos);
}
