#include "otp_support.hpp"

#include <sstream>

namespace vitrine::test {

namespace {

/// Running once it wrote its start line: readiness on fd 3 (startsecs only
/// as a fallback), so the order of the lines is the order of `running`.
process_spec ready_when_logged(process_spec spec) {
  spec.launch.notify_fd = 3;
  spec.startsecs = 30'000ms;
  return spec;
}

}  // namespace

process_spec event_log::child(const std::string& name) const {
  return ready_when_logged(
      sh(name, "trap 'echo stop " + name + " >> " + path_ +
                   "; exit 0' TERM; echo start " + name + " >> " + path_ +
                   "; echo >&3; exec 3>&-; sleep 1000 & wait"));
}

process_spec event_log::crasher(const std::string& name,
                                const std::string& trigger, int code) const {
  return ready_when_logged(
      sh(name, "trap 'echo stop " + name + " >> " + path_ +
                   "; exit 0' TERM; echo start " + name + " >> " + path_ +
                   "; echo >&3; exec 3>&-; while :; do if [ -e " + trigger +
                   " ]; then rm -f " + trigger + "; exit " +
                   std::to_string(code) + "; fi; sleep 0.02; done"));
}

process_spec event_log::lingerer(const std::string& name, ms linger,
                                 const std::string& on_stop) const {
  const std::string touch = on_stop.empty() ? "" : "touch " + on_stop + "; ";
  const std::string seconds =
      std::to_string(linger.count() / 1000) + "." +
      std::to_string(linger.count() % 1000 + 1000).substr(1);
  auto spec = ready_when_logged(
      sh(name, "trap 'echo stop " + name + " >> " + path_ + "; " + touch +
                   "sleep " + seconds + "; echo gone " + name + " >> " + path_ +
                   "; exit 0' TERM; echo start " + name + " >> " + path_ +
                   "; echo >&3; exec 3>&-; sleep 1000 & wait"));
  spec.stop_timeout = 10'000ms;  // the linger is part of a graceful stop
  return spec;
}

std::vector<std::string> event_log::lines() const {
  std::vector<std::string> out;
  std::istringstream in{read_file(path_)};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> event_log::lines_after(std::size_t skip) const {
  auto all = lines();
  if (skip >= all.size()) return {};
  return {all.begin() + static_cast<std::ptrdiff_t>(skip), all.end()};
}

bool event_log::holds(std::size_t n, ms limit) const {
  const bool ok = eventually([&] { return lines().size() >= n; }, limit);
  if (!ok) UNSCOPED_INFO("log: " << read_file(path_));
  return ok;
}

supervisor_spec tree(std::string name, restart_strategy strategy,
                     std::vector<child_spec> children) {
  supervisor_spec spec;
  spec.name = std::move(name);
  spec.strategy = strategy;
  spec.intensity = 10;
  spec.period = 30'000ms;
  spec.children = std::move(children);
  return spec;
}

runtime_options final_root() {
  runtime_options o;
  o.root_intensity = 0;
  return o;
}

clock::time_point last_time_of(const process_handle& h,
                               core::process_status status) {
  clock::time_point at{};
  for (const auto& t : history_of(h))
    if (t.status == status) at = t.at;
  return at;
}

}  // namespace vitrine::test
