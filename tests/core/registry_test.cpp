#include "vitrine/core/registry.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace vitrine::core;

namespace {
struct item {
  explicit item(int v) : value(v) {}
  int value;
};
using item_registry = registry<item>;
auto make(int v) {
  return std::make_shared<item>(v);
}
// Not "n" + std::to_string(i): at -O3 that trips GCC 12's -Wrestrict false
// positive (GCC bug 105329).
std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}
}  // namespace

SCENARIO("a registry maps names to values", "[registry]") {
  GIVEN("an empty registry") {
    item_registry reg;
    THEN("nothing is found and the revision is 0") {
      CHECK_FALSE(reg.lookup("a"));
      CHECK(reg.find_shared("a") == nullptr);
      CHECK(reg.revision() == 0);
      CHECK(reg.snapshot()->size() == 0);
    }
    WHEN("two names are inserted") {
      REQUIRE(reg.insert("a", make(1)));
      REQUIRE(reg.insert("b", make(2)));
      THEN("each is found by name and the revision counts the changes") {
        CHECK(reg.lookup("a")->value == 1);
        CHECK(reg.lookup("b")->value == 2);
        CHECK(reg.find_shared("b")->value == 2);
        CHECK_FALSE(reg.lookup("c"));
        CHECK(reg.revision() == 2);
      }
      THEN("a taken name is refused and nothing changes") {
        CHECK_FALSE(reg.insert("a", make(9)));
        CHECK(reg.lookup("a")->value == 1);
        CHECK(reg.revision() == 2);
      }
      THEN("erasing returns the value and removes only that name") {
        auto gone = reg.erase("a");
        REQUIRE(gone);
        CHECK(gone->value == 1);
        CHECK_FALSE(reg.lookup("a"));
        CHECK(reg.lookup("b")->value == 2);
        CHECK(reg.erase("a") == nullptr);
      }
    }
  }
}

TEST_CASE("insert_all adds every name in one revision, or none", "[registry]") {
  item_registry reg;
  REQUIRE(reg.insert("x", make(0)));
  CHECK_FALSE(reg.insert_all({{"p", make(1)}, {"x", make(2)}}));
  CHECK_FALSE(reg.insert_all({{"p", make(1)}, {"p", make(2)}}));
  CHECK(reg.revision() == 1);
  CHECK_FALSE(reg.lookup("p"));
  CHECK(reg.insert_all({{"p", make(1)}, {"q", make(2)}}));
  CHECK(reg.revision() == 2);
  CHECK(reg.lookup("q")->value == 2);
}

TEST_CASE("a view lists every entry in insertion order at one revision",
          "[registry]") {
  item_registry reg;
  for (int i = 0; i < 100; ++i) REQUIRE(reg.insert(numbered("n", i), make(i)));
  auto view = reg.snapshot();
  REQUIRE(reg.erase("n5"));
  CHECK(view->revision() == 100);
  REQUIRE(view->size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(view->entries()[i]->name == numbered("n", i));
    CHECK(view->entries()[i]->value->value == i);
  }
  CHECK(reg.snapshot()->size() == 99);
}

TEST_CASE("arrange sets the order of a new revision and keeps every entry",
          "[registry]") {
  item_registry reg;
  for (int i = 0; i < 5; ++i) REQUIRE(reg.insert(numbered("n", i), make(i)));
  auto before = reg.snapshot();
  const std::vector<std::string_view> order{"n3", "missing", "n1", "n3"};
  REQUIRE(reg.arrange(order));
  auto after = reg.snapshot();
  CHECK(after->revision() == before->revision() + 1);
  std::vector<std::string> names;
  for (const auto& e : after->entries()) names.push_back(e->name);
  // The named ones first (a repeat and an unknown name ignored), then the
  // others as they were.
  CHECK(names == std::vector<std::string>{"n3", "n1", "n0", "n2", "n4"});
  for (int i = 0; i < 5; ++i) CHECK(reg.lookup(numbered("n", i))->value == i);
  CHECK(after->entries()[0]->value.get() == before->entries()[3]->value.get());
  // A view taken before keeps its order.
  CHECK(before->entries()[0]->name == "n0");
  // No entry moves: no new revision.
  const std::vector<std::string_view> same{"n3", "n1"};
  CHECK_FALSE(reg.arrange(same));
  CHECK(reg.revision() == after->revision());
  // Later inserts append after the arranged order; erase keeps it.
  REQUIRE(reg.insert("n5", make(5)));
  REQUIRE(reg.erase("n0"));
  names.clear();
  for (const auto& e : reg.snapshot()->entries()) names.push_back(e->name);
  CHECK(names == std::vector<std::string>{"n3", "n1", "n2", "n4", "n5"});
}

