// command_effect: what ends a `vitrine ctl` wait and what the state it
// ended on says, as pure functions of published states.
#include <catch2/catch.hpp>

#include <memory>

#include "command_effect.hpp"

using namespace vitrine;
using core::supervisor_status;

namespace {

/// A supervisor state whose history holds `statuses`, numbered from 1,
/// and whose current status is the last of them.
core::supervisor_state with_history(
    std::initializer_list<supervisor_status> statuses) {
  core::supervisor_history history;
  std::uint64_t number = 0;
  for (const auto status : statuses) {
    core::supervisor_transition t;
    t.status = status;
    t.number = ++number;
    t.version = number;
    history.push(t);
  }
  core::supervisor_state state;
  state.status = *(statuses.end() - 1);
  state.history = std::make_shared<const core::supervisor_history>(history);
  return state;
}

}  // namespace

TEST_CASE("a supervisor that ran for an instant is seen to have run",
          "[cli][ctl]") {
  // A one_for_all group whose child crashed while it started: `running`,
  // then `restarting` at once. A waiter woken by the second reads it.
  const auto state =
      with_history({supervisor_status::stopped, supervisor_status::starting,
                    supervisor_status::running, supervisor_status::restarting});
  CHECK(cli::last_transition(state) == 4);
  CHECK_FALSE(cli::supervisor_done(cli::control::verb::start, state));
  CHECK(cli::ran_since(state, 1));  // the start was sent after `stopped`
  CHECK(cli::ran_since(state, 2));
  CHECK_FALSE(cli::ran_since(state, 3));  // only what came after counts
  CHECK(cli::stopped_since(state, 0));
  CHECK_FALSE(cli::stopped_since(state, 1));
}

TEST_CASE("a supervisor without a history has no transition to look back on",
          "[cli][ctl]") {
  core::supervisor_state state;
  state.status = supervisor_status::running;
  CHECK(cli::last_transition(state) == 0);
  CHECK_FALSE(cli::ran_since(state, 0));
  CHECK_FALSE(cli::stopped_since(state, 0));
}

TEST_CASE(
    "a stop sent to a supervisor at rest is done even once its parent has "
    "started it again",
    "[cli][ctl]") {
  // `ctl restart g h`, h in g: g's stop stopped h (transitions 1-4) before
  // h's own stop was sent, which found h stopped; g's start then ran h
  // again (5, 6) before the wait for h's stop looked.
  const auto restarted = with_history(
      {supervisor_status::starting, supervisor_status::running,
       supervisor_status::shutting_down, supervisor_status::stopped,
       supervisor_status::starting, supervisor_status::running});
  CHECK(cli::supervisor_stop_done(restarted, 4, true));
  // Sent while it ran: only a stop since counts.
  CHECK_FALSE(cli::supervisor_stop_done(restarted, 4, false));
  CHECK(cli::supervisor_stop_done(restarted, 2, false));
  // At rest when sent, but started again (by another client) before the
  // stop came: the stop is under way, not done.
  const auto stopping_again = with_history(
      {supervisor_status::stopped, supervisor_status::starting,
       supervisor_status::running, supervisor_status::shutting_down});
  CHECK_FALSE(cli::supervisor_stop_done(stopping_again, 1, true));
  const auto stopped_again = with_history(
      {supervisor_status::stopped, supervisor_status::starting,
       supervisor_status::running, supervisor_status::shutting_down,
       supervisor_status::stopped});
  CHECK(cli::supervisor_stop_done(stopped_again, 1, true));
}
