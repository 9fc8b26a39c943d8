// vitrine_bench_study_push: the push baseline against request-per-read and
// the hybrid, on real supervised processes, written to
// results/vitrine_bench_study_push.json (argv[1] overrides):
//
//   read/hybrid, read/messaging_push_host, read/messaging_blocking
//       a host thread reads process 0's state: process_handle::read(); the
//       push_mirror's seqlock copy; one blocking request per read
//   read/hybrid_from_actor, read/messaging_push_actor,
//   read/messaging_from_actor
//       an actor reads: the published snapshot; its own copy kept current by
//       subscription; one request().then round trip per read
//   fanout/messaging_push/subscribers:K   publisher-side time of one
//       transition (publish the snapshot, send the copy to K subscribers),
//       per transition, K = 0, 1, 4, 16 (publisher: push_publisher below)
//   read/messaging_push_staleness/subscribers:K   publish -> the copy is
//       written into the subscriber's seqlock (visible to host threads)
//   read/hybrid_staleness   publish -> seen by a host thread polling the cell
//   memory/messaging_push/subscriber   heap per subscribed actor holding a
//       copy (real process, real subscriptions)
//   restart/hybrid, restart/messaging_push   SIGKILL -> a new pid running,
//       seen through the cell (wait_until) and through a push_mirror
//   sweep/<mode>/processes:M   read all M states: hybrid, push copy, one
//       blocking request each (sequential), all requests then all replies
//       (batched)
//
// VITRINE_STUDY_QUICK=1 takes a tenth of the samples; VITRINE_STUDY_SWEEP
// sets M (default 1,000).
#include <signal.h>

#include <caf/all.hpp>

#include <memory>
#include <thread>

#include "fleet.hpp"
#include "study_push_actors.hpp"
#include "study_util.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/baseline/push_mirror.hpp"

namespace {

namespace study = vitrine::bench::study;
namespace actors = vitrine::bench::study::push_actors;
using namespace std::chrono_literals;
using study::clock_type;
using vitrine::process_handle;
using vitrine::read_policy;
using vitrine::baseline::blocking_reader;
using vitrine::baseline::messaging_reads;
using vitrine::baseline::push_mirror;
using vitrine::bench::fleet;
using vitrine::bench::fleet_options;
using vitrine::core::process_state;
using vitrine::core::process_status;

/// Reads `count` times inside `reader` (an actors:: reader), per read.
std::vector<double> actor_reads(caf::actor_system& system,
                                const caf::actor& reader, int count,
                                int batches) {
  caf::scoped_actor self{system};
  self->request(reader, caf::infinite, actors::run_atom::value, 1)
      .receive([](int) {}, [](caf::error&) {});  // warm-up, initial copies
  std::vector<double> per_read;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = clock_type::now();
    self->request(reader, caf::infinite, actors::run_atom::value, count)
        .receive([](int) {}, [](caf::error&) {});
    per_read.push_back(study::ns_between(t0, clock_type::now()) / count);
  }
  return per_read;
}

