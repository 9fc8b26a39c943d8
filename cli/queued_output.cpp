#include "queued_output.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace vitrine::cli {
namespace {

std::string dropped_notice(std::size_t bytes) {
  return "vitrine: " + std::to_string(bytes) +
         " bytes of output not written here: this stream was not read for a "
         "while\n";
}

/// What a stream's buffer and its writer thread share. Held by both: a
/// writer left blocked at finish() keeps it alive.
struct queue_state {
  explicit queue_state(int descriptor, std::size_t max)
      : fd(descriptor), max_queued(max) {}

  const int fd;
  const std::size_t max_queued;
  std::mutex mutex;
  std::condition_variable changed;
  std::string queued;         // under mutex
  std::size_t dropped = 0;    // bytes dropped since the queue was full
  bool dropping = false;      // until a line ends with the queue at half
  bool at_line_start = true;  // the last byte queued or dropped was '\n'
  bool writing = false;       // the writer holds a batch
  bool closing = false;       // finish(): write what is queued, then end
  int error = 0;              // errno of the first failed write

  void append(std::string_view text) {
    std::lock_guard lock{mutex};
    if (text.empty()) return;
    if (error != 0) return;  // nothing reaches the fd any more
    if (!dropping && at_line_start && queued.size() + text.size() > max_queued)
      dropping = true;
    if (dropping) {
      dropped += text.size();
      at_line_start = text.back() == '\n';
      if (at_line_start && queued.size() < max_queued / 2) {
        dropping = false;
        queued += dropped_notice(dropped);
        dropped = 0;
        changed.notify_all();
      }
      return;
    }
    queued.append(text);
    at_line_start = text.back() == '\n';
    changed.notify_all();
  }

  /// The writer thread: writes batches until finish() with nothing left.
  void write_loop() {
    std::unique_lock lock{mutex};
    for (;;) {
      changed.wait(lock, [&] { return !queued.empty() || closing; });
      if (queued.empty()) return;  // closing, and all written
      std::string batch;
      batch.swap(queued);
      writing = true;
      lock.unlock();
      const int failed = error == 0 ? write_all(batch) : 0;
      lock.lock();
      writing = false;
      if (failed != 0 && error == 0) {
        error = failed;
        queued.clear();
      }
      changed.notify_all();
    }
  }

  /// 0, or the errno of a failed write.
  int write_all(std::string_view text) const {
    while (!text.empty()) {
      const ssize_t n = ::write(fd, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? errno : EIO;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
  }
};

}  // namespace

class queued_output::stream : public std::streambuf {
 public:
  stream(int fd, std::size_t max_queued)
      : state_(std::make_shared<queue_state>(fd, max_queued)) {
    writer_ = std::thread{[state = state_] { state->write_loop(); }};
  }
  /// Another stream onto `shared`'s queue and writer: what both print keeps
  /// its order.
  struct sharing {};
  stream(sharing, const stream& shared) : state_(shared.state_) {}
  ~stream() override {
    if (writer_.joinable()) writer_.detach();  // finish() gave up on it
  }

  /// Asks the writer to end once the queue is written; waits until
  /// `deadline`. True when it ended.
  bool close(std::chrono::steady_clock::time_point deadline) {
    if (!writer_.joinable()) return true;  // the stream it shares closes
    std::unique_lock lock{state_->mutex};
    if (state_->dropping && state_->error == 0) {
      // Mid-line perhaps: the notice starts a line of its own.
      // (Appended piece by piece: GCC 12 at -O3 warns, -Wrestrict, a false
      // positive, on "\n" + std::string.)
      state_->queued += '\n';
      state_->queued += dropped_notice(state_->dropped);
      state_->dropped = 0;
      state_->dropping = false;
    }
    state_->closing = true;
    state_->changed.notify_all();
    const bool drained = state_->changed.wait_until(lock, deadline, [&] {
      return state_->queued.empty() && !state_->writing;
    });
    lock.unlock();
    if (drained) writer_.join();
    return drained;
  }

  int error() const {
    std::lock_guard lock{state_->mutex};
    return state_->error;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    state_->append({s, static_cast<std::size_t>(n)});
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return 0;
    const char ch = traits_type::to_char_type(c);
    state_->append({&ch, 1});
    return c;
  }

 private:
  std::shared_ptr<queue_state> state_;
  std::thread writer_;
};

namespace {

/// Whether fds 1 and 2 are the same file (a terminal, `>log 2>&1`).
bool same_file(int a, int b) {
  struct stat sa {
  }, sb{};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

queued_output::queued_output(std::size_t max_queued)
    : out_(std::make_unique<stream>(STDOUT_FILENO, max_queued)),
      err_(same_file(STDOUT_FILENO, STDERR_FILENO)
               ? std::make_unique<stream>(stream::sharing{}, *out_)
               : std::make_unique<stream>(STDERR_FILENO, max_queued)) {
  std::cout.flush();
  std::cerr.flush();
  saved_out_ = std::cout.rdbuf(out_.get());
  saved_err_ = std::cerr.rdbuf(err_.get());
}

queued_output::~queued_output() {
  if (!finished_) finish(std::chrono::seconds{1});
}

queued_output::outcome queued_output::finish(std::chrono::milliseconds limit) {
  finished_ = true;
  std::cout.rdbuf(saved_out_);
  std::cerr.rdbuf(saved_err_);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  outcome result;
  // stdout first: what the run printed last comes before its exit.
  result.drained = out_->close(deadline);
  result.drained = err_->close(deadline) && result.drained;
  result.stdout_error = out_->error();
  return result;
}

}  // namespace vitrine::cli
