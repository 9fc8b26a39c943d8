// The open-file estimate and the limit given back to programs
// (cli/fd_limit.hpp), and the config checks that keep `run` from
// recursing without bound (group nesting), on specs built from TOML.
#include "fd_limit.hpp"

#include <catch2/catch.hpp>

#include "config.hpp"

using namespace vitrine;
using namespace vitrine::cli;

namespace {

parse_result parse(const std::string& text) {
  parse_options options;
  options.semantic_checks = false;
  options.base_dir = "/base";
  return parse_config(text, "t.toml", options);
}

}  // namespace

TEST_CASE("the fd estimate counts pidfds, capture pipes, log files, readiness",
          "[cli][limits]") {
  const auto r = parse(R"(
[[program]]
name = "plain"
command = ["true"]

[[program]]
name = "both"
command = ["true"]
stdout = { capture = "out.log" }
stderr = { capture = "err.log" }
notify_fd = 3

[[group]]
name = "g"
[[group.program]]
name = "shared"
command = ["true"]
stdout = { capture = "one.log" }
stderr = { capture = "one.log" }
)");
  REQUIRE(r.ok());
  // 64 + 32 in reserve + plain 2 + both (2 + 2 + 2 + 1) + shared (2 + 2 +
  // 1).
  CHECK(estimate_fds(r.value.tree) == 64 + 32 + 2 + 7 + 5);
  CHECK(fd_limit_warning({1024, 1024, 1024}, 75, 3).empty());
  const auto warning = fd_limit_warning({50, 70, 70}, 75, 3);
  CHECK(warning.find("3 programs may need up to 75 open files") !=
        std::string::npos);
  CHECK(warning.find("the limit is 70 (the hard limit)") != std::string::npos);
}

TEST_CASE("programs get the open-file limit vitrine was started with",
          "[cli][limits]") {
  auto r = parse(R"(
[[program]]
name = "a"
command = ["true"]
[[group]]
name = "g"
[[group.program]]
name = "b"
command = ["true"]
)");
  REQUIRE(r.ok());
  auto tree = r.value.tree;
  keep_program_fd_limit(tree, {1024, 1024, 4096});  // not raised: no change
  CHECK(std::get<process_spec>(tree.children[0]).launch.rlimits.empty());
  keep_program_fd_limit(tree, {1024, 4096, 4096});
  const auto& a = std::get<process_spec>(tree.children[0]).launch.rlimits;
  const auto& g = std::get<supervisor_spec>(tree.children[1]);
  const auto& b = std::get<process_spec>(g.children[0]).launch.rlimits;
  for (const auto* limits : {&a, &b}) {
    REQUIRE(limits->size() == 1);
    CHECK(limits->front().resource == RLIMIT_NOFILE);
    CHECK(limits->front().soft == 1024);
    CHECK(limits->front().hard == 4096);
  }
}

TEST_CASE("groups nested deeper than 32 levels are one problem, no crash",
          "[cli][limits]") {
  // 100 levels: past 128 the TOML text itself is refused first
  // (toml_prefilter_test.cpp).
  std::string text, header = "group";
  for (int level = 0; level < 100; ++level) {
    text += "[[" + header + "]]\nname = \"g" + std::to_string(level) + "\"\n";
    header += ".group";
  }
  const auto r = parse(text);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message == "groups nest deeper than 32 levels");
  // Named by the first group too deep (before: its `group` key, as if
  // the problem were a group inside it).
  CHECK(r.problems[0].key.ends_with(".group[g32]"));
}
