#include "control_protocol.hpp"

#include <signal.h>
#include <time.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace vitrine::cli::control {
namespace {

using json = nlohmann::json;

/// Dumps as one line; invalid UTF-8 (a name a client made up) is replaced,
/// never thrown about.
std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

/// A non-negative integer field no larger than `max`.
bool read_uint(const json& value, std::uint64_t max, std::uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<std::uint64_t>();
  } else if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < 0) return false;
    out = static_cast<std::uint64_t>(v);
  } else {
    return false;
  }
  return out <= max;
}

}  // namespace

std::string name_problem(std::string_view name) {
  if (!name.empty() && name.size() <= max_name_bytes) return "";
  return "a name must have 1 to " + std::to_string(max_name_bytes) +
         " bytes (this one has " + std::to_string(name.size()) + ")";
}

namespace {

bool read_names(const json& value, std::vector<std::string>& names,
                std::string& error) {
  if (!value.is_array()) {
    error = "'names' must be an array of strings";
    return false;
  }
  if (value.size() > max_names) {
    error = "too many names (" + std::to_string(value.size()) + "; at most " +
            std::to_string(max_names) + ")";
    return false;
  }
  for (const auto& name : value) {
    if (!name.is_string()) {
      error = "'names' must be an array of strings";
      return false;
    }
    const auto& text = name.get_ref<const std::string&>();
    if (error = name_problem(text); !error.empty()) return false;
    names.push_back(text);
  }
  return true;
}

}  // namespace

std::uint64_t monotonic_now_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1'000'000;
}

std::string_view to_string(verb v) noexcept {
  switch (v) {
    case verb::start:
      return "start";
    case verb::stop:
      return "stop";
    case verb::restart:
      return "restart";
    case verb::signal:
      return "signal";
    case verb::reload:
      return "reload";
  }
  return "?";
}

std::optional<verb> verb_from_string(std::string_view text) noexcept {
  for (const verb v :
       {verb::start, verb::stop, verb::restart, verb::signal, verb::reload})
    if (to_string(v) == text) return v;
  return std::nullopt;
}

std::string encode(const request& r) {
  json j{{"version", protocol_version},
         {"command", std::string{to_string(r.command)}}};
  if (r.command != verb::reload) j["names"] = r.names;
  if (r.command == verb::signal) j["signal"] = r.signal;
  j["wait"] = r.wait;
  j["timeout_ms"] = r.timeout_ms;
  if (r.deadline_ms) j["deadline_ms"] = *r.deadline_ms;
  return dump_line(j);
}

std::string encode(const reply& r) {
  json results = json::array();
  for (const auto& x : r.results)
    results.push_back({{"name", x.name},
                       {"kind", x.kind},
                       {"ok", x.ok},
                       {"status", x.status},
                       {"pid", x.pid},
                       {"error", x.error},
                       {"timed_out", x.timed_out}});
  return dump_line({{"version", protocol_version},
                    {"ok", r.ok},
                    {"error", r.error},
                    {"expired", r.expired},
                    {"results", std::move(results)},
                    {"warnings", r.warnings},
                    {"notes", r.notes}});
}

std::string encode_error(std::string_view text) {
  reply r;
  r.error = std::string{text};
  return encode(r);
}

