#include "interruptible_load.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "vitrine/core/signal_names.hpp"
#include "vitrine/os/unique_fd.hpp"

namespace vitrine::cli {

parse_result load_config_interruptibly(
    const std::string& file, signal_channel& signals,
    const std::function<void(int)>& on_signal) {
  using namespace std::chrono_literals;
  os::unique_fd done_fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (!done_fd) throw std::runtime_error("eventfd failed");
  parse_result result;
  std::atomic<bool> done{false};
  std::thread worker{[&] {
    result = load_config_file(file);
    done.store(true, std::memory_order_release);  // (1) pairs with (2)
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(done_fd.get(), &one, sizeof one);
  }};
  const auto started = std::chrono::steady_clock::now();
  bool announced = false;
  while (!done.load(std::memory_order_acquire)) {  // (2) pairs with (1)
    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {done_fd.get(), POLLIN, 0}};
    ::poll(fds, 2, 250);
    if (fds[0].revents & POLLIN) {
      if (const int sig = signals.wait(0ms)) {
        if (action_for(sig) == signal_action::stop) {
          std::cerr << "vitrine: received " << core::signal_name(sig)
                    << " while loading " << file
                    << ": nothing was started, exiting" << std::endl;
          std::_Exit(128 + sig);
        }
        on_signal(sig);
      }
    }
    if (!announced && std::chrono::steady_clock::now() - started > 1s) {
      announced = true;
      std::cerr << "vitrine: still loading " << file << " (Ctrl-C aborts)"
                << std::endl;
    }
  }
  worker.join();
  return result;
}

}  // namespace vitrine::cli
