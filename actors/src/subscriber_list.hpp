// subscriber_list: the actors a state's owner sends every new state to (a
// process actor, a supervisor, a node mirror). A set kept in subscription
// order: subscribing an actor again changes nothing, so it receives each
// state once, and one unsubscribe ends its subscription.
//
// Threads: the owning actor only. Cost: a linear search per subscribe and
// unsubscribe (lists hold a few actors); iterating is a vector's.
#pragma once

#include <caf/actor.hpp>

#include <algorithm>
#include <vector>

namespace vitrine::detail {

class subscriber_list {
 public:
  void add(caf::actor who) {
    if (std::find(actors_.begin(), actors_.end(), who) == actors_.end())
      actors_.push_back(std::move(who));
  }
  void remove(const caf::actor& who) { std::erase(actors_, who); }
  void clear() noexcept { actors_.clear(); }
  bool empty() const noexcept { return actors_.empty(); }
  auto begin() const noexcept { return actors_.begin(); }
  auto end() const noexcept { return actors_.end(); }

 private:
  std::vector<caf::actor> actors_;
};

}  // namespace vitrine::detail
