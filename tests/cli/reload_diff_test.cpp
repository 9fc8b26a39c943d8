// The difference a reload applies (cli/reload.hpp), as a unit: by name
// (added, removed, changed in any field, unchanged, reordered) and the top
// supervisor's settings, a derived intensity apart.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "reload.hpp"

TEST_CASE("the difference between two configs, by name", "[cli][reload]") {
  using namespace vitrine;
  auto proc = [](std::string name, std::string arg) {
    process_spec p;
    p.name = std::move(name);
    p.launch.argv = {"sleep", std::move(arg)};
    return p;
  };
  cli::config a, b;
  a.tree.name = b.tree.name = "main";
  a.tree.children = {proc("x", "1"), proc("y", "1"), proc("z", "1")};
  b.tree.children = {proc("y", "2"), proc("x", "1"), proc("w", "1")};
  auto diff = cli::diff_configs(a, b);
  CHECK(diff.added == std::vector<std::string>{"w"});
  CHECK(diff.removed == std::vector<std::string>{"z"});
  CHECK(diff.changed == std::vector<std::string>{"y"});
  CHECK(diff.unchanged == std::vector<std::string>{"x"});
  CHECK_FALSE(diff.top_settings_changed);
  CHECK_FALSE(diff.reordered);

  // Any field counts, e.g. the environment or the stop signal.
  auto c = a;
  std::get<process_spec>(c.tree.children[0]).launch.env.push_back({"K", "V"});
  std::get<process_spec>(c.tree.children[1]).stop_signal = SIGINT;
  c.tree.intensity = a.tree.intensity + 1;
  std::swap(c.tree.children[1], c.tree.children[2]);  // y (changed) and z
  diff = cli::diff_configs(a, c);
  CHECK(diff.changed == std::vector<std::string>{"x", "y"});
  CHECK(diff.unchanged == std::vector<std::string>{"z"});
  CHECK(diff.top_settings_changed);
  CHECK_FALSE(diff.reordered);

  auto d = a;
  std::swap(d.tree.children[0], d.tree.children[2]);
  CHECK(cli::diff_configs(a, d).reordered);

  // A reload runs an added program last: x, z, y runs for a file that says
  // x, y, z. Reloading that file unchanged is no reorder; moving x is.
  auto added_last = a;
  added_last.tree.children = {proc("x", "1"), proc("z", "1"), proc("y", "1")};
  added_last.written_order = {"x", "y", "z"};
  CHECK_FALSE(cli::diff_configs(added_last, a).reordered);
  auto moved = a;
  std::swap(moved.tree.children[0], moved.tree.children[1]);  // y, x, z
  CHECK(cli::diff_configs(added_last, moved).reordered);
  // A file rewritten in the running order asks for no new order, though
  // it differs from the previous file (it used to say "reordered").
  auto as_running = a;
  as_running.tree.children = added_last.tree.children;  // x, z, y
  CHECK_FALSE(cli::diff_configs(added_last, as_running).reordered);
}

TEST_CASE("a derived top intensity is not a setting the user changed",
          "[cli][reload]") {
  using namespace vitrine;
  cli::config running, next;
  running.intensity_derived = running.period_derived = true;
  next.intensity_derived = next.period_derived = true;
  running.tree.intensity = 10;
  next.tree.intensity = 205;  // a program with a burst of 100 was added
  auto diff = cli::diff_configs(running, next);
  CHECK_FALSE(diff.top_settings_changed);
  // The new derived limit is applied, before the additions.
  CHECK(diff.derived_limit_changed);
  CHECK(diff.derived_limit_more_lenient);
  CHECK(diff.derived_intensity == 205);

  SECTION("a stricter derived limit is applied after the changes") {
    std::swap(running.tree.intensity, next.tree.intensity);
    diff = cli::diff_configs(running, next);
    CHECK(diff.derived_limit_changed);
    CHECK_FALSE(diff.derived_limit_more_lenient);
    CHECK(diff.derived_intensity == 10);
  }
  SECTION("the same derived limit is no news") {
    next.tree.intensity = running.tree.intensity;
    CHECK_FALSE(cli::diff_configs(running, next).derived_limit_changed);
  }
  SECTION("it follows the programs when other top settings change too") {
    // A new top name is not applied; the limit still follows the programs
    // (else a crash-looping program added meanwhile failed the whole run).
    next.tree.name = "renamed";
    diff = cli::diff_configs(running, next);
    CHECK(diff.top_settings_changed);
    CHECK(diff.derived_limit_changed);
    CHECK(diff.derived_limit_more_lenient);
    CHECK(diff.derived_intensity == 205);
  }
  SECTION("writing an intensity that was derived is a change") {
    next.intensity_derived = false;
    next.tree.intensity = running.tree.intensity;
    diff = cli::diff_configs(running, next);
    CHECK(diff.top_settings_changed);
    CHECK_FALSE(diff.derived_limit_changed);
  }
}

TEST_CASE(
    "a program moved between the top and a group, or between groups, "
    "is reported as moved",
    "[cli][reload]") {
  using namespace vitrine;
  auto proc = [](std::string name) {
    process_spec p;
    p.name = std::move(name);
    p.launch.argv = {"sleep", "1"};
    return p;
  };
  auto group = [](std::string name, std::vector<child_spec> children) {
    supervisor_spec g;
    g.name = std::move(name);
    g.children = std::move(children);
    return g;
  };
  cli::config flat, grouped;
  flat.tree.name = grouped.tree.name = "main";
  flat.tree.children = {proc("p"), group("g", {proc("a")}), proc("q")};
  grouped.tree.children = {group("g", {proc("a"), group("inner", {proc("p")})}),
                           proc("q")};

  auto diff = cli::diff_configs(flat, grouped);
  CHECK(diff.removed == std::vector<std::string>{"p"});
  CHECK(diff.changed == std::vector<std::string>{"g"});
  CHECK(diff.moved == std::vector<std::string>{"p into g"});
  cli::reload_report report;
  report.diff = diff;
  const auto lines = report.summary();
  CHECK(std::find(lines.begin(), lines.end(),
                  "reload: moved 1 (p into g): stopped where it was and "
                  "started again in its new place (a new pid)") != lines.end());

  diff = cli::diff_configs(grouped, flat);
  CHECK(diff.added == std::vector<std::string>{"p"});
  CHECK(diff.moved == std::vector<std::string>{"p out of g"});

  // Removed for good, or added fresh: not moved.
  cli::config without_p = flat;
  without_p.tree.children.erase(without_p.tree.children.begin());
  CHECK(cli::diff_configs(flat, without_p).moved.empty());
  CHECK(cli::diff_configs(without_p, flat).moved.empty());

  // A group that became a program of its name is no move; a program that
  // went from one group into another is (both groups restart).
  cli::config two_groups, regrouped;
  two_groups.tree.name = regrouped.tree.name = "main";
  two_groups.tree.children = {group("y", {proc("y1")}), proc("q")};
  regrouped.tree.children = {group("x", {proc("y"), proc("y1")}), proc("q")};
  diff = cli::diff_configs(two_groups, regrouped);
  CHECK(diff.removed == std::vector<std::string>{"y"});
  CHECK(diff.added == std::vector<std::string>{"x"});
  CHECK(diff.moved == std::vector<std::string>{"y1 from y into x"});
}
