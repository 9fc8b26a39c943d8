#include "control_actions.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "command_effect.hpp"
#include "text_escape.hpp"
#include "vitrine/os/signals.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;
using control::verb;
using core::process_status;

/// One named target of a request and the command sent to it.
struct target {
  std::string name;
  process_handle process;
  supervisor_handle supervisor;
  process_command process_cmd;
  supervisor_command supervisor_cmd;
  pid_t old_pid = 0;  ///< restart: the pid the new one must differ from
  /// The command as its effect is awaited (command_effect.hpp).
  verb awaited = verb::start;
  /// signal: the state it was sent in (the reply shows it, not what the
  /// signal made of the process since).
  std::optional<core::process_state> signalled_in;
  bool sent = false;
  std::string send_error;  ///< why it was not sent, if known
  /// A supervisor's restart: the number of its last transition when the
  /// stop was sent (a stop seen after it counts, even if its parent has
  /// started it again since).
  std::uint64_t transitions_before = 0;
};

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

/// Sends the command of `request` to `t`.
void send(const control::request& request, target& t) {
  if (t.process) {
    const auto state = t.process.read();
    t.old_pid = state->pid;
    t.awaited = awaited_as(request.command, state->status);
    switch (request.command) {
      case verb::start:
        t.process_cmd = t.process.start();
        break;
      case verb::stop:
        t.process_cmd = t.process.stop();
        break;
      case verb::restart:
        t.process_cmd = t.process.restart();
        break;
      case verb::signal:
        if (t.old_pid == 0) {
          t.send_error = "has no child to signal (status: " +
                         std::string{core::to_string(state->status)} + ")";
          return;
        }
        t.signalled_in = *state;
        t.sent = t.process.signal(request.signal);
        return;
      case verb::reload:
        return;
    }
    t.sent = static_cast<bool>(t.process_cmd);
  } else {
    // A supervisor's restart is a stop, then a start once it stopped.
    if (const auto state = t.supervisor.read();
        state->history && !state->history->empty())
      t.transitions_before =
          (*state->history)[state->history->size() - 1].number;
    t.supervisor_cmd = request.command == verb::start ? t.supervisor.start()
                                                      : t.supervisor.stop();
    t.sent = static_cast<bool>(t.supervisor_cmd);
  }
}

/// When the waits of `request` end: after its timeout_ms, and no later
/// than its deadline (CLOCK_MONOTONIC, the clock of steady_clock on Linux;
/// converted through the time left so as not to rely on that).
clock::time_point deadline_of(const control::request& request) {
  const auto now = clock::now();
  auto end = now + std::chrono::milliseconds{request.timeout_ms};
  if (request.deadline_ms) {
    const auto now_ms = control::monotonic_now_ms();
    const auto left = *request.deadline_ms > now_ms
                          ? *request.deadline_ms - now_ms
                          : std::uint64_t{0};
    end = std::min(end, now + std::chrono::milliseconds{left});
  }
  return end;
}

constexpr const char* removed_text =
    "was removed from the run (by a reload) before the effect was seen";
constexpr const char* abandoned_text =
    "vitrine run is stopping: the effect was not awaited";

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

/// A check whether `t`'s supervisor was removed or replaced (a reload
/// replaces a changed group as a whole) since the command went out;
/// `removed` remembers a yes.
std::function<bool()> replaced_check(const control_context& context,
                                     const target& t, bool& removed) {
  return [&context, &t, &removed] {
    removed = removed || left_the_run(t.supervisor, [&] {
                return context.rt.find_supervisor(t.name);
              });
    return removed;
  };
}

/// Waits until the supervisor's stop is done, then sends the start; not
/// once `gone()` (a reload replaced it). A supervisor that stopped and is
/// already running again (its parent's restart in the same request: `ctl
/// restart g h`, h inside g) is restarted: no start is sent.
bool send_supervisor_start(const control_context& context,
                           clock::time_point deadline, target& t,
                           const std::function<bool()>& gone) {
  const auto stopped = sliced_wait(context, deadline, [&](auto until) {
    return gone() || t.supervisor_cmd.wait_until(
                         [&](const core::supervisor_state& s) {
                           return supervisor_done(verb::stop, s) ||
                                  stopped_since(s, t.transitions_before);
                         },
                         until);
  });
  if (!stopped || !*stopped || gone()) return false;
  const auto now = t.supervisor.read();
  if (!supervisor_done(verb::stop, *now)) return true;  // started again
  t.supervisor_cmd = t.supervisor.start();
  return static_cast<bool>(t.supervisor_cmd);
}

/// One command of a request may undo another's effect for a while (`ctl
/// restart h g`, h inside g: h started, then stopped by g's restart, which
/// starts it again): a line that failed is judged again on the state once
/// every wait of the request ended, and kept failed if it still fails.
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

