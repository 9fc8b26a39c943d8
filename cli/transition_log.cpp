#include "transition_log.hpp"

#include <algorithm>
#include <tuple>

#include "render.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

std::string render_transition(std::string_view name, const core::transition& t,
                              std::int64_t unix_ms) {
  return format_clock(unix_ms) + " " + terminal_safe(name) + " " +
         std::string{core::to_string(t.status)} +
         " pid=" + std::to_string(t.pid) +
         " restarts=" + std::to_string(t.restart_count) +
         " last_exit=" + core::describe(t.last_exit);
}

std::string render_transition(std::string_view name,
                              const core::supervisor_transition& t,
                              std::int64_t unix_ms) {
  return format_clock(unix_ms) + " supervisor " + terminal_safe(name) + " " +
         std::string{core::to_string(t.status)} +
         " restarts=" + std::to_string(t.restarts);
}

std::uint64_t transition_log::advance(const void* key, std::uint64_t last) {
  auto [it, fresh] = printed_.try_emplace(key, 0);
  const std::uint64_t before = it->second;
  it->second = std::max(before, last);
  return before;
}

void transition_log::push(std::int64_t unix_ms, std::string text) {
  pending_.push_back({unix_ms, sequence_++, std::move(text)});
}

void transition_log::note_missed(std::string_view name, std::uint64_t missed,
                                 std::size_t capacity, std::int64_t unix_ms) {
  push(unix_ms, format_clock(unix_ms) + " " + terminal_safe(name) + ": " +
                    std::to_string(missed) +
                    (missed == 1 ? " transition" : " transitions") +
                    " not shown (more than the " + std::to_string(capacity) +
                    " kept between two looks)");
}

void transition_log::add(const process_handle& process, const clock_pair& now) {
  const auto history = process.history();
  if (history->empty()) return;
  const auto& entries = *history;
  const std::uint64_t newest = entries[entries.size() - 1].version;
  const std::uint64_t printed = advance(process.record().get(), newest);
  bool first = true;
  for (const auto& t : entries) {
    if (t.version <= printed) continue;
    const auto at = now.unix_ms(t.at);
    if (first && t.version > printed + 1)
      note_missed(process.name(), t.version - printed - 1,
                  core::transition_history::capacity, at);
    first = false;
    auto text = render_transition(process.name(), t, at);
    if (t.version == newest)
      if (const auto state = process.read();
          state->version == newest && !state->spawn_error().empty())
        text += " error=\"" + terminal_safe(state->spawn_error()) + "\"";
    push(at, std::move(text));
  }
}

void transition_log::add(const supervisor_handle& supervisor,
                         const clock_pair& now) {
  const auto state = supervisor.read();
  if (!state->history || state->history->empty()) return;
  const auto& entries = *state->history;
  const std::uint64_t newest = entries[entries.size() - 1].version;
  const std::uint64_t printed = advance(supervisor.record().get(), newest);
  bool first = true;
  for (const auto& t : entries) {
    if (t.version <= printed) continue;
    const auto at = now.unix_ms(t.at);
    if (first && t.version > printed + 1)
      note_missed("supervisor " + std::string{supervisor.name()},
                  t.version - printed - 1, core::supervisor_history::capacity,
                  at);
    first = false;
    auto text = render_transition(supervisor.name(), t, at);
    if (t.version == state->version && state->last_failure &&
        t.status == core::supervisor_status::failed)
      text +=
          " reason=\"" + terminal_safe(state->last_failure->describe()) + "\"";
    push(at, std::move(text));
  }
}

std::string transition_log::take() {
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const line& a, const line& b) {
                     return std::tie(a.unix_ms, a.sequence) <
                            std::tie(b.unix_ms, b.sequence);
                   });
  std::string out;
  for (const auto& l : pending_) out += l.text + "\n";
  pending_.clear();
  return out;
}

}  // namespace vitrine::cli
