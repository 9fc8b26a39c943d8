// `vitrine run`: supervise in the foreground, show states, stop on a signal.
//
// Threads: the main thread blocks every signal a user may send (see
// signal_channel.hpp) *before* any other thread starts, so CAF's workers
// and the I/O thread inherit the mask and no signal lands in them. The
// configuration is loaded on a worker thread (interruptible_load.hpp) and
// the tree is added by another (runtime::supervise() blocks until it is),
// while the main thread loops: wait up to 100 ms on the signalfd; when
// runtime::publications() says nothing changed (and no note, resize or
// put-off write is due) go back to waiting, having read one word; else read
// the process states lock-free (only those whose version changed are
// turned into rows) and redraw only what changed. A stop signal starts
// rt.shutdown() on a helper thread while the loop keeps showing the children
// stopping; a second one has every process actor SIGKILL its process group.
// SIGHUP re-reads the file on a helper thread (reload.hpp) and prints what
// changed.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "commands.hpp"
#include "config.hpp"
#include "control_server.hpp"
#include "display.hpp"
#include "fd_limit.hpp"
#include "interruptible_load.hpp"
#include "node_serving.hpp"
#include "queued_output.hpp"
#include "refusal_log.hpp"
#include "reload.hpp"
#include "render.hpp"
#include "run_messages.hpp"
#include "run_state.hpp"
#include "signal_channel.hpp"
#include "status.hpp"
#include "stdout_check.hpp"
#include "stop_runner.hpp"
#include "text_escape.hpp"
#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/fd_reserve.hpp"
#include "vitrine/runtime.hpp"