/// Waits for the effect on `t`; false when the wait was abandoned.
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
    const auto wait_phase = [&] {
      return sliced_wait(context, deadline, [&](clock::time_point until) {
        return gone() || t.supervisor_cmd.wait_until(
                             [&](const core::supervisor_state& s) {
                               return supervisor_done(phase, s);
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
      out.ok = phase == verb::stop || out.status == "running";
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

}  // namespace

control::reply execute(const control_context& context,
                       const control::request& request) {
  control::reply reply;
  // Read past its deadline, the client has given up on it (or is about
  // to): doing it now would act on a command reported as failed.
  if (const auto now_ms = control::monotonic_now_ms();
      control::expired(request, now_ms)) {
    reply.expired = true;
    reply.error = "the request expired: the run read it " +
                  std::to_string(now_ms - *request.deadline_ms) +
                  " ms after its deadline; nothing was done";
    return reply;
  }
  if (request.command == verb::reload) {
    const auto until = deadline_of(request);
    reply.error = context.reload ? context.reload(until, context.keep_waiting)
                                 : "reload is not available";
    reply.ok = reply.error.empty();
    return reply;
  }
  // Resolve every name before doing anything.
  std::vector<target> targets;
  std::vector<std::string> unknown, supervisors;
  const auto resolve = [&] {
    targets.clear();
    unknown.clear();
    supervisors.clear();
    std::set<std::string, std::less<>> seen;
    for (const auto& name : request.names) {
      if (!seen.insert(name).second) continue;
      target t;
      t.name = name;
      t.process = context.rt.find(name);
      if (!t.process) t.supervisor = context.rt.find_supervisor(name);
      if (!t.process && !t.supervisor) unknown.push_back(name);
      if (t.supervisor) supervisors.push_back(name);
      targets.push_back(std::move(t));
    }
  };
  resolve();
  // Just after `run` starts, a name of its file may not be added yet.
  std::string not_added;
  if (!unknown.empty() && context.until_added) {
    not_added = context.until_added(deadline_of(request), context.keep_waiting);
    if (not_added.empty()) resolve();
  }
  if (!unknown.empty()) {
    reply.error = (unknown.size() == 1 ? "unknown name " : "unknown names ") +
                  quoted_names(unknown) + ": nothing was done";
    if (!not_added.empty()) reply.error += " (" + not_added + ")";
    return reply;
  }
  if (request.command == verb::signal && !supervisors.empty()) {
    reply.error =
        quoted_names(supervisors) +
        (supervisors.size() == 1 ? " is a supervisor" : " are supervisors") +
        ": 'signal' takes processes only; nothing was done";
    return reply;
  }
  for (auto& t : targets) send(request, t);

  const auto deadline = deadline_of(request);
  reply.ok = true;
  // Once a wait is abandoned (the run is stopping, or the client left),
  // this and every later target is answered with its state as it is.
  bool abandoned = false;
  const auto settle = [&](target& t) {
    control::result out;
    out.name = t.name;
    out.kind = t.process ? "process" : "supervisor";
    if (abandoned) {
      // (its error is filled in below, with its state)
    } else if (!t.sent) {
      out.error = t.send_error.empty() ? "not sent: vitrine run is stopping"
                                       : t.send_error;
    } else if (request.command == verb::signal) {
      out.ok = true;
    } else if (!request.wait) {
      // A supervisor's restart needs its stop done before the start is
      // sent: that much is waited for even without wait.
      bool removed = false;
      const auto gone = replaced_check(context, t, removed);
      out.ok = !t.supervisor || request.command != verb::restart ||
               send_supervisor_start(context, deadline, t, gone);
      // (gone(): the start may have found the removal's end.)
      if (!out.ok)
        out.error = gone() ? removed_text : "did not stop in time; not started";
    } else if (!await(context, request, deadline, t, out)) {
      abandoned = true;
      reply.error =
          "the wait was abandoned (the client left or vitrine run "
          "is stopping)";
      out.ok = false;  // what await() had filled in is no answer
      out.status.clear();
    }
    if (out.status.empty()) {
      if (t.signalled_in)
        describe_state(*t.signalled_in, out);
      else if (t.process)
        describe_process(t.process, out);
      else
        describe_supervisor(t.supervisor, out);
    }
    if (abandoned)
      out.error = std::string{abandoned_text} + " (it was " + out.status + ")";
    return out;
  };
  // Supervisors first: a restart's start is sent only once its stop is
  // done, and a process of that group named in the same request (`ctl
  // restart w2 g`) would otherwise see the group's stop as another
  // client's command overtaking its own. The lines keep the request's order.
  std::vector<control::result> results(targets.size());
  for (const bool supervisors_pass : {true, false})
    for (std::size_t i = 0; i < targets.size(); ++i)
      if (static_cast<bool>(targets[i].supervisor) == supervisors_pass)
        results[i] = settle(targets[i]);
  if (targets.size() > 1 && !abandoned) judge_again(request, targets, results);
  for (auto& out : results) {
    reply.ok = reply.ok && out.ok;
    reply.results.push_back(std::move(out));
  }
  return reply;
}

}  // namespace vitrine::cli
