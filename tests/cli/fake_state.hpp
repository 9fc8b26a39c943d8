// fake_state: a state directory naming a configuration as its run's, as
// `vitrine run --state-dir` leaves it, written by the test itself: tests of
// `vitrine logs` then do not depend on the run side (and may name a
// configuration a run would refuse). Test-only; one thread.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <string>

#include "state_dir.hpp"
#include "support/files.hpp"

namespace vitrine::test {

/// DIR/state, claimed (its lock held) and naming `config`.
struct fake_state {
  explicit fake_state(const temp_dir& dir, const std::string& config)
      : path(dir.file("state")) {
    std::string error;
    claimed = cli::state_dir::claim(path, error);
    INFO(error);
    REQUIRE(claimed);
    std::ofstream{claimed->file(cli::config_leaf)} << config << "\n";
  }
  std::string path;
  std::optional<cli::state_dir> claimed;
};

}  // namespace vitrine::test
