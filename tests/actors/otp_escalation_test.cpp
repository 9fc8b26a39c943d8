// OTP conformance: intensity, escalation to the parent, the root's own
// intensity, a failed top supervisor (reason, wait, subscription), and what
// does not count (temporary exits, manual restarts).
#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>

#include "otp_support.hpp"
#include "vitrine/messages.hpp"

using namespace vitrine;
using namespace vitrine::test;

namespace {

/// What a subscribed actor received, shared with the test thread.
struct received {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<core::supervisor_state> states;

  bool wait_for_failed(ms limit = patience) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, limit, [&] {
      return !states.empty() &&
             states.back().status == supervisor_status::failed;
    });
  }
};

caf::behavior supervisor_recorder(caf::event_based_actor*,
                                  std::shared_ptr<received> log) {
  return {[log](supervisor_changed_atom, const core::supervisor_state& s) {
    std::lock_guard lock{log->mutex};
    log->states.push_back(s);
    log->changed.notify_all();
  }};
}

bool fails(const supervisor_handle& sup) {
  return sup.wait_for_status(supervisor_status::failed, in(patience));
}

}  // namespace

TEST_CASE(
    "intensity 0: the first restart wanted fails the supervisor, "
    "whose reason names the child and its exit",
    "[otp][intensity]") {
  leak_checker leaks;
  runtime rt{final_root()};
  auto spec = tree("brittle", restart_strategy::one_for_one,
                   {sh("once", "exit 3"), sh("bystander", "exec sleep 1000")});
  spec.intensity = 0;
  spec.period = 4000ms;
  auto sup = rt.supervise(spec);
  REQUIRE(fails(sup));
  auto s = sup.read();
  CHECK(s->restarts == 0);
  REQUIRE(s->last_failure);
  CHECK(s->last_failure->child == "once");
  CHECK(s->last_failure->exit == "exit 3");
  CHECK(s->last_failure->restarts_in_window == 1);
  CHECK(s->last_failure->intensity == 0);
  CHECK(s->last_failure->period == 4000ms);
  CHECK(s->last_failure->describe() ==
        "child 'once' (exit 3): not restarted, intensity 0 allows no "
        "restart");
  CHECK(reaches(rt.find("bystander"), process_status::stopped));
  // The history shows the way there: it stopped its children, then failed.
  // (The view may already be newer than the failure: the root, with
  // intensity 0 here, then shuts the failed tree down too.)
  REQUIRE(s->history);
  const auto& h = *s->history;
  const auto failed_at = std::find_if(h.begin(), h.end(), [](const auto& t) {
    return t.status == supervisor_status::failed;
  });
  REQUIRE(failed_at != h.end());
  REQUIRE(failed_at - h.begin() >= 3);
  CHECK(std::prev(failed_at)->status == supervisor_status::shutting_down);
  // Said once: not again when the stop that the failure queued begins.
  CHECK(std::prev(failed_at, 2)->status != supervisor_status::shutting_down);
}

TEST_CASE(
    "escalation through two levels: a failed supervisor is restarted "
    "by its parent per the parent's intensity, then the top fails",
    "[otp][escalation]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto mid = tree("mid", restart_strategy::one_for_one, {log.child("leaf")});
  mid.intensity = 0;
  auto top =
      tree("top", restart_strategy::one_for_one, {mid, log.child("witness")});
  top.intensity = 1;
  auto sup = rt.supervise(top);
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto leaf = rt.find("leaf");
  auto witness = rt.find("witness");
  auto mid_h = rt.find_supervisor("mid");
  REQUIRE(mid_h);
  const pid_t witness_pid = witness.read()->pid;

  REQUIRE(leaf.signal(SIGKILL));  // mid fails; top restarts it (1 of 1)
  REQUIRE(sup.wait_until([](const auto& s) { return s.restarts == 1; },
                         in(patience)));
  REQUIRE(reaches_when(leaf, [](const auto& s) {
    return s.status == process_status::running && s.pid != 0;
  }));
  CHECK(mid_h.read()->last_failure);
  CHECK(witness.read()->pid == witness_pid);  // one_for_one at the top

  const pid_t second = leaf.read()->pid;
  REQUIRE(leaf.signal(SIGKILL));  // mid fails again: top exceeds 1
  REQUIRE(fails(sup));
  auto s = sup.read();
  REQUIRE(s->last_failure);
  CHECK(s->last_failure->child == "mid");
  CHECK(s->last_failure->exit.find("child 'leaf' (signal 9 (SIGKILL))") !=
        std::string::npos);
  CHECK(s->last_failure->restarts_in_window == 2);
  CHECK(reaches(witness, process_status::stopped));
  CHECK(all_gone({second, witness_pid}));
  // The root (intensity 0 here) did not restart it: the top stays failed.
  REQUIRE(rt.root().wait_for_status(supervisor_status::failed, in(patience)));
  auto root = rt.root().read();
  REQUIRE(root->last_failure);
  CHECK(root->last_failure->child == "top");
  CHECK(sup.read()->status == supervisor_status::failed);

  SECTION("a start command restarts the failed top and its children in order") {
    const auto before = log.lines().size();
    REQUIRE(
        sup.start().wait_for_status(supervisor_status::running, in(patience)));
    REQUIRE(log.holds(before + 2));
    CHECK(log.lines_after(before) == strings{"start leaf", "start witness"});
    CHECK(leaf.read()->status == process_status::running);
    CHECK(sup.read()->last_failure);  // kept: the last failure
  }
}

