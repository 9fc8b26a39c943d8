#include "vitrine/core/backoff.hpp"

#include <catch2/catch.hpp>

#include "vitrine/core/restart_window.hpp"

using namespace vitrine::core;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles from min up to max, then resets", "[backoff]") {
  backoff_policy policy;
  policy.min = 100ms;
  policy.max = 1000ms;
  policy.jitter = 0;
  backoff b{policy};
  CHECK(b.next() == 100ms);
  CHECK(b.next() == 200ms);
  CHECK(b.next() == 400ms);
  CHECK(b.next() == 800ms);
  CHECK(b.next() == 1000ms);
  CHECK(b.next() == 1000ms);
  b.reset();
  CHECK(b.next() == 100ms);
}

TEST_CASE("backoff jitter stays within its fraction", "[backoff]") {
  backoff_policy policy;
  policy.min = 1000ms;
  policy.max = 1000ms;
  policy.jitter = 0.2;
  backoff b{policy, 42};
  bool varied = false;
  for (int i = 0; i < 200; ++i) {
    auto d = b.next();
    CHECK(d >= 800ms);
    CHECK(d <= 1000ms);  // never above the cap
    varied = varied || d != 1000ms;
  }
  CHECK(varied);
}

TEST_CASE("a zero minimum gives immediate restarts", "[backoff]") {
  backoff_policy policy;
  policy.min = 0ms;
  backoff b{policy};
  CHECK(b.next() == 0ms);
  CHECK(b.next() == 0ms);
}

TEST_CASE("restart intensity admits N restarts per period, not N+1",
          "[restart_window]") {
  restart_window w{3, 10s};
  const auto t0 = restart_window::clock::time_point{};
  CHECK(w.admit(t0));
  CHECK(w.admit(t0 + 1s));
  CHECK(w.admit(t0 + 2s));
  CHECK_FALSE(w.admit(t0 + 3s));
  w.clear();
  CHECK(w.admit(t0 + 3s));
}

TEST_CASE("restarts older than the period are forgotten", "[restart_window]") {
  restart_window w{1, 5s};
  const auto t0 = restart_window::clock::time_point{};
  CHECK(w.admit(t0));
  CHECK(w.admit(t0 + 6s));
  CHECK_FALSE(w.admit(t0 + 7s));
}

TEST_CASE("a window counts right across its ring's wrap and growth",
          "[restart_window]") {
  // 5 in 10 s, restarts every 3 s: 4 fall in any window, so every one is
  // admitted while the ring wraps many times; then a burst grows it.
  restart_window w{5, 10s};
  auto t = restart_window::clock::time_point{};
  for (int i = 0; i < 100; ++i, t += 3s) REQUIRE(w.admit(t));
  CHECK(w.recent() == 4);
  CHECK(w.admit(t));              // 4: t-9 s and older forgotten
  CHECK(w.admit(t + 1ms));        // 5
  CHECK_FALSE(w.admit(t + 2ms));  // a 6th within 10 s
  CHECK(w.recent() == 6);
  CHECK(w.admit(t + 20s));  // every older one forgotten
  CHECK(w.recent() == 1);
}

TEST_CASE("intensity 0 refuses the first restart, as in OTP",
          "[restart_window]") {
  restart_window w{0, 5s};
  CHECK_FALSE(w.admit(restart_window::clock::time_point{}));
}