namespace vitrine::cli {
namespace {

using namespace std::chrono_literals;

/// A second stop signal this soon after the first is the same request
/// delivered twice, not a request to kill.
constexpr auto same_request_window = std::chrono::milliseconds{250};

/// How long the end of a run waits for its last output to be written.
constexpr auto output_drain_limit = std::chrono::milliseconds{1000};

/// The stopper thread's work. The control socket stops taking requests
/// first, but its commands in progress end only once the runtime has shut
/// down (a reload waits for the programs it started): joined last.
void stop_run(control_server& control, runtime& rt, std::atomic<bool>& done) {
  control.begin_stop();
  rt.shutdown();
  control.stop();
  done = true;
}

/// The run once `signals` is set up and the output queued.
int supervise_in_foreground(const run_options& options,
                            const node_serving* serving,
                            signal_channel& signals, parse_result& config) {
  const fd_limit limit = raise_fd_limit();
  if (auto warning = fd_limit_warning(limit, estimate_fds(config.value.tree),
                                      config.value.program_count);
      !warning.empty())
    std::cerr << "vitrine: " << warning << std::endl;
  keep_program_fd_limit(config.value.tree, limit);
  // Taken before any program starts: room for reloads and `vitrine ctl`
  // once the programs hold every other descriptor.
  os::fd_reserve reserve{run_reserve_fds};
  // What runs, for reloads to compare with (the tree itself is moved into
  // the runtime).
  cli::config running_config = config.value;

  display screen{::isatty(STDOUT_FILENO) == 1 && !options.plain,
                 options.json_status};
  if (auto error = screen.status_path_problem(); !error.empty()) {
    std::cerr << "vitrine: --json-status: " << error << "\n";
    return 1;
  }
  std::string dir_error;
  const auto dir = claim_run_state_dir(
      options.state_dir, config.value.tree.name, options.file, dir_error);
  if (!dir) {
    std::cerr << "vitrine: " << dir_error << "\n";
    return 1;
  }

  if (auto error = screen.init_status_file(); !error.empty()) {
    std::cerr << "vitrine: --json-status: " << error << "\n";
    return 1;
  }

  runtime_options rt_options;
  rt_options.subreaper = true;  // reap what escapes a child's process group
  // The top supervisor is the application: when it fails, the run ends
  // (see top_failure_message) instead of the root restarting it.
  rt_options.root_intensity = 0;
  rt_options.status_table_path = dir->file(status_table_leaf);
  // Only vitrine's actors run here, and none blocks a worker: an idle
  // worker need not look for work to steal more than every 10 s.
  rt_options.scheduler_idle_steal = std::chrono::seconds{10};
  if (serving) rt_options.remoting = serving->remoting;
  // Before the runtime: its relay thread reports to it until it is gone.
  refusal_log refusals{STDERR_FILENO};
  runtime rt{rt_options};
  // A node binds first: a refused address starts no program.
  std::string serving_line;
  if (serving) {
    serve_options serve = serving->serve;
    serve.on_refused = [&refusals](std::string_view peer,
                                   std::string_view why) {
      refusals.report(peer, why);
    };
    const auto port = rt.serve(serve);
    serving_line =
        "vitrine node: " + std::to_string(config.value.program_count) +
        (config.value.program_count == 1 ? " program" : " programs") +
        ", serving on " +
        remote_endpoint{serving->serve.bind_address, port}.to_string();
  }
  // supervise() blocks until the whole tree is added: on its own thread, so
  // signals are answered meanwhile.
  supervisor_handle top;
  std::string start_error;
  std::atomic<bool> added{false};
  // `vitrine status` lists in running order, which a reload changes, and
  // so do the live table and the status file (rows, below).
  running_order order;
  run_leaves leaves{*dir, options.file};
  const auto write_order = [&](const cli::config& running) {
    order.set(running.tree);
    if (auto error = leaves.write_order(running.tree); !error.empty())
      std::cerr << "vitrine: " << error << std::endl;
  };
  write_order(running_config);
  const auto status_now =
      [&rt](const std::string& name) -> std::optional<core::process_status> {
    const auto handle = rt.find(name);
    if (!handle) return std::nullopt;
    return handle.read()->status;
  };
  std::atomic<bool> stop_requested{false};
  reload_runner reloads{
      options.file,
      limit,
      write_order,
      status_now,
      [&] { return stop_requested.load(std::memory_order_acquire); },
      &reserve};
  // `vitrine ctl` / `vitrine reload` (its own threads). A reload request
  // runs on the connection's thread, serialized with SIGHUP reloads; the
  // loop prints its summary like theirs. Like a SIGHUP, one that comes
  // while the programs are being added waits until they are.
  // A ctl naming a program not added yet waits for it too.
  const auto until_added =
      [&](std::chrono::steady_clock::time_point until,
          const std::function<bool()>& keep_waiting) -> std::string {
    while (!added.load(std::memory_order_acquire)) {  // (4) with (1)
      if (stop_requested.load(std::memory_order_acquire) || !keep_waiting())
        return "the run is stopping";
      if (std::chrono::steady_clock::now() >= until)
        return "the programs are still being added (--timeout S waits "
               "longer)";
      std::this_thread::sleep_for(20ms);
    }
    return {};
  };
  control_server::options control_options;
  control_options.until_added = until_added;
  control_options.reserve = &reserve;
  // `config`, `order` or the status table removed while the run lives:
  // written again at once (the socket puts itself back).
  control_options.on_removed = [&](std::string_view leaf) {
    if (leaf == status_table_leaf) return rt.check_status_table();
    if (leaf != config_leaf && leaf != order_leaf) return;
    const os::fd_reserve::use room{reserve};
    if (auto error = leaves.put_back(leaf); !error.empty())
      std::cerr << "vitrine: " << error << std::endl;
  };
  control_server control{
      dir->file(control_socket_leaf), rt,
      [&](std::chrono::steady_clock::time_point until,
          const std::function<bool()>& keep_waiting) -> reload_answer {
        if (auto why = until_added(until, keep_waiting); !why.empty())
          return {why + ": nothing was reloaded", {}};
        // A stop signal during the wait ends the adding too: not applied
        // once the run is stopping, even if the tree was added meanwhile.
        if (stop_requested.load(std::memory_order_acquire))
          return {"the run is stopping: nothing was reloaded", {}};
        if (!top) return {"no program runs: nothing to reload", {}};
        auto report = reloads.reload_now(top, running_config);
        // A rejected file's warnings are in errors(), in the file's order.
        if (report.rejected()) return {report.errors(), {}};
        return {report.errors(), std::move(report.warnings), report.summary()};
      },
      control_options};
  const auto add_tree = [&] {
    try {
      top = rt.supervise(std::move(config.value.tree));
    } catch (const spec_error& e) {
      for (const auto& p : e.problems())
        start_error += options.file + ": " + p.field + ": " + p.message + "\n";
    } catch (const std::exception& e) {
      // A stop that came before the tree was added: not an error.
      if (!stop_requested.load(std::memory_order_acquire))
        start_error = std::string{"vitrine: "} + e.what() + "\n";
    }
    added.store(true, std::memory_order_release);  // (1) pairs with (3), (4)
  };
  std::thread starter;
  try {
    starter = std::thread{add_tree};
  } catch (const std::system_error& e) {
    std::cerr << "vitrine: could not start a thread to add the programs ("
              << e.code().message()
              << ": out of processes or threads: ulimit -u, or a pids cgroup "
                 "limit): nothing was started"
              << std::endl;
    return 1;
  }

  const auto adding = std::chrono::steady_clock::now();
  bool announced = false;
  row_cache rows;
  rows.follow(order);
  std::atomic<bool> stopped{false};
  stop_runner stopper{[&] { stop_run(control, rt, stopped); }};
  const auto note = [&screen](const std::string& line) { screen.note(line); };
  std::chrono::steady_clock::time_point first_stop_at;
  bool top_failed = false;
  bool idle = false;  // the last tick found nothing to show and armed
  std::size_t table_missing = 0;  // names the status table lacked, as said
  // Brings the rows up to date and shows what changed; the last update
  // reads every state: the final rows and status file.
  const auto show_states = [&](bool last) {
    const auto now = clock_pair::now();
    if (last)
      rows.refresh(rt, now, ~std::size_t{0});
    else
      rows.refresh(rt, now);
    screen.update(rows, supervisors_of(rt), now, last);
  };
  for (;;) {
    // Idle, the loop sleeps until a change is published or a signal comes;
    // the live table also wakes it once a second (its uptimes). A reload
    // in progress or a put-off status write is not idle: those poll.
    // A node's refusal log sums up a burst a second after its last line
    // (its wake fd says when a refusal was left out of the log).
    const auto summary = refusals.summary_due_in();
    const int sig =
        idle ? signals.wait(signal_channel::sooner(screen.idle_wait(), summary),
                            {rt.publication_fd(), reloads.output_fd(),
                             refusals.wake_fd()})
             : signals.wait(signal_channel::sooner(screen.wait_time(), summary),
                            {reloads.output_fd(), refusals.wake_fd()});
    refusals.flush();
    idle = false;
    if (sig) {
      const std::string name{core::signal_name(sig)};
      const auto action = action_for(sig);
      if (action == signal_action::stop && !stopper.begun()) {
        screen.note("received " + name + ": stopping every program (" + name +
                    " again kills them)");
        // A SIGHUP that waited for the programs to be added (not said
        // before: an outside tester).
        if (reloads.requested())
          screen.note("reload: not done, the run is stopping");
        // Now, not once the control socket is closed: no program is
        // spawned after the note (docs/cli.md).
        rt.begin_shutdown();
        first_stop_at = std::chrono::steady_clock::now();
        // Not waiting for supervise(): shutdown() cancels a start in
        // progress (a program in its startsecs), and supervise() returns.
        stop_requested.store(true, std::memory_order_release);
        stopper.begin(note);
      } else if (action == signal_action::stop &&
                 std::chrono::steady_clock::now() - first_stop_at <
                     same_request_window) {
        // timeout(1) and `kill -TERM pid -pgid` deliver one request twice
        // at once; a person asking again takes longer than this.
        screen.note("received " + name +
                    " again at once: taken as the same request");
      } else if (action == signal_action::stop) {
        screen.note("received " + name + " again: killing every program");
        // Through each owning actor, which signals only a child it has not
        // reaped yet (a pid from a row could be reused by then), and stops
        // it: the exit is no crash to restart. The programs added so far,
        // while supervise() may still be adding.
        rt.for_each([](const process_handle& h) { h.kill(); });
      } else if (action == signal_action::redraw) {
        screen.invalidate();
      } else if (action == signal_action::reload && stopper.begun()) {
        screen.note("received " + name + ": ignored, the run is stopping");
      } else if (action == signal_action::reload) {
        screen.note("received " + name + ": reloading " + options.file);
        reloads.request();
      } else if (action != signal_action::ignore) {
        screen.note(describe_signal(sig));
      }
    }
    report_table_gap(rt, table_missing);
    if (auto line = leaves.retry_order(); !line.empty()) screen.note(line);
    if (!stopper.begun() && added.load(std::memory_order_acquire) && top)
      if (auto failure = top_failure_message(*top.read()); !failure.empty()) {
        std::cerr << failure << std::endl;
        top_failed = true;
        rt.begin_shutdown();
        stopper.begin(note);
      }
    // While the tree is being added (a start can wait on startsecs and
    // retries for long), its transitions are shown as they come: a late
    // first look would find the oldest ones gone from the histories.
    const bool tree_added = added.load(std::memory_order_acquire);  // (3)
    const bool done = tree_added && stopped.load();
    if (!tree_added) {
      if (!announced && std::chrono::steady_clock::now() - adding > 1s) {
        announced = true;
        const auto count = config.value.program_count;
        std::cerr << "vitrine: still adding " << count
                  << (count == 1 ? " program" : " programs")
                  << " to the runtime" << std::endl;
      }
    } else {
      if (!start_error.empty()) break;
      if (!serving_line.empty()) {  // once, when the tree is added
        std::cout << serving_line << std::endl;
        serving_line.clear();
      }
      if (!stopper.begun()) reloads.start_if_requested(top, running_config);
      if (auto reloaded = reloads.take_output();
          !reloaded.notes.empty() || !reloaded.errors.empty()) {
        // The reload's transitions (the old children stopping, the new
        // ones starting) happened before its summary: shown first, in time
        // order.
        show_states(false);
        for (const auto& line : reloaded.errors) std::cerr << line << "\n";
        for (const auto& line : reloaded.notes) screen.note(line);
      }
    }
    // An idle tick reads one word and goes back to waiting: nothing was
    // published since the rows were last brought up to date, and nothing
    // else is due. Not while adding, stopping or reloading: what ends those
    // (the starter's and the stopper's flags, a reload's output) is not a
    // publication.
    if (const auto seen = rt.publications();
        !done && rows.up_to_date(seen) &&
        !screen.due(std::chrono::steady_clock::now())) {
      idle = tree_added && !stopper.begun() && !reloads.busy() &&
             !leaves.order_stale() && rt.arm_publication_fd(seen);
      continue;
    }
    show_states(done);
    if (done) break;
  }
  starter.join();
  stopper.join();
  reloads.join();
  if (!start_error.empty()) {
    std::cerr << start_error;
    return 1;
  }
  return top_failed ? exit_top_supervisor_failed : 0;
}

}  // namespace

int run_command(const run_options& given, const node_serving* serving) {
  // The file by its absolute path: a reload (from a client in another
  // directory too) names the file it reads without doubt.
  run_options options = given;
  std::error_code absolute_error;
  if (auto path = std::filesystem::absolute(given.file, absolute_error);
      !absolute_error)
    options.file = path.lexically_normal().string();
  signal_channel signals;  // first: every thread started later inherits it
  if (!signals.ok()) {
    std::cerr << "vitrine: signalfd failed\n";
    return 1;
  }
  // The first load by the path as given: its problems read as `vitrine
  // check FILE` prints them.
  auto config = load_config_interruptibly(given.file, signals, [](int sig) {
    if (const auto action = action_for(sig);
        action == signal_action::log || action == signal_action::resumed)
      std::cerr << "vitrine: " << describe_signal(sig) << std::endl;
    else if (action == signal_action::reload)
      std::cerr << "vitrine: received SIGHUP: ignored, the file is being "
                   "loaded"
                << std::endl;
  });
  print_problems(config, std::cerr);
  if (!config.ok()) {
    std::cerr << "vitrine: nothing was started" << std::endl;
    return 1;
  }

  // From here, written by threads of its own (after `signals`, so they
  // inherit its mask): an unread terminal or pipe cannot hold the loop
  // that acts on signals. (The load above may end in _Exit(), which would
  // lose what is queued: a stop signal while loading.)
  queued_output output;
  const int code = supervise_in_foreground(options, serving, signals, config);
  // Not drained: what was left is lost, unsaid (saying so would block on
  // the same unread stream).
  const auto written = output.finish(output_drain_limit);
  if (written.stdout_error != 0 &&
      report_stdout_error("run", written.stdout_error) ==
          stdout_state::failed &&
      code == 0)
    return 1;
  return code;
}

}  // namespace vitrine::cli