TEST_CASE("a value outlives its erase while a reader holds it", "[registry]") {
  item_registry reg;
  auto value = make(42);
  std::weak_ptr<item> watch = value;
  REQUIRE(reg.insert("k", std::move(value)));
  {
    auto held = reg.lookup("k");
    REQUIRE(reg.erase("k"));
    hazard_pointer_reclaimer::reclaim_now();
    CHECK(held->value == 42);
    CHECK_FALSE(watch.expired());
  }
  hazard_pointer_reclaimer::reclaim_now();
  CHECK(watch.expired());
}

TEST_CASE("lookups on many threads see a consistent map while it changes",
          "[registry][stress]") {
  item_registry reg;
  // "stable" entries never change; "churn" ones come and go.
  for (int i = 0; i < 50; ++i)
    REQUIRE(reg.insert("stable" + std::to_string(i), make(i)));
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::uint64_t last_revision = 0;
      while (!done.load()) {
        for (int i = 0; i < 50; ++i) {
          auto f = reg.lookup("stable" + std::to_string(i));
          if (!f || f->value != i) ++errors;
          if (f && f.revision() < last_revision) ++errors;
          if (f) last_revision = f.revision();
        }
        auto view = reg.snapshot();
        if (view->size() < 50) ++errors;
      }
    });
  }
  // Every 16th round puts the stable names in another order (arrange()):
  // lookups must not notice.
  std::vector<std::string> stable;
  for (int i = 0; i < 50; ++i) stable.push_back("stable" + std::to_string(i));
  for (int round = 0; round < 2000; ++round) {
    const std::string name = "churn" + std::to_string(round % 7);
    if (!reg.erase(name)) REQUIRE(reg.insert(name, make(-1)));
    if (round % 16 == 0) {
      std::rotate(stable.begin(), stable.begin() + 7, stable.end());
      const std::vector<std::string_view> order(stable.begin(), stable.end());
      reg.arrange(order);
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(errors.load() == 0);
}

TEST_CASE("names of every length are told apart wherever they differ",
          "[registry]") {
  // same_name() compares up to 16 bytes with overlapping word loads: each
  // length band (0-3, 4-7, 8-16, longer) and each differing byte.
  for (std::size_t length = 0; length <= 40; ++length) {
    std::string a;
    for (std::size_t i = 0; i < length; ++i)
      a += static_cast<char>('a' + i % 26);
    const std::string copy = a;
    CHECK(detail::same_name(a, copy));
    CHECK_FALSE(detail::same_name(a, a + "x"));
    for (std::size_t at = 0; at < length; ++at) {
      std::string b = a;
      b[at] = static_cast<char>(b[at] ^ 0x20);
      INFO("length " << length << ", differs at " << at);
      CHECK_FALSE(detail::same_name(a, b));
    }
  }
  // Through the registry: names that share a hash bucket's neighbours and
  // differ only in their middle or last byte are each found as themselves.
  item_registry reg;
  const std::vector<std::string> names{"proc-1000", "proc-1001", "proc-1100",
                                       "proc-2000", "p",         "pp",
                                       "ppp",       "pppp",      "ppppx"};
  for (std::size_t i = 0; i < names.size(); ++i)
    REQUIRE(reg.insert(names[i], make(static_cast<int>(i))));
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto found = reg.lookup(names[i]);
    REQUIRE(found);
    CHECK(found->value == static_cast<int>(i));
  }
  CHECK_FALSE(reg.lookup("proc-1010"));
  CHECK_FALSE(reg.lookup("ppppy"));
}
