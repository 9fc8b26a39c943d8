// vitrine_bench_study_scale: how the hybrid's costs change with the number
// of supervised entries, written to results/vitrine_bench_study_scale.json
// (argv[1] overrides). Rows scaling/<layer>/<metric>/processes:N:
//
//   cells: a core::registry of N names whose values hold a
//     publication_cell<process_state> (what a runtime keeps per process),
//     N = 10 ... 100,000, no CAF: lookup (random names), read (a random
//     cell, resolved beforehand), sweep (every cell of one registry view),
//     publish (a random cell), memory per entry (heap growth / N)
//   real: a runtime supervising N real `sleep` processes (N = 10 ...
//     10,000; VITRINE_STUDY_MAX_REAL overrides the largest, and
//     VITRINE_STUDY_MIN_REAL the smallest; a size past what the hard
//     RLIMIT_NOFILE holds at two descriptors per process is replaced by the
//     largest multiple of 1,000 that fits): descriptors per process,
//     start, heap per process, runtime::find, process_handle::read, a sweep
//     of all handles, crash -> restarted (the actor's transition path at
//     that size), and shutdown (runtime destroyed, every child reaped)
//
// VITRINE_STUDY_QUICK=1 takes a tenth of the samples and stops the cells at
// 10,000 and the real fleets at 1,000; with VITRINE_STUDY_MIN_REAL set, only
// the real rows run.
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fleet.hpp"
#include "study_util.hpp"
#include "vitrine/core/process_state.hpp"
#include "vitrine/core/publication_cell.hpp"
#include "vitrine/core/registry.hpp"

namespace {

namespace study = vitrine::bench::study;
using namespace std::chrono_literals;
using study::clock_type;
using vitrine::core::process_state;
using vitrine::core::process_status;

struct entry {
  vitrine::core::publication_cell<process_state> state;
  explicit entry(process_state s) : state(std::move(s)) {}
};

std::string name_of(std::size_t i) {
  return "proc-" + std::to_string(i);
}

/// A fixed pseudo-random order of the indices 0..n-1, repeated to `count`.
std::vector<std::size_t> random_indices(std::size_t n, std::size_t count) {
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<std::size_t> pick{0, n - 1};
  std::vector<std::size_t> out(count);
  for (auto& i : out) i = pick(rng);
  return out;
}

void cells(study::study_output& out, std::size_t n) {
  const std::string tag = "/processes:" + std::to_string(n);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(name_of(i));
  const double before = study::heap_bytes();
  auto reg = std::make_unique<vitrine::core::registry<entry>>();
  {
    std::vector<std::pair<std::string, std::shared_ptr<entry>>> items;
    items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      process_state s;
      s.version = 1;
      s.status = process_status::running;
      s.pid = static_cast<pid_t>(i + 1);
      s.name_storage = std::make_shared<const std::string>(names[i]);
      items.emplace_back(names[i], std::make_shared<entry>(std::move(s)));
    }
    reg->insert_all(std::move(items));
  }
  vitrine::core::hazard_pointer_reclaimer::reclaim_now();
  const double bytes = (study::heap_bytes() - before) / static_cast<double>(n);
  out.row("scaling/cells/memory_per_entry" + tag, bytes, {{"bytes", bytes}});

  const std::size_t ops = study::scaled(1'000'000);
  const auto order = random_indices(n, ops);
  std::uint64_t sink = 0;
  out.repeated("scaling/cells/lookup" + tag,
               study::ns_per_op_reps(ops, [&](std::size_t k) {
                 sink += reg->lookup(names[order[k]])->state.read()->pid;
               }));
  std::vector<entry*> resolved;
  for (const auto& e : reg->snapshot()->entries())
    resolved.push_back(e->value.get());
  out.repeated("scaling/cells/read" + tag,
               study::ns_per_op_reps(ops, [&](std::size_t k) {
                 sink += resolved[order[k]]->state.read()->pid;
               }));
  std::vector<double> sweeps;
  const std::size_t reps =
      std::max<std::size_t>(5, study::scaled(2'000'000) / n);
  for (std::size_t r = 0; r < std::min<std::size_t>(reps, 2000); ++r) {
    const auto t0 = clock_type::now();
    auto view = reg->snapshot();
    for (const auto& e : view->entries()) sink += e->value->state.read()->pid;
    sweeps.push_back(study::ns_between(t0, clock_type::now()));
  }
  std::vector<double> copy = sweeps;
  const double p50 = study::quantile(copy, 0.5);
  out.distribution("scaling/cells/sweep" + tag, std::move(sweeps),
                   {{"per_entry_ns", p50 / static_cast<double>(n)}});
  const std::size_t publishes = study::scaled(200'000);
  out.repeated("scaling/cells/publish" + tag,
               study::ns_per_op_reps(publishes, [&](std::size_t k) {
                 auto& cell = resolved[order[k % ops]]->state;
                 process_state next = cell.current_unsafe();
                 next.version += 1;
                 cell.publish(std::move(next));
               }));
  resolved.clear();
  reg.reset();
  vitrine::core::hazard_pointer_reclaimer::reclaim_now();
  if (sink == 42) std::puts("");
}

double open_fds() {
  double n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

/// Descriptors a fleet of n needs: two per process (the actor's pidfd and
/// the I/O thread's duplicate), plus room for the rest of the process.
rlim_t fds_needed(std::size_t n) {
  return 2 * n + 1024;
}

/// Raises the soft RLIMIT_NOFILE toward the hard one for a fleet of n, as
/// `vitrine run` raises its own; restores it when it ends. (The hard limit
/// needs CAP_SYS_RESOURCE to rise: not attempted.)
class fd_room {
 public:
  explicit fd_room(std::size_t n) {
    ::getrlimit(RLIMIT_NOFILE, &original_);
    if (original_.rlim_cur >= fds_needed(n)) return;
    const rlimit raised{std::min(fds_needed(n), original_.rlim_max),
                        original_.rlim_max};
    changed_ = ::setrlimit(RLIMIT_NOFILE, &raised) == 0;
  }
  ~fd_room() {
    if (changed_) ::setrlimit(RLIMIT_NOFILE, &original_);
  }
  fd_room(const fd_room&) = delete;
  fd_room& operator=(const fd_room&) = delete;
  double original_soft() const {
    return static_cast<double>(original_.rlim_cur);
  }

 private:
  rlimit original_{};
  bool changed_ = false;
};

/// Whether this process may raise its hard limits (CAP_SYS_RESOURCE, bit
/// 24 of CapEff in /proc/self/status).
bool can_raise_hard_limits() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("CapEff:", 0) == 0)
      return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1;
  return false;
}

