// queued_output: std::cout and std::cerr of a long-running command
// (`vitrine run`, `vitrine node`) written by threads of their own, so that
// the thread that acts on signals never blocks on a terminal or a pipe
// nobody reads (Ctrl-S, a pager waiting at a page, a stalled log shipper):
// a stop signal then still stops the run.
//
// While installed, each stream's buffer appends what is written to a queue
// that its writer thread writes to the file descriptor (blocking, as
// before); when fds 1 and 2 are the same file (a terminal, `>log 2>&1`)
// both streams share one queue and writer, so their lines keep their
// order. A queue past `max_queued` bytes drops what follows, from the
// start of a line and until the queue is back under half of that, and puts
// a line saying how much it dropped in its place. After a failed write
// (EPIPE from a reader gone, ENOSPC...) the stream drops what follows, and
// finish() returns the error. finish() restores the streams and waits, up
// to a limit, for what is queued to be written; a writer still blocked then
// is left behind (it ends with the process), and what it held is lost.
//
// Threads: install and finish on one thread; any thread may write to the
// streams meanwhile (each write is appended whole, under a mutex). Cost: a
// lock, a copy and a condition-variable notification per write; one thread
// per stream.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <streambuf>

namespace vitrine::cli {

class queued_output {
 public:
  static constexpr std::size_t default_max_queued = 1 << 20;

  /// Installs queued buffers on std::cout (fd 1) and std::cerr (fd 2).
  explicit queued_output(std::size_t max_queued = default_max_queued);
  ~queued_output();  ///< finish(), if not called
  queued_output(const queued_output&) = delete;
  queued_output& operator=(const queued_output&) = delete;

  struct outcome {
    int stdout_error = 0;  ///< errno of stdout's first failed write, or 0
    bool drained = true;   ///< everything queued was written (or dropped)
  };
  /// Restores the streams' own buffers, then waits until `limit` for the
  /// writers to write what is queued. Once only.
  outcome finish(std::chrono::milliseconds limit);

 private:
  class stream;
  std::unique_ptr<stream> out_, err_;
  std::streambuf* saved_out_ = nullptr;
  std::streambuf* saved_err_ = nullptr;
  bool finished_ = false;
};

}  // namespace vitrine::cli
