#include "vitrine/core/backoff.hpp"

#include <catch2/catch.hpp>

#include <limits>

#include "vitrine/core/restart_window.hpp"

using namespace vitrine::core;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles from min up to max, then resets", "[backoff]") {
  backoff_policy policy;
  policy.min = 100ms;
  policy.max = 1000ms;
  policy.jitter = 0;
  backoff b;
  CHECK(b.next(policy) == 100ms);
  CHECK(b.next(policy) == 200ms);
  CHECK(b.next(policy) == 400ms);
  CHECK(b.next(policy) == 800ms);
  CHECK(b.next(policy) == 1000ms);
  CHECK(b.next(policy) == 1000ms);
  b.reset();
  CHECK(b.next(policy) == 100ms);
}

TEST_CASE("backoff jitter stays within its fraction", "[backoff]") {
  backoff_policy policy;
  policy.min = 1000ms;
  policy.max = 1000ms;
  policy.jitter = 0.2;
  backoff b{42};
  bool varied = false;
  for (int i = 0; i < 200; ++i) {
    auto d = b.next(policy);
    CHECK(d >= 800ms);
    CHECK(d <= 1000ms);  // never above the cap
    varied = varied || d != 1000ms;
  }
  CHECK(varied);
}

TEST_CASE("a zero minimum gives immediate restarts", "[backoff]") {
  backoff_policy policy;
  policy.min = 0ms;
  backoff b;
  CHECK(b.next(policy) == 0ms);
  CHECK(b.next(policy) == 0ms);
}

TEST_CASE("backoff delays stay in [0, max] at the edges of the range",
          "[backoff]") {
  backoff_policy policy;
  policy.min = 1ms;
  policy.jitter = 0;
  SECTION("a cap a double cannot hold exactly, with a huge multiplier") {
    policy.max = std::chrono::milliseconds::max();
    policy.multiplier = 100;
    backoff b;
    auto previous = 0ms;
    for (int i = 0; i < 200; ++i) {
      const auto d = b.next(policy);
      INFO("call " << i << ": " << d.count() << " ms");
      REQUIRE(d >= previous);  // grows, up to the cap, never wraps
      REQUIRE(d <= policy.max);
      previous = d;
    }
    CHECK(previous == policy.max);
  }
  SECTION("with full jitter at that cap") {
    policy.max = std::chrono::milliseconds::max();
    policy.multiplier = 1e300;
    policy.jitter = 1;
    backoff b;
    for (int i = 0; i < 200; ++i) {
      const auto d = b.next(policy);
      REQUIRE(d >= 0ms);
      REQUIRE(d <= policy.max);
    }
  }
  SECTION("NaN or out-of-range fields read as the nearest valid value") {
    policy.max = 1000ms;
    policy.min = 10ms;
    policy.multiplier = std::numeric_limits<double>::quiet_NaN();
    policy.jitter = std::numeric_limits<double>::quiet_NaN();
    backoff nan_growth;
    for (int i = 0; i < 5; ++i) CHECK(nan_growth.next(policy) == 10ms);
    policy.multiplier = 0.5;  // below 1: no shrinking either
    backoff shrinking;
    for (int i = 0; i < 5; ++i) CHECK(shrinking.next(policy) == 10ms);
    policy.multiplier = 2;
    policy.jitter = -3;
    backoff negative_jitter;
    CHECK(negative_jitter.next(policy) == 10ms);
    CHECK(negative_jitter.next(policy) == 20ms);
  }
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

TEST_CASE("would_admit() answers what admit() would, recording nothing",
          "[restart_window]") {
  const auto t0 = restart_window::clock::time_point{};
  for (const unsigned intensity : {0u, 1u, 3u}) {
    restart_window asked{intensity, 10s}, admitted{intensity, 10s};
    // Every 4 s: at most 3 within any 10 s; a burst after the eighth.
    for (int i = 0; i < 12; ++i) {
      const auto t = t0 + (i < 8 ? i * 4s : 28s + (i - 7) * 1ms);
      INFO("intensity " << intensity << ", restart " << i);
      const bool would = asked.would_admit(t);
      CHECK(asked.would_admit(t) == would);  // nothing recorded
      CHECK(admitted.admit(t) == would);
      asked.admit(t);
    }
  }
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

TEST_CASE("a lowered limit counts every restart the window had kept",
          "[restart_window]") {
  restart_window w{100, 60s};
  auto t = restart_window::clock::time_point{};
  for (int i = 0; i < 3; ++i, t += 300ms) REQUIRE(w.admit(t));
  CHECK(w.counted() == 3);
  w.set_limit(1, 60s);
  CHECK_FALSE(w.admit(t));
  CHECK(w.counted() == 4);  // the failure reports 4 restarts, not 2
  CHECK(w.recent() == 2);   // while it keeps only intensity + 1
  w.clear();
  CHECK(w.counted() == 0);
}

TEST_CASE("intensity 0 refuses the first restart, as in OTP",
          "[restart_window]") {
  restart_window w{0, 5s};
  CHECK_FALSE(w.admit(restart_window::clock::time_point{}));
}
