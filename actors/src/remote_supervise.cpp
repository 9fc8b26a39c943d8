// node_handle::supervise(): a controller's spec, supervised by the node
// under its root (remote_spec.hpp has the wire form and the protocol).
#include <caf/all.hpp>

#include <algorithm>
#include <stdexcept>

#include "host_thread_scope.hpp"
#include "remote_node.hpp"
#include "remote_spec.hpp"
#include "runtime_access.hpp"

namespace vitrine {
namespace {

std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

process_handle node_handle::supervise(const process_spec& spec) const {
  if (!shared_)
    throw std::runtime_error("vitrine: supervise() on an empty node_handle");
  detail::wire_spec wire;
  if (auto refused = detail::spec_to_wire(spec, wire); !refused.empty())
    throw spec_error(std::move(refused));
  auto& shared = *shared_;
  const std::string node = "vitrine: node " + shared.endpoint.to_string();
  const auto timeout = shared.options.command_timeout;
  // The node answers once the process left `starting` (as a local
  // supervise() returns): its startsecs on top of the round trip.
  const auto deadline = clock::now() + timeout +
                        std::max(spec.startsecs, process_spec::duration{0});
  if (shared.status() == node_status::closed)
    throw std::runtime_error(node + ": the node_handle is closed");
  if (!shared.wait_for(node_status::connected, clock::now() + timeout))
    throw std::runtime_error(node + " unreachable (" +
                             std::string{to_string(shared.status())} + " for " +
                             ms_text(timeout) + ")");
  caf::actor server;
  {
    std::lock_guard lock{shared.actor_mutex};
    server = shared.server;
  }
  if (!server)
    throw std::runtime_error(node + " unreachable (" +
                             std::string{to_string(shared.status())} + ")");

  auto& system = caf::actor_cast<caf::abstract_actor*>(server)->home_system();
  std::vector<spec_problem> problems;
  std::string failure;
  {
    const detail::host_thread_scope on_return;
    caf::scoped_actor self{system};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock::now());
    self->request(server, std::max(left, std::chrono::milliseconds{1}),
                  detail::r_sup_atom::value, std::move(wire))
        .receive(
            [&](std::vector<std::string>& fields,
                std::vector<std::string>& messages, std::string& why) {
              for (std::size_t i = 0; i < fields.size() && i < messages.size();
                   ++i)
                problems.push_back(
                    {std::move(fields[i]), std::move(messages[i])});
              failure = std::move(why);
            },
            [&](caf::error& e) {
              failure = e == caf::sec::request_timeout
                            ? "no answer within " + ms_text(left)
                            : system.render(e);
            });
  }
  if (!problems.empty()) throw spec_error(std::move(problems));
  if (!failure.empty()) {
    // A timeout that the node's loss explains says so (an outside tester
    // read only "no answer within 4999 ms" of a node SIGKILLed at once).
    if (const auto now = shared.status(); now != node_status::connected) {
      const std::string why = shared.attempt_error();
      failure += "; the node is " + std::string{to_string(now)} +
                 (why.empty() ? "" : " (" + why + ")") +
                 ", so it may or may not have added it";
    }
    throw std::runtime_error(node + " did not supervise '" + spec.name +
                             "': " + failure);
  }
  // The node pushed the new state before it replied; the mirror applies it
  // on its own thread.
  std::shared_ptr<detail::process_record> record;
  shared.wait_until(
      [&] {
        return (record = shared.registry.find_shared(spec.name)) != nullptr;
      },
      std::max(deadline, clock::now() + timeout));
  if (!record)
    throw std::runtime_error(node + " supervises '" + spec.name +
                             "' but its mirror did not show it in time");
  return detail::runtime_access::make_handle(std::move(record),
                                             read_policy::hybrid());
}

}  // namespace vitrine
