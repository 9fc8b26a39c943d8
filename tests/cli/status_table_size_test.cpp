// `vitrine status` on a state directory whose `status` file is huge: it is
// refused from its header, before any of it is mapped or read, so the
// command needs neither gigabytes of memory nor seconds (an outside tester
// saw 4.2 GB of RSS and 5.7 s for a 4 GiB sparse file).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "cli_driver.hpp"
#include "fake_state.hpp"
#include "vitrine/core/status_table.hpp"
#include "vitrine/os/status_mapping.hpp"
#include "vitrine/os/unique_fd.hpp"

using namespace vitrine::test;
using namespace std::chrono_literals;
namespace st = vitrine::core::status_table;

namespace {

constexpr off_t four_gib = off_t{4} << 30;

/// The state directory's `status` file: `header` (if any) at its start,
/// then holes up to `size` bytes (nothing is written there).
void write_sparse_table(const fake_state& state, off_t size,
                        const st::header* header) {
  const auto path = state.claimed->file(vitrine::cli::status_table_leaf);
  vitrine::os::unique_fd fd{
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  REQUIRE(fd);
  if (header)
    REQUIRE(::write(fd.get(), header, sizeof *header) ==
            static_cast<ssize_t>(sizeof *header));
  REQUIRE(::ftruncate(fd.get(), size) == 0);
}

/// `vitrine status --state-dir` on `state`, and how long it took.
std::pair<cli_result, std::chrono::duration<double>> timed_status(
    const fake_state& state) {
  const auto start = std::chrono::steady_clock::now();
  auto result = run_cli({"status", "--state-dir", state.path});
  return {std::move(result), std::chrono::steady_clock::now() - start};
}

}  // namespace

TEST_CASE("status refuses a huge status file from its header, reading none",
          "[cli][limits]") {
  temp_dir dir;
  fake_state state{dir, dir.file("unused.toml")};
  const auto table = state.claimed->file(vitrine::cli::status_table_leaf);

  SECTION("a file that is not a table") {
    write_sparse_table(state, four_gib, nullptr);
    const auto [result, took] = timed_status(state);
    INFO(result.output);
    CHECK(result.code == 1);
    CHECK(result.output.find("vitrine: status table " + table +
                             ": not a vitrine status table") !=
          std::string::npos);
    CHECK(took < 10s);  // generous: it reads 128 bytes
  }
  SECTION("a table's header, then gigabytes it does not describe") {
    const auto ticks = vitrine::os::process_start_ticks(::getpid());
    REQUIRE(ticks);
    const st::header header = st::make_header(1, ::getpid(), *ticks, 0);
    write_sparse_table(state, four_gib, &header);
    const auto [result, took] = timed_status(state);
    INFO(result.output);
    CHECK(result.code == 1);
    CHECK(result.output.find(
              "vitrine: status table " + table + ": the file has " +
              std::to_string(four_gib) + " bytes, more than the " +
              std::to_string(st::table_size_for(1)) +
              " of the table its header describes") != std::string::npos);
    CHECK(took < 10s);
  }
}
