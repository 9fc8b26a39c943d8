#include "vitrine/baseline/push_mirror.hpp"

#include <caf/all.hpp>

#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "vitrine/baseline/messaging.hpp"
#include "vitrine/messages.hpp"

namespace vitrine::baseline {

pushed_state pushed_state::from(const core::process_state& s) noexcept {
  pushed_state p;
  p.version = s.version;
  p.status = s.status;
  p.pid = s.pid;
  p.restart_count = s.restart_count;
  p.last_exit = s.last_exit;
  p.spawn_errno = s.spawn_errno;
  p.started_at = s.started_at;
  p.ended_at = s.ended_at;
  p.applied_command = s.applied_command;
  return p;
}

namespace {

struct subscriber_state {
  std::unordered_map<caf::actor_addr, std::size_t> index;  // owner -> i
  std::vector<std::uint64_t> versions;  // the newest version written, per i
};

}  // namespace

struct push_mirror::impl {
  caf::actor subscriber;
  std::vector<process_handle> processes;
};

namespace {

// The mirror's subscriber: writes each newer state of process i into
// copies[i]. Versions only grow per process (one owner, FIFO mailbox), but
// the initial reply and the first pushes may arrive in either order.
caf::behavior subscriber(caf::stateful_actor<subscriber_state>* self,
                         state_seqlock* copies,
                         std::atomic<std::uint64_t>* received,
                         std::vector<process_handle> processes) {
  auto apply = [=](std::size_t i, const core::process_state& s) {
    auto& newest = self->state.versions[i];
    if (s.version > newest || newest == 0) {
      newest = s.version;
      copies[i].store(pushed_state::from(s));
    }
    received->fetch_add(1, std::memory_order_release);
  };
  self->state.versions.assign(processes.size(), 0);
  const auto me = caf::actor_cast<caf::actor>(self);
  for (std::size_t i = 0; i < processes.size(); ++i) {
    auto owner = owner_actor(processes[i]);
    if (!owner) continue;
    self->state.index.emplace(owner.address(), i);
    // The subscription goes first: a state published after the reply below
    // is then pushed too.
    processes[i].subscribe(me);
    self->request(owner, caf::infinite, caf::get_atom::value)
        .then([=](const core::process_state& s) { apply(i, s); });
  }
  return {[=](state_changed_atom, const core::process_state& s) {
    const auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
    const auto it = self->state.index.find(from);
    if (it != self->state.index.end()) apply(it->second, s);
  }};
}

}  // namespace

push_mirror::push_mirror(runtime& rt, std::vector<process_handle> processes)
    : count_(processes.size()),
      copies_(std::make_unique<state_seqlock[]>(processes.size())),
      impl_(std::make_unique<impl>()) {
  for (const auto& h : processes)
    if (!h) throw std::invalid_argument("push_mirror: empty process handle");
  impl_->processes = processes;
  impl_->subscriber = rt.system().spawn(subscriber, copies_.get(), &received_,
                                        std::move(processes));
}

push_mirror::~push_mirror() {
  auto& system = impl_->subscriber.home_system();
  for (const auto& h : impl_->processes) h.unsubscribe(impl_->subscriber);
  caf::scoped_actor self{system};
  self->monitor(impl_->subscriber);
  self->send_exit(impl_->subscriber, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
}

bool push_mirror::wait_for_version(
    std::size_t i, std::uint64_t version,
    std::chrono::steady_clock::time_point deadline) const {
  while (read(i).version < version) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace vitrine::baseline
