// Two callers adding the same name at once: runtime::supervise() (through
// the root) and supervisor_handle::add_child() (through another supervisor)
// are not serialized with each other, so both may find the name free and
// race to register it. Exactly one wins; the other is refused by name
// (supervise: spec_error; add_child: name_taken), the loser's actor is
// freed (the ASan build's leak check sees it otherwise), and the status
// table keeps the winner's state, not the loser's never-started one.
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "bad_input_support.hpp"
#include "test_support.hpp"
#include "vitrine/status_reader.hpp"

using namespace vitrine;
using namespace vitrine::test;
using core::process_status;

TEST_CASE(
    "supervise and add_child racing for one name: one wins, the other is "
    "refused by name, and the table shows the winner",
    "[reliability][bad-input]") {
  leak_checker leaks;
  temp_dir dir;
  const std::string table = dir.file("status");
  auto options = patient_root();
  options.status_table_path = table;
  runtime rt{options};
  status_reader reader{table};
  supervisor_spec group_spec;
  group_spec.name = "group";
  auto group = rt.supervise(group_spec);

  constexpr int rounds = 60;
  int supervise_won = 0;
  int add_child_won = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string name = "contested-" + std::to_string(round);
    child_change change;
    std::thread rival{[&] {
      change = group.add_child(sleeper(name));
      change.wait_for(patience);
    }};
    bool won = false;
    std::string refusal;
    std::string other_error;  // any other exception: a failure
    try {
      won = static_cast<bool>(rt.supervise(sleeper(name)));
    } catch (const spec_error& e) {
      refusal = e.what();
    } catch (const std::exception& e) {
      other_error = e.what();
    }
    rival.join();
    CHECK(other_error == "");
    if (!won && other_error.empty())
      CHECK_THAT(refusal, Catch::Matchers::Contains("'" + name + "'"));
    const bool rival_won = change.outcome() == change_outcome::done;
    INFO("round " << round << ": add_child " << to_string(change.outcome())
                  << " " << change.error());
    REQUIRE(won != rival_won);
    if (!rival_won) CHECK(change.outcome() == change_outcome::name_taken);
    (won ? supervise_won : add_child_won) += 1;

    auto winner = rt.find(name);
    REQUIRE(reaches(winner, process_status::running));
    const auto pid = winner.read()->pid;
    CHECK(eventually([&] {
      status_slot slot;
      return reader.find(name, slot) == status_error::none &&
             status_name(slot) == "running" && slot.pid == pid;
    }));
  }
  INFO("supervise won " << supervise_won << ", add_child " << add_child_won);
  CHECK(supervise_won + add_child_won == rounds);
  CHECK(rt.processes().size() == static_cast<std::size_t>(rounds));
}
