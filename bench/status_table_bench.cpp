// Reading the shared-memory status table from another process (issue 12,
// item 9): a forked owner creates a table of 1,000 process slots and stays
// idle; this process maps it read-only with vitrine::status_reader, as
// `vitrine status` or a monitoring agent would.
//
// BM_status_read_one    one slot by index (seqlock copy + checksum)
// BM_status_find_one    one slot by name (cached index, then one read)
// BM_status_read_all    all 1,000 slots into a reused vector
// BM_status_owner_check the liveness check (/proc/<pid>/stat + heartbeat)
// Goals: one read <= 100 ns once mapped, all 1,000 <= 20 us.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "vitrine/os/status_mapping.hpp"
#include "vitrine/status_reader.hpp"

namespace {

namespace st = vitrine::core::status_table;
constexpr std::uint32_t slot_count = 1000;
std::string table_path;

vitrine::status_reader& reader() {
  static vitrine::status_reader r{table_path};
  return r;
}

void BM_status_read_one(benchmark::State& state) {
  vitrine::status_slot slot;
  for (auto _ : state) {
    if (reader().read(500, slot) != vitrine::status_error::none)
      state.SkipWithError("read failed");
    benchmark::DoNotOptimize(slot);
  }
}
BENCHMARK(BM_status_read_one);

void BM_status_find_one(benchmark::State& state) {
  vitrine::status_slot slot;
  for (auto _ : state) {
    if (reader().find("p500", slot) != vitrine::status_error::none)
      state.SkipWithError("find failed");
    benchmark::DoNotOptimize(slot);
  }
}
BENCHMARK(BM_status_find_one);

void BM_status_read_all(benchmark::State& state) {
  std::vector<vitrine::status_slot> slots;
  for (auto _ : state) {
    if (reader().read_all(slots) != vitrine::status_error::none ||
        slots.size() != slot_count)
      state.SkipWithError("read_all failed");
    benchmark::DoNotOptimize(slots.data());
  }
  state.counters["slots"] = slot_count;
}
BENCHMARK(BM_status_read_all)->Unit(benchmark::kMicrosecond);

void BM_status_owner_check(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(reader().owner() ==
                             vitrine::status_reader::owner_state::alive);
}
BENCHMARK(BM_status_owner_check)->Unit(benchmark::kMicrosecond);

// The owner: creates the table, fills it, reports ready, waits for SIGTERM.
pid_t fork_owner() {
  int ready[2];
  if (::pipe(ready) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    vitrine::os::status_table_file file{table_path, slot_count, 1'000'000'000};
    st::table_writer_unsafe w{file.base()};
    for (std::uint32_t i = 0; i < slot_count; ++i) {
      st::slot_payload p{};
      p.kind = static_cast<std::uint8_t>(st::slot_kind::process);
      p.status = 2;  // running
      p.pid = static_cast<std::int32_t>(10'000 + i);
      p.version = i;
      char name[16];
      std::snprintf(name, sizeof name, "p%u", i);
      st::pack_texts(p, name, "");
      w.write_slot(i, p);
    }
    w.set_slot_count(slot_count);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    (void)!::write(ready[1], "r", 1);
    while (true) {
      // Beat once a second, like the runtime, until SIGTERM.
      timespec second{1, 0};
      siginfo_t info;
      if (sigtimedwait(&set, &info, &second) == SIGTERM) break;
      w.beat(vitrine::os::monotonic_ns());
    }
    ::_exit(0);  // the file is removed by the parent
  }
  ::close(ready[1]);
  char c;
  if (::read(ready[0], &c, 1) != 1) std::abort();
  ::close(ready[0]);
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  // Arguments first: --help exits inside Initialize, before the owner
  // (and its table) exist.
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  char dir[] = "/tmp/vitrine-status-bench-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  table_path = std::string{dir} + "/status";
  const pid_t owner = fork_owner();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ::kill(owner, SIGTERM);
  ::waitpid(owner, nullptr, 0);
  ::unlink(table_path.c_str());
  ::rmdir(dir);
  return 0;
}
