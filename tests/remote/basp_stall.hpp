// basp_stall: holds back the delivery queue of a CAF 0.17 BASP broker, as a
// BASP worker preempted while it reads a message does on a busy machine: the
// queue hands on what the workers read (and the broker's own clean-up of a
// closed connection) in the order it was numbered, so one number withheld
// holds everything numbered after it. For the remote tests (node_helper and
// the controller's side); any thread while the middleman runs.
#pragma once

#include <cstdint>

namespace caf {
class actor_system;
}  // namespace caf

namespace vitrine::test {

class basp_stall {
 public:
  /// Takes a number of the queue of `system`'s BASP broker.
  explicit basp_stall(caf::actor_system& system);
  /// Releases it, if release() did not.
  ~basp_stall();
  basp_stall(const basp_stall&) = delete;
  basp_stall& operator=(const basp_stall&) = delete;

  /// Gives the number back: what waited behind it is delivered.
  void release();

 private:
  caf::actor_system* system_;
  std::uint64_t withheld_;
  bool released_ = false;
};

}  // namespace vitrine::test
