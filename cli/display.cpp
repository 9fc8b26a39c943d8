#include "display.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <iostream>
#include <unordered_set>
#include <utility>

#include "render.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {
namespace {

winsize terminal_size() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) return {};
  return size;
}

/// `text` cut to `width` columns (0: no limit), with its newline.
std::string fitted(std::string text, std::size_t width) {
  if (width && text.size() > width) text.resize(width);
  return text + "\n";
}

/// The handles of `before` whose process is not in `after`, by identity.
template <class Handle>
std::vector<Handle> gone_from(const std::vector<Handle>& before,
                              const std::vector<Handle>& after) {
  std::unordered_set<const void*> present;
  present.reserve(after.size());
  for (const auto& h : after) present.insert(h.identity().lock().get());
  std::vector<Handle> gone;
  for (const auto& h : before)
    if (!present.contains(h.identity().lock().get())) gone.push_back(h);
  return gone;
}

}  // namespace

const std::vector<std::size_t>& row_cache::refresh(const runtime& rt,
                                                   const clock_pair& now,
                                                   std::size_t budget) {
  changed_.clear();
  // Before any state is read: a change published after this load shows
  // in a later round.
  const std::uint64_t publications = rt.publications();
  const auto list = rt.processes();
  const std::uint64_t order_version = order_ ? order_->version() : 0;
  const bool all = list.revision() != revision_ ||
                   list.size() != rows_.size() ||
                   order_version != order_version_;
  revision_ = list.revision();
  order_version_ = order_version;
  const std::size_t n = list.size();
  departed_.clear();
  if (all) {
    rows_.assign(n, status_row{});
    auto before = std::exchange(handles_, {list.begin(), list.end()});
    departed_ = gone_from(before, handles_);
    put_in_order();
  }
  if (all || budget >= n) budget = n, next_ = 0, round_left_ = 0;
  if (round_left_ == 0) {
    round_publications_ = publications;
    round_left_ = n;
  }
  for (std::size_t k = 0; k < budget; ++k) {
    const std::size_t i = (next_ + k) % n;
    const auto state = handles_[i].read();
    if (!all && state->version == rows_[i].version) continue;
    rows_[i] = make_row(*state, now);
    changed_.push_back(i);
  }
  if (n) next_ = (next_ + budget) % n;
  round_left_ -= std::min(round_left_, budget);
  if (round_left_ == 0) shown_publications_ = round_publications_;
  std::sort(changed_.begin(), changed_.end());  // file order when wrapped
  return changed_;
}

void row_cache::put_in_order() {
  const auto positions = order_ ? order_->positions() : nullptr;
  if (!positions) return;
  // Each handle's place, looked up once (a reload of 100,000 programs).
  std::vector<std::pair<std::uint32_t, std::size_t>> places;
  places.reserve(handles_.size());
  std::string name;
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    name = handles_[i].name();
    const auto it = positions->find(name);
    places.emplace_back(it == positions->end() ? ~std::uint32_t{0} : it->second,
                        i);
  }
  std::stable_sort(
      places.begin(), places.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<process_handle> ordered;
  ordered.reserve(handles_.size());
  for (const auto& [place, i] : places) ordered.push_back(handles_[i]);
  handles_ = std::move(ordered);
}

std::vector<supervisor_handle> supervisors_of(const runtime& rt) {
  std::vector<supervisor_handle> all;
  rt.for_each_supervisor([&](const supervisor_handle& h) { all.push_back(h); });
  return all;
}