TEST_CASE("a failed top supervisor is observable by subscription",
          "[otp][escalation][subscribe]") {
  leak_checker leaks;
  runtime rt{final_root()};
  auto spec = tree("watched", restart_strategy::one_for_one,
                   {sh("crashy", "sleep 0.2; exit 7")});
  spec.intensity = 1;
  auto log = std::make_shared<received>();
  auto subscriber = rt.system().spawn(supervisor_recorder, log);
  auto sup = rt.supervise(spec);
  REQUIRE(sup.subscribe(subscriber));
  REQUIRE(log->wait_for_failed());
  {
    std::lock_guard lock{log->mutex};
    const auto& last = log->states.back();
    REQUIRE(last.last_failure);
    CHECK(last.last_failure->child == "crashy");
    CHECK(last.last_failure->exit == "exit 7");
    for (std::size_t i = 1; i < log->states.size(); ++i)
      CHECK(log->states[i].version == log->states[i - 1].version + 1);
  }
  caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
}

TEST_CASE(
    "the root restarts a failed child supervisor per its own "
    "configured intensity, then fails itself",
    "[otp][escalation][root]") {
  leak_checker leaks;
  runtime_options options;
  options.root_intensity = 2;
  options.root_period = 30'000ms;
  runtime rt{options};
  CHECK(rt.root().read()->child_count == 0);
  auto spec = tree("doomed", restart_strategy::one_for_one,
                   {sh("crash", "sleep 0.05; exit 1")});
  spec.intensity = 0;
  auto sup = rt.supervise(spec);
  CHECK(rt.root().read()->child_count == 1);
  REQUIRE(fails(rt.root()));
  auto root = rt.root().read();
  CHECK(root->restarts == 2);
  REQUIRE(root->last_failure);
  CHECK(root->last_failure->child == "doomed");
  CHECK(root->last_failure->restarts_in_window == 3);
  CHECK(sup.read()->status == supervisor_status::failed);
  CHECK(reaches(rt.find("crash"), process_status::stopped));
}

TEST_CASE(
    "what supervise() adds under a failed root waits for the root's start",
    "[otp][escalation][root]") {
  leak_checker leaks;
  runtime_options options;
  options.root_intensity = 0;
  runtime rt{options};
  auto crash = rt.supervise(sh("crash", "sleep 0.05; exit 1"));
  REQUIRE(fails(rt.root()));
  // Nothing supervises under a failed root: no program starts there.
  auto later = rt.supervise(sh("later", "exec sleep 1000"));
  auto group = rt.supervise(tree("group", restart_strategy::one_for_one,
                                 {sh("member", "exec sleep 1000")}));
  CHECK(later.read()->status == process_status::stopped);
  CHECK(later.read()->pid == 0);
  CHECK(group.read()->status == supervisor_status::stopped);
  CHECK(rt.find("member").read()->status == process_status::stopped);
  CHECK(rt.root().read()->status == supervisor_status::failed);
  CHECK(rt.root().read()->child_count == 3);
  // The root's next start starts them, in order.
  REQUIRE(rt.root().start());
  CHECK(reaches(later, process_status::running));
  CHECK(reaches(rt.find("member"), process_status::running));
}

TEST_CASE(
    "under the default root a crash-looping process fails alone at "
    "its own restart limit; the root keeps running",
    "[otp][escalation][root][limit]") {
  leak_checker leaks;
  runtime rt;
  auto looper = sh("looper", "exit 1");
  looper.restart_limit = {};  // the defaults: 5 in 10 s
  auto h = rt.supervise(looper);
  auto calm = rt.supervise(sh("calm", "exec sleep 1000"));
  REQUIRE(reaches(h, process_status::failed));
  CHECK(h.read()->restart_count == 5);
  CHECK(rt.root().read()->status == supervisor_status::running);
  CHECK(rt.root().read()->restarts == 5);
  CHECK(rt.root().read()->child_count == 2);
  CHECK(calm.read()->status == process_status::running);
}

