#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <vector>

#include "vitrine/core/bounded_history.hpp"

using vitrine::core::bounded_history;

static_assert(
    std::random_access_iterator<bounded_history<int, 4>::const_iterator>);

TEST_CASE("a bounded history keeps the last entries, oldest first",
          "[history]") {
  bounded_history<int, 4> h;
  CHECK(h.empty());
  CHECK(h.begin() == h.end());
  for (int i = 1; i <= 3; ++i) h.push(i);
  CHECK(std::vector<int>(h.begin(), h.end()) == std::vector<int>{1, 2, 3});
  for (int i = 4; i <= 9; ++i) h.push(i);
  REQUIRE(h.size() == 4);
  CHECK(std::vector<int>(h.begin(), h.end()) == std::vector<int>{6, 7, 8, 9});
  CHECK(h[0] == 6);
  CHECK(h.end() - h.begin() == 4);
  CHECK(*(h.end() - 1) == 9);
  CHECK(std::find(h.begin(), h.end(), 5) == h.end());
  std::vector<int> reversed(std::make_reverse_iterator(h.end()),
                            std::make_reverse_iterator(h.begin()));
  CHECK(reversed == std::vector<int>{9, 8, 7, 6});
}
