// packed_table: lines kept packed, written aligned in any order.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "packed_table.hpp"

using vitrine::cli::packed_table;

namespace {

/// What table.write() writes to a stdio stream.
std::string written(const packed_table& table,
                    const std::vector<std::uint32_t>& order) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  REQUIRE(out != nullptr);
  table.write(out, order);
  const bool fine = std::fclose(out) == 0;
  std::string text{buffer, size};
  std::free(buffer);
  REQUIRE(fine);
  return text;
}

}  // namespace

TEST_CASE("a packed table aligns its columns to the widest cell",
          "[cli][render]") {
  packed_table table{{"A", "BB", "C"}};
  CHECK(table.add({"long-cell", "x", "last"}) == 1);
  CHECK(table.add({"y", "wider-cell", ""}) == 2);
  CHECK(table.lines() == 3);
  // The last column is not padded.
  CHECK(table.str() ==
        "A          BB          C\n"
        "long-cell  x           last\n"
        "y          wider-cell  \n");
  CHECK(table.str(6) == "A     \nlong-c\ny     \n");
}

TEST_CASE("a packed table writes the header, then the lines asked for",
          "[cli][render]") {
  packed_table table{{"N", "V"}};
  table.reserve(3, 8);
  table.add({"one", "1"});
  table.add({"two", "2"});
  table.add({"three", "3"});
  // Widths are those of every line added, shown or not.
  CHECK(written(table, {3, 1}) ==
        "N      V\n"
        "three  3\n"
        "one    1\n");
  CHECK(written(table, {}) == "N      V\n");
}

TEST_CASE("a packed table drops extra cells, pads missing ones, cuts long ones",
          "[cli][render]") {
  packed_table table{{"A", "B"}};
  table.add({"only"});
  table.add({"x", "y", "dropped"});
  CHECK(table.str() ==
        "A     B\n"
        "only  \n"
        "x     y\n");
  packed_table wide{{"W"}};
  wide.add({std::string(70'000, 'w')});
  CHECK(wide.str() == "W\n" + std::string(65'535, 'w') + "\n");
}
