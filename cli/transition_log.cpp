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

namespace {

/// What a line shows of a transition: a publish that changed none of it
/// (a command applied, a child count) is not printed again.
bool same_line(const core::transition& a, const core::transition& b) {
  return a.status == b.status && a.pid == b.pid &&
         a.restart_count == b.restart_count && a.last_exit == b.last_exit;
}

/// Where a transition comes in its owner's sequence, without gaps: a
/// process publishes each as a version, a supervisor numbers them.
std::uint64_t order_of(const core::transition& t) {
  return t.version;
}
std::uint64_t order_of(const core::supervisor_transition& t) {
  return t.number;
}

bool same_line(const core::supervisor_transition& a,
               const core::supervisor_transition& b) {
  return a.status == b.status && a.restarts == b.restarts;
}

}  // namespace

void transition_log::push(std::chrono::steady_clock::time_point at,
                          std::string text) {
  pending_.push_back({at, sequence_++, std::move(text)});
}

void transition_log::note_missed(std::string_view name, std::uint64_t missed,
                                 std::size_t capacity,
                                 std::chrono::steady_clock::time_point at,
                                 const clock_pair& now) {
  push(at, format_clock(now.unix_ms(at)) + " " + terminal_safe(name) + ": " +
               std::to_string(missed) +
               (missed == 1 ? " transition" : " transitions") +
               " not shown (more than the " + std::to_string(capacity) +
               " kept between two looks)");
}

template <class History, class Suffix>
void transition_log::add_history(seen<typename History::value_type>& last,
                                 const History& entries, std::string_view name,
                                 std::string_view missed_name,
                                 const clock_pair& now, Suffix suffix) {
  bool first = true;
  for (const auto& t : entries) {
    const std::uint64_t order = order_of(t);
    if (order <= last.order) continue;
    if (first && order > last.order + 1)
      note_missed(missed_name, order - last.order - 1, History::capacity, t.at,
                  now);
    first = false;
    // A repeat is shown only when it says something new: a program that
    // fails again at spawn while `failed` (the error of the new attempt).
    const bool repeat = last.shown && same_line(last.entry, t);
    last.order = order;
    std::string extra = suffix(t);
    if (repeat && extra.empty()) continue;
    last.entry = t;
    last.shown = true;
    push(t.at, render_transition(name, t, now.unix_ms(t.at)) + extra);
  }
}

void transition_log::add(const process_handle& process, const clock_pair& now) {
  const auto history = process.history();
  auto& last = processes_[process.identity()];
  add_history(last, *history, process.name(), process.name(), now,
              [&](const core::transition& t) -> std::string {
                const auto state = process.read();
                if (state->version != t.version || state->spawn_error().empty())
                  return {};
                return " error=" + quoted_field(state->spawn_error());
              });
}

void transition_log::add(const supervisor_handle& supervisor,
                         const clock_pair& now) {
  const auto state = supervisor.read();
  if (!state->history) return;
  auto& last = supervisors_[supervisor.identity()];
  add_history(last, *state->history, supervisor.name(),
              "supervisor " + std::string{supervisor.name()}, now,
              [&](const core::supervisor_transition& t) -> std::string {
                // The failure the state holds is this transition's when it
                // came first (the state may have moved on since).
                if (t.status != core::supervisor_status::failed ||
                    !state->last_failure || t.at < state->last_failure->at)
                  return {};
                return " reason=" +
                       quoted_field(state->last_failure->describe());
              });
}

void transition_log::forget(const std::weak_ptr<const void>& identity) {
  processes_.erase(identity);
  supervisors_.erase(identity);
}

std::string transition_log::take() {
  std::stable_sort(
      pending_.begin(), pending_.end(), [](const line& a, const line& b) {
        return std::tie(a.at, a.sequence) < std::tie(b.at, b.sequence);
      });
  std::string out;
  for (const auto& l : pending_) out += l.text + "\n";
  pending_.clear();
  return out;
}

}  // namespace vitrine::cli