void host_and_actor_reads(study::study_output& out, fleet& hybrid,
                          fleet& messaging) {
  const auto h = hybrid.processes().front();
  const auto m = messaging.processes().front();
  const std::size_t n = study::scaled(2'000'000);
  std::uint64_t sink = 0;
  out.repeated("read/hybrid", study::ns_per_op_reps(n, [&](std::size_t) {
                 sink += h.read()->pid;
               }));
  {
    push_mirror mirror{messaging.rt(), {m}};
    mirror.wait_for_version(0, 1, clock_type::now() + 10s);
    out.repeated(
        "read/messaging_push_host",
        study::ns_per_op_reps(n,
                              [&](std::size_t) {
                                sink += static_cast<std::uint64_t>(
                                    mirror.read(0).pid);
                              }),
        {{"seqlock_words", double(vitrine::baseline::state_seqlock::words)}});
  }
  {
    blocking_reader reader{messaging.rt()};
    out.repeated("read/messaging_blocking",
                 study::ns_per_op_reps(study::scaled(5'000), [&](std::size_t) {
                   sink += reader.read(m).pid;
                 }));
  }
  auto& hsys = hybrid.rt().system();
  auto& msys = messaging.rt().system();
  auto a = hsys.spawn(actors::hybrid_reader, h);
  out.repeated("read/hybrid_from_actor", actor_reads(hsys, a, 100'000, 20));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  a = msys.spawn(actors::push_reader, std::vector<process_handle>{m});
  out.repeated("read/messaging_push_actor", actor_reads(msys, a, 100'000, 20));
  m.unsubscribe(a);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  a = msys.spawn(actors::request_reader, vitrine::baseline::owner_actor(m));
  out.repeated("read/messaging_from_actor", actor_reads(msys, a, 500, 10));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  if (sink == 42) std::puts("");
}

/// Fan-out cost and staleness with K subscribers of push_publisher, which
/// does what process_actor::publish does: publish into a cell, then send
/// the copy to each subscriber.
void fanout_and_staleness(study::study_output& out, caf::actor_system& sys) {
  const std::size_t ticks = study::scaled(3'000);
  for (int k : {0, 1, 4, 16}) {
    auto shared = std::make_shared<actors::publisher_shared>();
    auto pub = sys.spawn(actors::push_publisher, shared);
    std::vector<std::unique_ptr<actors::subscriber_log>> logs;
    std::vector<caf::actor> subs;
    caf::scoped_actor self{sys};
    for (int i = 0; i < k; ++i) {
      logs.push_back(std::make_unique<actors::subscriber_log>());
      subs.push_back(sys.spawn(actors::stale_subscriber, logs.back().get()));
      self->request(pub, caf::infinite, actors::sub_atom::value, subs.back())
          .receive([](int) {}, [](caf::error&) {});
    }
    // Hybrid staleness (no subscriber run only): a host thread polls.
    std::atomic<bool> stop{false};
    std::vector<double> hybrid_stale;
    std::thread poller;
    if (k == 0)
      poller = std::thread([&] {
        std::uint64_t seen = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          auto s = shared->cell.read();
          if (s->version != seen) {
            seen = s->version;
            if (seen > 1)
              hybrid_stale.push_back(
                  study::ns_between(s->ended_at, clock_type::now()));
          }
          _mm_pause();
        }
      });
    for (std::size_t t = 0; t < ticks; ++t) {
      caf::anon_send(pub, actors::tick_atom::value);
      std::this_thread::sleep_for(200us);  // one transition at a time
    }
    std::vector<double> cost;
    self->request(pub, caf::infinite, actors::sync_atom::value)
        .receive([](int) {}, [](caf::error&) {});
    cost = shared->cost_ns;
    std::vector<double> stale;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      self->request(subs[i], caf::infinite, actors::sync_atom::value)
          .receive([](int) {}, [](caf::error&) {});
      stale.insert(stale.end(), logs[i]->staleness_ns.begin(),
                   logs[i]->staleness_ns.end());
    }
    stop = true;
    if (poller.joinable()) poller.join();
    const std::string ks = "/subscribers:" + std::to_string(k);
    out.distribution("fanout/messaging_push" + ks, cost);
    if (k == 0) {
      out.series("cdf/staleness/hybrid", hybrid_stale, 4000);
      out.distribution("read/hybrid_staleness", std::move(hybrid_stale));
    } else {
      out.series("cdf/staleness/messaging_push" + ks, stale, 4000);
      out.distribution("read/messaging_push_staleness" + ks, std::move(stale));
    }
    for (auto& s : subs)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pub, caf::exit_reason::user_shutdown);
  }
}

void memory_per_subscriber(study::study_output& out, fleet& messaging) {
  auto& sys = messaging.rt().system();
  const auto h = messaging.processes()[1];
  const std::size_t k = study::quick() ? 100 : 1000;
  const double before = study::heap_bytes();
  std::vector<caf::actor> readers;
  for (std::size_t i = 0; i < k; ++i)
    readers.push_back(
        sys.spawn(actors::push_reader, std::vector<process_handle>{h}));
  // Every copy filled: each reader answers after its initial reply.
  caf::scoped_actor self{sys};
  for (auto& r : readers)
    self->request(r, caf::infinite, actors::run_atom::value, 1)
        .receive([](int) {}, [](caf::error&) {});
  const double after = study::heap_bytes();
  out.row("memory/messaging_push/subscriber", (after - before) / k,
          {{"subscribers", double(k)}, {"bytes", (after - before) / k}});
  for (auto& r : readers) {
    h.unsubscribe(r);
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }
}

void restarts(study::study_output& out, fleet& hybrid) {
  const auto& all = hybrid.processes();
  push_mirror mirror{hybrid.rt(), all};
  const std::size_t n = study::scaled(1'000);
  std::vector<double> seen_hybrid, seen_push, lag;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = k % all.size();
    const auto& h = all[i];
    const auto before = h.read();
    const pid_t old_pid = before->pid;
    if (old_pid == 0 || before->status != process_status::running) continue;
    const auto t0 = clock_type::now();
    ::kill(old_pid, SIGKILL);
    std::uint64_t version = 0;
    h.wait_until(
        [&](const process_state& s) {
          version = s.version;
          return s.status == process_status::running && s.pid != old_pid &&
                 s.pid != 0;
        },
        t0 + 10s);
    const auto t1 = clock_type::now();
    mirror.wait_for_version(i, version, t1 + 10s);
    const auto t2 = clock_type::now();
    seen_hybrid.push_back(study::ns_between(t0, t1));
    seen_push.push_back(study::ns_between(t0, t2));
    lag.push_back(study::ns_between(t1, t2));
  }
  out.series("cdf/restart/hybrid", seen_hybrid, 4000);
  out.distribution("restart/hybrid", std::move(seen_hybrid));
  out.distribution("restart/messaging_push", std::move(seen_push));
  out.distribution("restart/messaging_push_lag", std::move(lag));
}

void sweeps(study::study_output& out, fleet& hybrid, fleet& messaging) {
  const auto& hs = hybrid.processes();
  const auto& ms = messaging.processes();
  const std::string tag = "/processes:" + std::to_string(ms.size());
  const std::size_t reps = study::quick() ? 3 : 20;
  std::uint64_t sink = 0;
  auto repeat = [&](const std::string& name, auto sweep) {
    std::vector<double> v;
    for (std::size_t r = 0; r < reps; ++r) {
      const auto t0 = clock_type::now();
      sweep();
      v.push_back(study::ns_between(t0, clock_type::now()));
    }
    out.distribution(name + tag, std::move(v));
  };
  repeat("sweep/hybrid", [&] {
    for (const auto& h : hs) sink += h.read()->pid;
  });
  {
    push_mirror mirror{messaging.rt(), ms};
    for (std::size_t i = 0; i < ms.size(); ++i)
      mirror.wait_for_version(i, 1, clock_type::now() + 10s);
    repeat("sweep/messaging_push", [&] {
      for (std::size_t i = 0; i < ms.size(); ++i)
        sink += static_cast<std::uint64_t>(mirror.read(i).pid);
    });
  }
  blocking_reader reader{messaging.rt()};
  repeat("sweep/messaging_sequential", [&] {
    for (const auto& h : ms) sink += reader.read(h).pid;
  });
  std::vector<caf::actor> owners;
  for (const auto& h : ms) owners.push_back(vitrine::baseline::owner_actor(h));
  caf::scoped_actor self{messaging.rt().system()};
  repeat("sweep/messaging_batched", [&] {
    std::vector<decltype(self->request(owners[0], caf::infinite,
                                       caf::get_atom::value))>
        pending;
    pending.reserve(owners.size());
    for (const auto& o : owners)
      pending.push_back(self->request(o, caf::infinite, caf::get_atom::value));
    for (auto& p : pending)
      p.receive([&](const process_state& s) { sink += s.pid; },
                [](caf::error&) {});
  });
  if (sink == 42) std::puts("");
}

}  // namespace

int main(int argc, char** argv) {
  study::study_output out;
  const char* m = std::getenv("VITRINE_STUDY_SWEEP");
  const std::size_t sweep_n = m ? std::stoul(m) : (study::quick() ? 100 : 1000);
  fleet hybrid{fleet_options{&read_policy::hybrid(), sweep_n, true}};
  fleet messaging{fleet_options{&messaging_reads(), sweep_n, true}};
  host_and_actor_reads(out, hybrid, messaging);
  fanout_and_staleness(out, hybrid.rt().system());
  memory_per_subscriber(out, messaging);
  restarts(out, hybrid);
  sweeps(out, hybrid, messaging);
  out.write(
      study::output_path(argc, argv, "results/vitrine_bench_study_push.json"));
}
