#include "status_table_writer.hpp"

#include <algorithm>
#include <exception>

namespace vitrine::detail {
namespace st = core::status_table;
namespace {

std::int64_t ns_of(std::chrono::steady_clock::time_point t) {
  // libstdc++'s steady_clock is CLOCK_MONOTONIC, the table's clock.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

std::string key_of(st::slot_kind kind, std::string_view name) {
  std::string key(1, static_cast<char>(kind));
  key.append(name);
  return key;
}

constexpr std::uint32_t initial_capacity = 64;

}  // namespace

status_table_writer::status_table_writer(std::string path,
                                         std::chrono::milliseconds heartbeat)
    : file_(std::in_place, std::move(path), initial_capacity,
            std::uint64_t(std::chrono::nanoseconds{
                std::max(heartbeat, std::chrono::milliseconds{1})}
                              .count())),
      period_(std::max(heartbeat, std::chrono::milliseconds{1})) {
  heartbeat_ = std::thread{[this] { beat_until_stopped(); }};
}

status_table_writer::~status_table_writer() {
  close();
}

void status_table_writer::close() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  std::lock_guard lock{mutex_};
  file_.reset();
  republish_all_ = nullptr;  // it may hold the runtime's actors
}

void status_table_writer::check_now() {
  {
    std::lock_guard lock{mutex_};
    check_due_ = true;
  }
  stop_cv_.notify_all();
}

void status_table_writer::on_damage(std::function<void()> republish_all) {
  std::lock_guard lock{mutex_};
  republish_all_ = std::move(republish_all);
}

void status_table_writer::beat_until_stopped() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    st::table_writer_unsafe{file_->base()}.beat(os::monotonic_ns());
    if (file_->take_damage()) {
      // Shrunk by another process, its header written again: every slot
      // is written again too, by the actors that own the states.
      for (auto& entry : slots_) entry.second.version = 0;
      st::table_writer_unsafe{file_->base()}.set_slot_count(used_);
      count_missing();
      if (auto republish = republish_all_) {
        lock.unlock();
        republish();
        lock.lock();
        if (stopping_) break;
      }
    }
    // States left out for want of room go in once there is room, without
    // waiting for their next change.
    if (missing_count_.load(std::memory_order_relaxed) != 0) put_missing();
    stop_cv_.wait_for(lock, period_,
                      [this] { return stopping_ || check_due_; });
    check_due_ = false;
  }
}

auto status_table_writer::slot_for(const std::string& key) -> slot_entry& {
  if (const auto it = slots_.find(key); it != slots_.end()) return it->second;
  std::uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (used_ == file_->capacity()) file_->grow(file_->capacity() * 2);
    index = used_++;
  }
  // The only copy of the key, for a new name.
  return slots_.emplace(key, slot_entry{index, 0}).first->second;
}

void status_table_writer::write(st::slot_kind kind, std::string_view name,
                                st::slot_payload& payload) {
  payload.kind = static_cast<std::uint8_t>(kind);
  std::lock_guard lock{mutex_};
  if (!file_) return;  // closed
  put(key_of(kind, name), payload);
}

bool status_table_writer::put(std::string key,
                              const st::slot_payload& payload) {
  slot_entry* slot;
  try {
    slot = &slot_for(key);
  } catch (const std::exception& e) {
    // Growing failed (a full file system, no memory): this state waits
    // for room (its next change, or the heartbeat's next try); the actor
    // and the in-process cells carry on.
    missing_error_ = e.what();
    missing_.insert_or_assign(std::move(key), payload);
    count_missing();
    return false;
  }
  forget_missing(key);
  if (payload.version < slot->version) return true;
  slot->version = payload.version;
  st::table_writer_unsafe writer{file_->base()};
  writer.write_slot(slot->index, payload);
  writer.set_slot_count(used_);  // (H1): after the slot's first write
  return true;
}

void status_table_writer::put_missing() {
  while (!missing_.empty()) {
    auto left_out = missing_.extract(missing_.begin());
    if (!put(std::move(left_out.key()), left_out.mapped())) return;
  }
}

void status_table_writer::publish(const core::process_state& s) {
  st::slot_payload p{};
  p.status = static_cast<std::uint8_t>(s.status);
  p.pid = s.pid;
  p.restarts = s.restart_count;
  st::pack_exit(p, s.last_exit);
  p.spawn_errno = s.spawn_errno;
  p.version = s.version;
  p.started_ns = ns_of(s.started_at);
  p.ended_ns = ns_of(s.ended_at);
  st::pack_texts(p, s.name(), s.spawn_error());
  write(st::slot_kind::process, s.name(), p);
}

void status_table_writer::publish(const core::supervisor_state& s) {
  st::slot_payload p{};
  p.status = static_cast<std::uint8_t>(s.status);
  p.restarts = s.restarts;
  p.child_count = s.child_count;
  p.version = s.version;
  // Its last failure (which child, which exit, how many restarts in which
  // window), as --json-status has it, the exit text cut to the slot's room.
  st::pack_supervisor(p, s.name(), s.last_failure ? &*s.last_failure : nullptr);
  write(st::slot_kind::supervisor, s.name(), p);
}

void status_table_writer::forget_missing(const std::string& key) {
  if (missing_count_.load(std::memory_order_relaxed) == 0) return;
  missing_.erase(key);
  count_missing();
}

void status_table_writer::count_missing() {
  missing_count_.store(missing_.size(), std::memory_order_relaxed);
  // Told to readers too: their listing is that much short.
  if (file_)
    st::table_writer_unsafe{file_->base()}.set_states_left_out(
        static_cast<std::uint32_t>(missing_.size()));
}

status_table_writer::gap status_table_writer::missing() const {
  if (missing_count_.load(std::memory_order_relaxed) == 0) return {};
  std::lock_guard lock{mutex_};
  return {missing_.size(), missing_.empty() ? std::string{} : missing_error_};
}

void status_table_writer::remove(st::slot_kind kind, const std::string& name) {
  std::lock_guard lock{mutex_};
  const auto key = key_of(kind, name);
  forget_missing(key);
  const auto it = slots_.find(key);
  if (!file_ || it == slots_.end()) return;
  st::slot_payload p{};
  st::pack_texts(p, {}, {});
  st::table_writer_unsafe{file_->base()}.write_slot(it->second.index, p);
  free_slots_.push_back(it->second.index);
  slots_.erase(it);
}

}  // namespace vitrine::detail