std::optional<request> parse_request(std::string_view bytes,
                                     std::string& error) {
  if (bytes.size() > max_request_bytes) {
    error = "request too large (at most " + std::to_string(max_request_bytes) +
            " bytes)";
    return std::nullopt;
  }
  // The parser keeps the last of repeated keys: note them, so that a
  // request naming a command twice is refused instead of read as its last.
  std::set<std::string> keys;
  std::string repeated;
  const json j = json::parse(
      bytes,
      [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 &&
            !keys.insert(parsed.get<std::string>()).second && repeated.empty())
          repeated = parsed.get<std::string>();
        return true;
      },
      /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error = "malformed request: expected one JSON object on one line";
    return std::nullopt;
  }
  if (!repeated.empty()) {
    error = "malformed request: field '" + repeated + "' appears twice";
    return std::nullopt;
  }
  const auto version = j.find("version");
  std::uint64_t v = 0;
  if (version == j.end()) {
    error = "malformed request: 'version' (an integer) is missing";
    return std::nullopt;
  }
  if (!read_uint(*version, ~std::uint64_t{0} >> 1, v)) {
    error =
        "malformed request: 'version' must be a non-negative integer, "
        "not " +
        version->dump(-1, ' ', false, json::error_handler_t::replace);
    return std::nullopt;
  }
  if (v != protocol_version) {
    error = "unsupported protocol version " + std::to_string(v) +
            " (this vitrine speaks version " +
            std::to_string(protocol_version) + ")";
    return std::nullopt;
  }
  request r;
  bool has_names = false, has_signal = false;
  for (const auto& [key, value] : j.items()) {
    std::uint64_t n = 0;
    if (key == "version") continue;
    if (key == "command") {
      const auto command = value.is_string()
                               ? verb_from_string(value.get<std::string>())
                               : std::nullopt;
      if (!command) {
        error =
            "unknown command (expected start, stop, restart, signal or "
            "reload)";
        return std::nullopt;
      }
      r.command = *command;
    } else if (key == "names") {
      if (!read_names(value, r.names, error)) return std::nullopt;
      has_names = true;
    } else if (key == "signal") {
      if (!read_uint(value, static_cast<std::uint64_t>(SIGRTMAX), n) ||
          n == 0) {
        error = "'signal' must be a signal number (1.." +
                std::to_string(SIGRTMAX) + ")";
        return std::nullopt;
      }
      r.signal = static_cast<int>(n);
      has_signal = true;
    } else if (key == "wait") {
      if (!value.is_boolean()) {
        error = "'wait' must be true or false";
        return std::nullopt;
      }
      r.wait = value.get<bool>();
    } else if (key == "timeout_ms") {
      if (!read_uint(value, max_timeout_ms, n)) {
        error = "'timeout_ms' must be an integer 0.." +
                std::to_string(max_timeout_ms);
        return std::nullopt;
      }
      r.timeout_ms = static_cast<std::uint32_t>(n);
    } else if (key == "deadline_ms") {
      if (!read_uint(value, max_deadline_ms, n)) {
        error = "'deadline_ms' must be an integer 0.." +
                std::to_string(max_deadline_ms) +
                " (CLOCK_MONOTONIC milliseconds)";
        return std::nullopt;
      }
      r.deadline_ms = n;
    } else {
      error = "unknown field '" + key + "'";
      return std::nullopt;
    }
  }
  if (!j.contains("command")) {
    error = "malformed request: 'command' is missing";
    return std::nullopt;
  }
  if (r.command == verb::reload) {
    if (has_names || has_signal) {
      error = "'reload' takes no names and no signal";
      return std::nullopt;
    }
    return r;
  }
  if (!has_names) {
    error = "'" + std::string{to_string(r.command)} + "' needs 'names'";
    return std::nullopt;
  }
  if (r.names.empty()) {
    error = "'names' is empty: '" + std::string{to_string(r.command)} +
            "' needs at least one name";
    return std::nullopt;
  }
  if ((r.command == verb::signal) != has_signal) {
    error = has_signal ? "only 'signal' takes a 'signal' field"
                       : "'signal' needs a 'signal' field";
    return std::nullopt;
  }
  return r;
}

std::optional<reply> parse_reply(std::string_view bytes, std::string& error) {
  const json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  try {
    if (j.is_discarded() || !j.is_object())
      throw std::runtime_error{"not a JSON object"};
    if (j.at("version").get<int>() != protocol_version)
      throw std::runtime_error{"protocol version " + j.at("version").dump()};
    reply r;
    r.ok = j.at("ok").get<bool>();
    r.error = j.at("error").get<std::string>();
    r.expired = j.at("expired").get<bool>();
    for (const auto& x : j.at("results")) {
      result out;
      out.name = x.at("name").get<std::string>();
      out.kind = x.at("kind").get<std::string>();
      out.ok = x.at("ok").get<bool>();
      out.status = x.at("status").get<std::string>();
      out.pid = x.at("pid").get<pid_t>();
      out.error = x.at("error").get<std::string>();
      out.timed_out = x.at("timed_out").get<bool>();
      r.results.push_back(std::move(out));
    }
    // Absent from a run that predates it.
    if (const auto w = j.find("warnings"); w != j.end())
      r.warnings = w->get<std::vector<std::string>>();
    if (const auto n = j.find("notes"); n != j.end())
      r.notes = n->get<std::vector<std::string>>();
    return r;
  } catch (const std::exception& e) {
    error = std::string{"bad reply from vitrine run: "} + e.what();
    return std::nullopt;
  }
}

}  // namespace vitrine::cli::control
