// The actors of vitrine_bench_study_push (benchmark support only): readers
// that read one process's state in a loop on (run_atom, count), and a
// synthetic publisher that does what process_actor::publish does (publish
// the snapshot into a cell, then send a copy to every subscriber) so the
// publisher's side of a transition can be timed.
//
// Threads: the actors run on CAF's workers; the *_shared / *_log objects
// they write are read by the host thread only after a sync_atom reply from
// the same actor (which orders the writes before the read).
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "study_util.hpp"
#include "vitrine/baseline/messaging.hpp"
#include "vitrine/baseline/push_mirror.hpp"
#include "vitrine/core/publication_cell.hpp"
#include "vitrine/messages.hpp"
#include "vitrine/process_handle.hpp"

namespace vitrine::bench::study::push_actors {

using run_atom = caf::atom_constant<caf::atom("s_run")>;
using tick_atom = caf::atom_constant<caf::atom("s_tick")>;
using sub_atom = caf::atom_constant<caf::atom("s_sub")>;
using sync_atom = caf::atom_constant<caf::atom("s_sync")>;

/// Reads process_handle::read() `count` times.
inline caf::behavior hybrid_reader(caf::event_based_actor*, process_handle h) {
  return {[=](run_atom, int count) {
    std::uint64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += h.read()->pid;
    benchmark_sink(sum);
    return count;
  }};
}

struct push_reader_state {
  std::vector<core::process_state> copies;
  std::unordered_map<caf::actor_addr, std::size_t> index;
  std::size_t waiting = 0;  ///< initial copies not yet received
  std::vector<caf::response_promise> early;  ///< run_atom(1) before them
};

inline std::uint64_t sum_pids(const push_reader_state& st, int count) {
  std::uint64_t sum = 0;
  for (int i = 0; i < count; ++i)
    sum += static_cast<std::uint64_t>(
        st.copies[static_cast<std::size_t>(i) % st.copies.size()].pid);
  return sum;
}

/// Subscribes to each process, keeps a copy of each, and reads its copies.
/// Answers run_atom only after every initial copy has arrived.
inline caf::behavior push_reader(caf::stateful_actor<push_reader_state>* self,
                                 std::vector<process_handle> processes) {
  self->state.copies.resize(processes.size());
  const auto me = caf::actor_cast<caf::actor>(self);
  self->state.waiting = processes.size();
  for (std::size_t i = 0; i < processes.size(); ++i) {
    auto owner = baseline::owner_actor(processes[i]);
    self->state.index.emplace(owner.address(), i);
    processes[i].subscribe(me);
    self->request(owner, caf::infinite, caf::get_atom::value)
        .then([=](const core::process_state& s) {
          auto& copy = self->state.copies[i];
          if (s.version > copy.version) copy = s;
          if (--self->state.waiting == 0)
            for (auto& p : self->state.early) p.deliver(1);
        });
  }
  return {[=](state_changed_atom, const core::process_state& s) {
            const auto from =
                caf::actor_cast<caf::actor_addr>(self->current_sender());
            const auto it = self->state.index.find(from);
            if (it == self->state.index.end()) return;
            auto& copy = self->state.copies[it->second];
            if (s.version > copy.version) copy = s;
          },
          [=](run_atom, int count) -> caf::result<int> {
            if (self->state.waiting != 0) {  // answered with the last copy
              self->state.early.push_back(self->make_response_promise());
              return caf::delegated<int>{};
            }
            benchmark_sink(sum_pids(self->state, count));
            return count;
          }};
}

struct request_reader_state {
  int left = 0;  ///< reads still to make in the current run
  caf::response_promise done;
  std::function<void()> ask;  ///< sends the next request
};

/// One request().then round trip to the owner per read: each reply sends
/// the next request, the last one answers the run.
inline caf::behavior request_reader(
    caf::stateful_actor<request_reader_state>* self, caf::actor owner) {
  self->state.ask = [=] {
    self->request(owner, caf::infinite, caf::get_atom::value)
        .then([=](const core::process_state& s) {
          benchmark_sink(static_cast<std::uint64_t>(s.pid));
          if (--self->state.left > 0)
            self->state.ask();
          else
            self->state.done.deliver(1);
        });
  };
  return {[=](run_atom, int count) -> caf::result<int> {
    self->state.left = count;
    self->state.done = self->make_response_promise();
    self->state.ask();
    return caf::delegated<int>{};
  }};
}

struct publisher_shared {
  core::publication_cell<core::process_state> cell{core::process_state{}};
  std::vector<double> cost_ns;  ///< publisher-side time per transition
};

struct publisher_state {
  core::process_state current;
  std::vector<caf::actor> subscribers;
};

/// A transition per tick_atom: version + 1, ended_at = now (the publish
/// time the subscribers measure staleness from), publish, send to each.
inline caf::behavior push_publisher(caf::stateful_actor<publisher_state>* self,
                                    std::shared_ptr<publisher_shared> shared) {
  self->state.current.name_storage =
      std::make_shared<const std::string>("synthetic");
  self->state.current.status = core::process_status::running;
  return {[=](tick_atom) {
            const auto t0 = clock_type::now();
            auto next = self->state.current;
            next.version += 1;
            next.ended_at = t0;
            self->state.current = next;
            shared->cell.publish(std::move(next));
            for (const auto& s : self->state.subscribers)
              self->send(s, state_changed_atom::value, self->state.current);
            shared->cost_ns.push_back(ns_between(t0, clock_type::now()));
          },
          [=](sub_atom, caf::actor who) {
            self->state.subscribers.push_back(std::move(who));
            return 0;
          },
          [](sync_atom) { return 0; }};
}

struct subscriber_log {
  std::vector<double> staleness_ns;
  baseline::state_seqlock copy;
};

/// Writes each pushed state into its seqlock (where a host thread would
/// read it), then logs publish -> written.
inline caf::behavior stale_subscriber(caf::event_based_actor*,
                                      subscriber_log* log) {
  return {
      [=](state_changed_atom, const core::process_state& s) {
        log->copy.store(baseline::pushed_state::from(s));
        log->staleness_ns.push_back(ns_between(s.ended_at, clock_type::now()));
      },
      [](sync_atom) { return 0; }};
}

}  // namespace vitrine::bench::study::push_actors
