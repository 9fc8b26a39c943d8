#include "control_waits.hpp"

#include <algorithm>

#include "command_effect.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;
using control::verb;

/// Waits in slices until `wait_slice(slice_deadline)` is true, `deadline`
/// passes or keep_waiting() says stop. nullopt: the wait was abandoned.
template <class WaitSlice>
std::optional<bool> sliced_wait(const control_context& context,
                                clock::time_point deadline,
                                WaitSlice&& wait_slice) {
  for (;;) {
    const auto now = clock::now();
    if (now >= deadline) return wait_slice(now);  // one last look
    if (wait_slice(std::min(deadline, now + context.slice))) return true;
    if (!context.keep_waiting()) return std::nullopt;
  }
}

/// Whether `a` and `b` are handles of one process or supervisor (not two
/// that had the same name, one replaced by a reload).
template <class Handle>
bool same_entity(const Handle& a, const Handle& b) {
  const auto x = a.identity(), y = b.identity();
  return !x.owner_before(y) && !y.owner_before(x);
}

/// Whether the process or supervisor `handle` left the run: removed (its
/// removal's stop may still be under way) or already replaced under its
/// name. Its removal is marked before that stop begins, so a wait woken by
/// a state of that stop sees the mark: a `stopped` it brings is told from
/// one the command led to.
template <class Handle, class Find>
bool left_the_run(const Handle& handle, const Find& find) {
  return handle.removed() || !same_entity(find(), handle);
}

}  // namespace

void describe_state(const core::process_state& state, control::result& out) {
  out.status = std::string{core::to_string(state.status)};
  out.pid = state.pid;
}

void describe_process(const process_handle& h, control::result& out) {
  describe_state(*h.read(), out);
}

void describe_supervisor(const supervisor_handle& h, control::result& out) {
  out.status = std::string{core::to_string(h.read()->status)};
}

std::function<bool()> replaced_check(const control_context& context,
                                     const target& t, bool& removed) {
  return [&context, &t, &removed] {
    removed = removed || left_the_run(t.supervisor, [&] {
                return context.rt.find_supervisor(t.name);
              });
    return removed;
  };
}

bool send_supervisor_start(const control_context& context,
                           clock::time_point deadline, target& t,
                           const std::function<bool()>& gone) {
  const auto stopped = sliced_wait(context, deadline, [&](auto until) {
    return gone() || t.supervisor_cmd.wait_until(
                         [&](const core::supervisor_state& s) {
                           return supervisor_stop_done(s, t.transitions_before,
                                                       t.at_rest_before);
                         },
                         until);
  });
  if (!stopped || !*stopped || gone()) return false;
  const auto now = t.supervisor.read();
  if (!supervisor_done(verb::stop, *now)) return true;  // started again
  t.transitions_before = last_transition(*now);
  t.supervisor_cmd = t.supervisor.start();
  return static_cast<bool>(t.supervisor_cmd);
}

void judge_again(const control::request& request,
                 const std::vector<target>& targets,
                 std::vector<control::result>& results) {
  if (request.command == verb::signal) return;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    auto& out = results[i];
    if (out.ok || out.timed_out || !t.sent || out.error == removed_text)
      continue;
    control::result again;
    again.name = out.name;
    again.kind = out.kind;
    if (t.process) {
      describe_process(t.process, again);
      judge_process(request.command, t.process_cmd.ticket(), *t.process.read(),
                    again);
    } else {
      describe_supervisor(t.supervisor, again);
      again.ok = supervisor_done(request.command, *t.supervisor.read()) &&
                 (request.command == verb::stop || again.status == "running");
    }
    if (again.ok) out = std::move(again);
  }
}

bool await(const control_context& context, const control::request& request,
           clock::time_point deadline, target& t, control::result& out) {
  std::optional<bool> done;
  bool start_unsent = false;  // a supervisor's restart, stopped too late
  if (t.process) {
    // A reload may remove it meanwhile (or replace it under its name):
    // its actor is gone with the command, so no effect will come.
    bool removed = false;
    const auto left = [&] {
      return left_the_run(t.process, [&] { return context.rt.find(t.name); });
    };
    done = sliced_wait(context, deadline, [&](clock::time_point until) {
      removed = left();
      return removed || t.process_cmd.wait_until(
                            [&](const core::process_state& s) {
                              return command_settled(t.awaited, t.old_pid, s) ||
                                     overtaken(t.process_cmd.ticket(), s);
                            },
                            until);
    });
    if (!done) return false;
    describe_process(t.process, out);
    if (!removed && *done)
      judge_process(request.command, t.process_cmd.ticket(), *t.process.read(),
                    out);
    // A state of the removal's stop may have ended the wait: no effect.
    if (removed || (!out.ok && left())) {
      out.error = removed_text;
      return true;
    }
  } else {
    // A reload may replace it meanwhile (a changed group is replaced as a
    // whole): its actor is gone with the command, so no effect will come.
    bool removed = false;
    const auto gone = replaced_check(context, t, removed);
    auto phase =
        request.command == verb::restart ? verb::stop : request.command;
    // A start's effect may last an instant (a one_for_all group whose child
    // crashes at once runs, then restarts): seen in the history.
    bool ran = false;
    const auto wait_phase = [&] {
      return sliced_wait(context, deadline, [&](clock::time_point until) {
        return gone() || t.supervisor_cmd.wait_until(
                             [&](const core::supervisor_state& s) {
                               ran =
                                   ran || (phase == verb::start &&
                                           ran_since(s, t.transitions_before));
                               return ran || supervisor_done(phase, s);
                             },
                             until);
      });
    };
    if (request.command == verb::restart) {
      if (!send_supervisor_start(context, deadline, t, gone)) {
        if (!context.keep_waiting()) return false;
        done = removed;  // else the stop did not finish in time
        start_unsent = !removed;
      } else {
        phase = verb::start;
        done = wait_phase();
      }
    } else {
      done = wait_phase();
    }
    if (!done) return false;
    describe_supervisor(t.supervisor, out);
    if (!removed && *done) {
      out.ok = phase == verb::stop || out.status == "running" || ran;
      if (!out.ok) out.error = "is " + out.status;
    }
    // A state of the removal's stop may have ended the wait (or the start
    // was not sent: the removal had ended the actor): no effect.
    if (removed || (!out.ok && gone())) {
      out.error = removed_text;
      return true;
    }
  }
  if (!*done) {
    out.timed_out = true;
    // Only the wait ended: what was sent stays applied.
    out.error = "timed out after " + std::to_string(request.timeout_ms) +
                " ms (status: " + out.status + "); " +
                (start_unsent ? "the stop was applied, the start not sent"
                              : "the command was applied and may still "
                                "take effect");
  }
  return true;
}

}  // namespace vitrine::cli
