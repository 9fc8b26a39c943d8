#include "control_actions.hpp"

#include <algorithm>
#include <set>

#include "command_effect.hpp"
#include "control_waits.hpp"
#include "text_escape.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {
namespace {

using clock = std::chrono::steady_clock;
using control::verb;

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
    const auto state = t.supervisor.read();
    t.transitions_before = last_transition(*state);
    t.at_rest_before = supervisor_done(verb::stop, *state);
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

}  // namespace

control::reply execute(const control_context& context,
                       const control::request& request) {
  control::reply reply;
  // Read past its deadline, the client has given up on it (or is about
  // to): doing it now would act on a command reported as failed.
  if (const auto now_ms = control::monotonic_now_ms();
      control::expired(request, now_ms)) {
    reply.expired = true;
    // Whole milliseconds: one read within the deadline's own is "at" it.
    const std::uint64_t late_ms = now_ms - *request.deadline_ms;
    reply.error =
        "the request expired: the run read it " +
        (late_ms == 0 ? std::string{"at its deadline"}
                      : std::to_string(late_ms) + " ms after its deadline") +
        "; nothing was done";
    return reply;
  }
  if (request.command == verb::reload) {
    const auto until = deadline_of(request);
    auto answer = context.reload ? context.reload(until, context.keep_waiting)
                                 : reload_answer{"reload is not available", {}};
    reply.error = std::move(answer.error);
    reply.warnings = std::move(answer.warnings);
    reply.notes = std::move(answer.notes);
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
