// The wire format's conversions, endpoint parsing and the CAF
// configuration remoting needs.
#include "remote_wire.hpp"

#include <caf/io/all.hpp>

#include <charconv>

#include "option_checks.hpp"
#include "remote_spec.hpp"
#include "remote_tls.hpp"
#include "vitrine/remote.hpp"

namespace vitrine {
namespace detail {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t to_ns(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

/// A node time rebased on this clock: the same distance from "now".
steady::time_point rebase(std::int64_t t_ns, std::int64_t node_now_ns,
                          steady::time_point local_now) {
  if (t_ns == 0) return {};
  return local_now - std::chrono::nanoseconds{node_now_ns - t_ns};
}

}  // namespace

wire_state to_wire(const core::process_state& s) {
  wire_state w;
  w.name = std::string{s.name()};
  w.version = s.version;
  w.status = static_cast<std::uint8_t>(s.status);
  w.pid = static_cast<std::int32_t>(s.pid);
  w.restart_count = s.restart_count;
  w.exit_how = static_cast<std::uint8_t>(s.last_exit.how);
  w.exit_value = s.last_exit.value;
  w.exit_core_dumped = s.last_exit.core_dumped;
  w.spawn_errno = s.spawn_errno;
  w.started_ns = to_ns(s.started_at);
  w.ended_ns = to_ns(s.ended_at);
  w.node_now_ns = to_ns(steady::now());
  w.applied_command = s.applied_command;
  w.spawn_error = std::string{s.spawn_error()};
  return w;
}

core::process_state from_wire(const wire_state& w,
                              std::shared_ptr<const std::string> name) {
  using core::process_status;
  using core::termination;
  core::process_state s;
  s.version = w.version;
  s.status = w.status <= static_cast<std::uint8_t>(process_status::unknown)
                 ? static_cast<process_status>(w.status)
                 : process_status::unknown;
  s.pid = static_cast<pid_t>(w.pid);
  s.restart_count = w.restart_count;
  // A kind this build does not know (a newer node) reads as lost.
  s.last_exit.how =
      w.exit_how <= static_cast<std::uint8_t>(termination::kind::unknown)
          ? static_cast<termination::kind>(w.exit_how)
          : termination::kind::unknown;
  s.last_exit.value = w.exit_value;
  s.last_exit.core_dumped = w.exit_core_dumped;
  s.spawn_errno = w.spawn_errno;
  const auto now = steady::now();
  s.started_at = rebase(w.started_ns, w.node_now_ns, now);
  s.ended_at = rebase(w.ended_ns, w.node_now_ns, now);
  s.applied_command = w.applied_command;
  s.name_storage = std::move(name);
  if (!w.spawn_error.empty())
    s.spawn_error_storage = std::make_shared<const std::string>(w.spawn_error);
  return s;
}

}  // namespace detail

namespace {

/// A DNS label: 1..63 letters, digits, '-' or '_', not starting or ending
/// with '-'.
bool host_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' ||
      label.back() == '-')
    return false;
  for (const char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// A host name or IPv4 address: labels joined by '.', one trailing '.'
/// allowed (a rooted name); at most 253 characters (a DNS name's limit).
bool plain_host(std::string_view host) {
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return false;
  for (;;) {
    const auto dot = host.find('.');
    if (!host_label(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    host.remove_prefix(dot + 1);
  }
}

/// The inside of "[...]": an IPv6 address (hex digits, ':', '.' for an
/// embedded IPv4) with an optional "%zone" (letters, digits, '_', '-').
bool v6_host(std::string_view host) {
  if (host.size() < 2 || host.size() > 64 ||
      host.find(':') == std::string_view::npos)
    return false;
  const auto percent = host.find('%');
  const auto address = host.substr(0, percent);
  for (const char c : address) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                    (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return false;
  }
  if (percent == std::string_view::npos) return true;
  const auto zone = host.substr(percent + 1);
  return !zone.empty() && plain_host(zone) &&
         zone.find('.') == std::string_view::npos;
}

}  // namespace

std::optional<remote_endpoint> remote_endpoint::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    if (!v6_host(host)) return std::nullopt;
  } else if (!plain_host(host)) {
    return std::nullopt;  // a bare IPv6 address must be written [v6]:PORT
  }
  unsigned port = 0;
  const auto* end = port_text.data() + port_text.size();
  auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc{} || ptr != end || port == 0 ||
      port > 65535)
    return std::nullopt;
  return remote_endpoint{std::string{host}, static_cast<std::uint16_t>(port)};
}

std::string remote_endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string_view to_string(node_status status) noexcept {
  switch (status) {
    case node_status::connecting:
      return "connecting";
    case node_status::connected:
      return "connected";
    case node_status::lost:
      return "lost";
    case node_status::closed:
      return "closed";
  }
  return "?";
}

void configure_remoting(caf::actor_system_config& config,
                        const remoting_options& options) {
  // The options and the files first: a bad one throws before anything
  // is loaded.
  detail::check_remoting_options(options, "remoting_options");
  if (options.tls) detail::check_tls_files(*options.tls);
  config.load<caf::io::middleman>();
  if (options.tls) detail::configure_tls(config, *options.tls);
  config.set("middleman.heartbeat-interval",
             caf::timespan{options.heartbeat_interval});
  // 0: CAF never drops a connection for silence (its default).
  config.set("middleman.connection-timeout",
             caf::timespan{options.drop_silent_connections
                               ? options.connection_timeout
                               : std::chrono::milliseconds{0}});
  config.add_message_type<detail::wire_state>("vitrine::wire_state");
  config.add_message_type<detail::wire_stdio>("vitrine::wire_stdio");
  config.add_message_type<detail::wire_spec>("vitrine::wire_spec");
}

}  // namespace vitrine
