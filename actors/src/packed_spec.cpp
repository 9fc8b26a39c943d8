// packed_spec: packing a process_spec's launch options into one block, and
// reading them back (packed_spec.hpp has the layout).
#include "packed_spec.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace vitrine::detail {

namespace {

constexpr std::size_t log_rotation_bytes =
    sizeof(std::uint64_t) + sizeof(std::uint32_t);

/// Appends fields to a growing buffer (the block is copied out of it once,
/// at its final size).
class block_writer {
 public:
  template <class T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* bytes = reinterpret_cast<const std::byte*>(&value);
    bytes_.insert(bytes_.end(), bytes, bytes + sizeof(T));
  }
  void reserve(std::size_t n) { bytes_.reserve(n); }
  void put_count(std::size_t n) {
    if (n > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("packed_spec: a count or length past 2^32");
    put(static_cast<std::uint32_t>(n));
  }
  void put_string(std::string_view s) {
    put_count(s.size());
    const auto* bytes = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), bytes, bytes + s.size());
  }

  std::unique_ptr<std::byte[]> take() const {
    auto block = std::make_unique_for_overwrite<std::byte[]>(bytes_.size());
    std::copy(bytes_.begin(), bytes_.end(), block.get());
    return block;
  }

 private:
  std::vector<std::byte> bytes_;
};

/// Reads the fields back in the order they were put.
class block_reader {
 public:
  explicit block_reader(const std::byte* at) noexcept : at_(at) {}

  template <class T>
  T get() noexcept {
    T value;
    std::memcpy(&value, at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  std::size_t get_count() noexcept { return get<std::uint32_t>(); }
  std::string_view get_string() noexcept {
    const std::size_t n = get_count();
    const std::string_view s{reinterpret_cast<const char*>(at_), n};
    at_ += n;
    return s;
  }

 private:
  const std::byte* at_;
};

void put_stdio(block_writer& out, const os::stdio_target& target) {
  out.put(static_cast<std::uint8_t>(target.mode));
  out.put_string(target.path);
}

os::stdio_target get_stdio(block_reader& in) {
  const auto mode = static_cast<os::stdio_target::kind>(in.get<std::uint8_t>());
  return {mode, std::string{in.get_string()}};
}

/// Writes the launch options (the block's last part) but cgroup and
/// cgroup_killed.
void put_launch_options(block_writer& out, const os::launch_options& launch) {
  out.put_count(launch.argv.size());
  for (const auto& arg : launch.argv) out.put_string(arg);
  out.put(static_cast<std::uint8_t>(launch.inherit_env));
  out.put_count(launch.env.size());
  for (const auto& [key, value] : launch.env) {
    out.put_string(key);
    out.put_string(value);
  }
  out.put_string(launch.cwd);
  out.put(static_cast<std::uint8_t>(launch.umask.has_value()));
  if (launch.umask) out.put(static_cast<std::uint32_t>(*launch.umask));
  out.put_count(launch.rlimits.size());
  for (const auto& limit : launch.rlimits) {
    out.put(static_cast<std::int32_t>(limit.resource));
    out.put(static_cast<rlim_t>(limit.soft));
    out.put(static_cast<rlim_t>(limit.hard));
  }
  put_stdio(out, launch.stdin_target);
  put_stdio(out, launch.stdout_target);
  put_stdio(out, launch.stderr_target);
  out.put(static_cast<std::int32_t>(launch.death_signal));
  out.put(static_cast<std::int32_t>(launch.notify_fd));
}

/// Reads what put_launch_options() wrote.
void read_launch_options(block_reader& in, os::launch_options& options) {
  options.argv.resize(in.get_count());
  for (auto& arg : options.argv) arg = in.get_string();
  options.inherit_env = in.get<std::uint8_t>() != 0;
  options.env.resize(in.get_count());
  for (auto& [key, value] : options.env) {
    key = in.get_string();
    value = in.get_string();
  }
  options.cwd = in.get_string();
  if (in.get<std::uint8_t>() != 0)
    options.umask = static_cast<mode_t>(in.get<std::uint32_t>());
  options.rlimits.resize(in.get_count());
  for (auto& limit : options.rlimits) {
    limit.resource = in.get<std::int32_t>();
    limit.soft = in.get<rlim_t>();
    limit.hard = in.get<rlim_t>();
  }
  options.stdin_target = get_stdio(in);
  options.stdout_target = get_stdio(in);
  options.stderr_target = get_stdio(in);
  options.death_signal = in.get<std::int32_t>();
  options.notify_fd = in.get<std::int32_t>();
}

}  // namespace

packed_spec::packed_spec(const process_spec& spec)
    : backoff(spec.backoff),
      startsecs(spec.startsecs),
      stop_timeout(spec.stop_timeout),
      startretries(spec.startretries),
      stop_signal(spec.stop_signal),
      restart(spec.restart) {
  block_writer out;
  out.reserve(256);
  out.put(static_cast<std::uint64_t>(spec.logs.max_bytes));
  out.put(static_cast<std::uint32_t>(spec.logs.backups));
  out.put_count(spec.expected_exit_codes.size());
  for (int code : spec.expected_exit_codes)
    out.put(static_cast<std::int32_t>(code));
  put_launch_options(out, spec.launch);
  block_ = out.take();
}

os::launch_options packed_spec::launch_options() const {
  block_reader in{launch_options_begin()};
  os::launch_options options;
  read_launch_options(in, options);
  return options;
}

std::string_view packed_spec::program() const noexcept {
  block_reader in{launch_options_begin()};
  if (in.get_count() == 0) return {};
  return in.get_string();
}

bool packed_spec::expects_exit_code(int code) const noexcept {
  block_reader in{block_.get() + log_rotation_bytes};
  for (std::size_t n = in.get_count(); n > 0; --n)
    if (in.get<std::int32_t>() == code) return true;
  return false;
}

const std::byte* packed_spec::launch_options_begin() const noexcept {
  block_reader in{block_.get() + log_rotation_bytes};
  const std::size_t codes = in.get_count();
  return block_.get() + log_rotation_bytes + sizeof(std::uint32_t) +
         codes * sizeof(std::int32_t);
}

log_rotation packed_spec::logs() const noexcept {
  block_reader in{block_.get()};
  log_rotation logs;
  logs.max_bytes = in.get<std::uint64_t>();
  logs.backups = in.get<std::uint32_t>();
  return logs;
}

}  // namespace vitrine::detail