TEST_CASE("temporary exits never count toward the intensity",
          "[otp][intensity][temporary]") {
  leak_checker leaks;
  runtime rt{final_root()};
  auto once = sh("one-shot", "exit 1");
  once.restart = restart_policy::temporary;
  auto spec = tree("strict", restart_strategy::one_for_all,
                   {once, sh("steady", "exec sleep 1000")});
  spec.intensity = 0;
  auto sup = rt.supervise(spec);
  auto h = rt.find("one-shot");
  REQUIRE(reaches(h, process_status::exited));
  const pid_t steady = rt.find("steady").read()->pid;
  CHECK(rt.find("steady").read()->pid == steady);
  // A stop, applied after every report that reached the supervisor before
  // it, finds it never failed.
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK(sup.read()->restarts == 0);
  CHECK_FALSE(sup.read()->last_failure);
}

TEST_CASE(
    "manual restarts are not counted: a supervisor with intensity 0 "
    "survives them",
    "[otp][intensity][manual]") {
  leak_checker leaks;
  runtime rt{final_root()};
  auto spec =
      tree("strict", restart_strategy::one_for_all,
           {sh("svc", "exec sleep 1000"), sh("dep", "exec sleep 1000")});
  spec.intensity = 0;
  auto sup = rt.supervise(spec);
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  auto svc = rt.find("svc");
  for (int i = 0; i < 3; ++i) {
    const pid_t old = svc.read()->pid;
    REQUIRE(svc.restart().wait_until(
        [old](const auto& s) {
          return s.status == process_status::running && s.pid != old;
        },
        in(patience)));
  }
  REQUIRE(sup.stop().wait_for_status(supervisor_status::stopped, in(patience)));
  CHECK_FALSE(sup.read()->last_failure);
  CHECK(sup.read()->restarts == 0);
  CHECK(svc.read()->restart_count == 0);
}

TEST_CASE(
    "a failed child supervisor is one child exit to its parent's "
    "strategy: rest_for_one stops the later siblings, restarts it, then them",
    "[otp][escalation][rest_for_one]") {
  leak_checker leaks;
  event_log log;
  runtime rt{final_root()};
  auto mid = tree("mid", restart_strategy::one_for_one,
                  {log.child("leaf"), log.child("leaf2")});
  mid.intensity = 0;
  auto sup = rt.supervise(tree("top", restart_strategy::rest_for_one,
                               {log.child("first"), mid, log.child("after")}));
  REQUIRE(sup.wait_for_status(supervisor_status::running, in(patience)));
  REQUIRE(log.holds(4));
  const pid_t first = rt.find("first").read()->pid;

  REQUIRE(rt.find("leaf").signal(SIGKILL));  // mid fails at once
  REQUIRE(log.holds(4 + 5));
  // mid stops its own children (leaf is already down), then the top stops
  // the sibling after mid, starts mid (which starts its children in
  // order), then that sibling.
  CHECK(log.lines_after(4) == strings{"stop leaf2", "stop after", "start leaf",
                                      "start leaf2", "start after"});
  REQUIRE(sup.wait_until(
      [](const auto& s) {
        return s.status == supervisor_status::running && s.restarts == 1;
      },
      in(patience)));
  CHECK(rt.find("first").read()->pid == first);  // before mid: untouched
  auto m = rt.find_supervisor("mid").read();
  CHECK(m->status == supervisor_status::running);
  REQUIRE(m->last_failure);
  CHECK(m->last_failure->child == "leaf");
}

TEST_CASE(
    "a restarted supervisor starts its processes with fresh restart "
    "limits, so a crash loop escalates instead of stranding a failed child",
    "[otp][escalation][limit]") {
  leak_checker leaks;
  runtime rt{final_root()};
  // crashy's own limit (5 restarts in 10 s) would be reached on its 6th
  // crash; the group fails on every 2nd crash (intensity 1) and the top
  // gives up on the group's 3rd failure (intensity 2): the 6th crash.
  auto crashy = sh("crashy", "sleep 0.2; exit 5");
  crashy.restart_limit = {5, 10'000ms};
  auto group = tree("fragile", restart_strategy::one_for_one, {crashy});
  group.intensity = 1;
  group.period = 10'000ms;
  auto top = tree("top", restart_strategy::one_for_one,
                  {sh("steady", "exec sleep 1000"), group});
  top.intensity = 2;
  top.period = 20'000ms;
  auto sup = rt.supervise(top);
  REQUIRE(fails(sup));
  auto s = sup.read();
  REQUIRE(s->last_failure);
  CHECK(s->last_failure->child == "fragile");
  CHECK(s->last_failure->restarts_in_window == 3);
  // Each time the group was restarted, crashy was restarted with it: it
  // never stopped at its own limit.
  CHECK(rt.find("crashy").read()->status != process_status::failed);
}
