#include "vitrine/core/process_state.hpp"

#include <catch2/catch.hpp>

using namespace vitrine::core;

TEST_CASE("every process status has a distinct lowercase name",
          "[process_state]") {
  CHECK(to_string(process_status::stopped) == "stopped");
  CHECK(to_string(process_status::starting) == "starting");
  CHECK(to_string(process_status::running) == "running");
  CHECK(to_string(process_status::backoff) == "backoff");
  CHECK(to_string(process_status::stopping) == "stopping");
  CHECK(to_string(process_status::exited) == "exited");
  CHECK(to_string(process_status::failed) == "failed");
  CHECK(to_string(process_status::unknown) == "unknown");  // remote mirrors
}

TEST_CASE("a copied state shares its name and error text", "[process_state]") {
  process_state a;
  a.name_storage = std::make_shared<const std::string>("web");
  a.spawn_error_storage =
      std::make_shared<const std::string>("exec /nope: No such file");
  process_state b = a;
  b.version = a.version + 1;
  CHECK(b.name() == "web");
  CHECK(b.name().data() == a.name().data());
  CHECK(b.spawn_error() == "exec /nope: No such file");
  CHECK_FALSE(b.has_child());
  CHECK(process_state{}.name().empty());
}