std::string display::status_path_problem() const {
  if (json_path_.empty()) return {};
  const auto slash = json_path_.rfind('/');
  const std::string parent = slash == std::string::npos ? "."
                             : slash == 0               ? "/"
                                          : json_path_.substr(0, slash);
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0)
    return "directory " + parent + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return parent + " is not a directory";
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    return "directory " + parent + ": " + std::strerror(errno);
  if (::stat(json_path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return json_path_ + " is a directory";
  // The first write's steps (create, write, rename), to a name of its own
  // beside PATH, which may still be another run's until the state
  // directory is claimed: a directory such as /proc passes the checks
  // above and takes no new file.
  const std::string probe = json_path_ + ".probe." + std::to_string(::getpid());
  if (auto error = write_file_atomic(probe, ""); !error.empty()) return error;
  ::unlink(probe.c_str());
  return {};
}

std::string display::init_status_file() {
  if (json_path_.empty()) return {};
  // What a killed run left beside it (an outside tester found a 0-byte
  // PATH.tmp.PID.N after one SIGKILL in 8, kept by every later run).
  remove_stale_temporaries(json_path_);
  return write_file_atomic(json_path_, "[]\n");
}

void display::note(const std::string& text) {
  if (live_) {
    note_ = terminal_safe(text);
    due_ = true;
  } else {
    std::cout << format_clock(clock_pair::now().unix_ms()) << " "
              << terminal_safe(text) << std::endl;
  }
}

std::chrono::milliseconds display::wait_time() const noexcept {
  using namespace std::chrono_literals;
  return busy_ ? 5ms : 100ms;
}

void display::update(const row_cache& rows,
                     const std::vector<supervisor_handle>& supervisors,
                     const clock_pair& now, bool last) {
  std::vector<supervisor_row> sups;
  sups.reserve(supervisors.size());
  bool supervisors_changed = false;
  for (const auto& h : supervisors) {
    sups.push_back(make_supervisor_row(*h.read()));
    auto& seen = supervisor_versions_[sups.back().name];
    if (seen != sups.back().version) supervisors_changed = true;
    seen = sups.back().version;
  }
  if (!live_) {
    // What left the tree stopped first: its last transitions are shown
    // too ("a removed program is stopped as at the end of a run").
    for (const auto& h : rows.departed()) log_.add_last(h, now);
    for (const auto& h : gone_from(supervisors_, supervisors))
      log_.add_last(h, now);
    supervisors_ = supervisors;
    for (const std::size_t i : rows.changed()) log_.add(rows.handle(i), now);
    if (supervisors_changed)
      for (const auto& h : supervisors) log_.add(h, now);
    const std::string lines = log_.take();
    std::cout << lines << std::flush;
    busy_ = !lines.empty() && rows.rows().size() <= 1000;
  }
  // Only with a status file: nothing else ever writes it off, and a write
  // pending forever kept an idle run ticking every 100 ms (an outside
  // tester: 59 wake-ups in 6 s of a run without --json-status).
  status_pending_ =
      !json_path_.empty() &&
      (status_pending_ || !rows.changed().empty() || supervisors_changed);
  if (status_pending_ && !json_path_.empty() &&
      (last || now.steady >= next_status_write_))
    write_status(rows.rows(), sups, now);
  if (live_) redraw(rows.rows(), sups, now);
  due_ = false;
  drawn_at_ = now.steady;
}

void display::write_status(const std::vector<status_row>& rows,
                           const std::vector<supervisor_row>& supervisors,
                           const clock_pair& now) {
  status_pending_ = false;
  const auto error =
      write_file_atomic(json_path_, to_json(rows, now.unix_ms(), supervisors));
  const auto took = std::chrono::steady_clock::now() - now.steady;
  next_status_write_ = now.steady + 10 * took;
  if (!error.empty() && error != last_error_)
    std::cerr << "vitrine: status file: " << terminal_safe(error) << std::endl;
  last_error_ = error;
}

void display::redraw(const std::vector<status_row>& rows,
                     const std::vector<supervisor_row>& supervisors,
                     const clock_pair& now) {
  const winsize size = terminal_size();
  const std::size_t width = size.ws_col;
  // Lines: the hint, the supervisors, the table's header, the note, and
  // the cursor's line.
  std::size_t room = size.ws_row > 4 ? size.ws_row - 4u : 0u;
  std::string text = fitted("(Ctrl-C stops everything)", width);
  // The supervisors take at most half of the screen; the rest is rows.
  std::size_t sup_room =
      size.ws_row ? std::max<std::size_t>(room / 2, 1) : supervisors.size();
  if (supervisors.size() > sup_room && sup_room > 0) --sup_room;  // "more"
  std::size_t shown_sups = std::min(supervisors.size(), sup_room);
  for (std::size_t i = 0; i < shown_sups; ++i)
    text += fitted(render_supervisor(supervisors[i]), width);
  if (shown_sups < supervisors.size()) {
    text +=
        fitted("... and " + std::to_string(supervisors.size() - shown_sups) +
                   " more supervisors (--json-status PATH lists them)",
               width);
    ++shown_sups;
  }
  room = room > shown_sups ? room - shown_sups : 0;
  // As many rows as fit: the cursor cannot move above the screen.
  if (size.ws_row && rows.size() > room) {
    const std::size_t fit = room > 0 ? room - 1 : 0;  // and the "more" line
    const std::vector<status_row> shown(
        rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(fit));
    text += render_table(shown, now.unix_ms(), width);
    text += fitted("... and " + std::to_string(rows.size() - fit) +
                       " more (--json-status PATH lists them all)",
                   width);
  } else {
    text += render_table(rows, now.unix_ms(), width);
  }
  if (!note_.empty()) text += fitted(note_, width);
  if (text == drawn_) return;  // nothing visible changed
  std::string out;
  if (drawn_lines_) out = "\x1b[" + std::to_string(drawn_lines_) + "A\r";
  out += "\x1b[J" + text;
  std::cout << out << std::flush;
  drawn_ = std::move(text);
  drawn_lines_ =
      static_cast<std::size_t>(std::count(drawn_.begin(), drawn_.end(), '\n'));
}

}  // namespace vitrine::cli