/// The largest fleet (a multiple of 1,000) the hard descriptor limit holds.
std::size_t largest_fleet_by_fds() {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max == RLIM_INFINITY) return SIZE_MAX;
  const rlim_t room = files.rlim_max > 1024 ? files.rlim_max - 1024 : 0;
  return static_cast<std::size_t>(room / 2 / 1000 * 1000);
}

void real(study::study_output& out, std::size_t n) {
  const std::string tag = "/processes:" + std::to_string(n);
  const fd_room room{n};
  const double before = study::heap_bytes();
  const double fds_before = open_fds();
  auto f = std::make_unique<vitrine::bench::fleet>(
      vitrine::bench::fleet_options{&vitrine::read_policy::hybrid(), n, true});
  const double bytes = (study::heap_bytes() - before) / static_cast<double>(n);
  // What the machine allows: descriptors per process against the limit
  // (the one this run started with, and the one it ran the fleet under).
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const double fds = (open_fds() - fds_before) / static_cast<double>(n);
  out.row("scaling/real/fds_per_process" + tag, fds,
          {{"fds", fds},
           {"rlimit_nofile", room.original_soft()},
           {"rlimit_nofile_used", static_cast<double>(files.rlim_cur)},
           {"rlimit_nofile_hard", static_cast<double>(files.rlim_max)},
           {"cap_sys_resource", can_raise_hard_limits() ? 1.0 : 0.0},
           {"max_processes_by_fds", room.original_soft() / fds}});
  out.row("scaling/real/start" + tag, f->start_seconds() * 1e9);
  out.row("scaling/real/heap_per_process" + tag, bytes, {{"bytes", bytes}});
  const std::size_t ops = study::scaled(200'000);
  const auto order = random_indices(n, ops);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(f->name_of(i));
  std::uint64_t sink = 0;
  const auto& hs = f->processes();
  out.repeated("scaling/real/lookup" + tag,
               study::ns_per_op_reps(ops, [&](std::size_t k) {
                 sink += f->rt().find(names[order[k]]).read()->pid;
               }));
  out.repeated("scaling/real/read" + tag,
               study::ns_per_op_reps(ops, [&](std::size_t k) {
                 sink += hs[order[k]].read()->pid;
               }));
  std::vector<double> sweeps;
  for (int r = 0; r < (study::quick() ? 5 : 50); ++r) {
    const auto t0 = clock_type::now();
    for (const auto& h : hs) sink += h.read()->pid;
    sweeps.push_back(study::ns_between(t0, clock_type::now()));
  }
  out.distribution("scaling/real/sweep" + tag, std::move(sweeps));
  std::vector<double> restarts;
  for (std::size_t k = 0; k < (study::quick() ? 10u : 100u); ++k) {
    const auto& h = hs[order[k]];
    const pid_t old = h.read()->pid;
    if (old == 0) continue;
    const auto t0 = clock_type::now();
    ::kill(old, SIGKILL);
    h.wait_until(
        [&](const process_state& s) {
          return s.status == process_status::running && s.pid != old &&
                 s.pid != 0;
        },
        t0 + 10s);
    restarts.push_back(study::ns_between(t0, clock_type::now()));
  }
  out.distribution("scaling/real/restart" + tag, std::move(restarts));
  if (sink == 42) std::puts("");
  const auto t0 = clock_type::now();
  f.reset();  // stops every process and reaps it
  out.row("scaling/real/shutdown" + tag,
          study::ns_between(t0, clock_type::now()));
}

}  // namespace

int main(int argc, char** argv) {
  study::study_output out;
  const std::size_t max_cells = study::quick() ? 10'000 : 100'000;
  if (!std::getenv("VITRINE_STUDY_MIN_REAL"))
    for (std::size_t n = 10; n <= max_cells; n *= 10) cells(out, n);
  const char* m = std::getenv("VITRINE_STUDY_MAX_REAL");
  const std::size_t max_real = m                ? std::stoul(m)
                               : study::quick() ? 1000
                                                : 10'000;
  // Past the descriptor limit the fleet cannot start (spawns fail with
  // EMFILE): the largest size that fits runs instead.
  const std::size_t fits = largest_fleet_by_fds();
  const char* low = std::getenv("VITRINE_STUDY_MIN_REAL");
  for (std::size_t n = low ? std::stoul(low) : 10; n <= max_real; n *= 10) {
    real(out, std::min(n, fits));
    if (n > fits) break;
  }
  out.note("max_real_processes", std::to_string(max_real));
  out.note("largest_fleet_by_fds", std::to_string(fits));
  out.write(
      study::output_path(argc, argv, "results/vitrine_bench_study_scale.json"));
}
