// packed_table: the lines of a text table kept packed (every cell's text in
// one string, its length apart) with each column's widest cell, then
// written aligned, in the order added or in any other.
//
// Why packed: `vitrine status` is a short-lived process, and on a virtual
// machine most of its time goes to page faults on fresh memory (docs/cli.md,
// "Binaries"). A line costs its text plus two bytes per cell here, where a
// vector of strings per line costs ~200 bytes, and each line is formatted
// once.
//
// Threads: a value; one thread at a time. Costs: add() appends (amortized
// O(cells)); write() and str() O(text).
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace vitrine::cli {

class packed_table {
 public:
  /// A table of header.size() columns whose first line is `header`.
  explicit packed_table(const std::vector<std::string>& header);

  /// Appends a line and returns its number (the header is line 0). Cells
  /// past the table's columns are dropped, missing ones are empty, and a
  /// cell is cut at 65,535 bytes. Cells are kept as given: escape untrusted
  /// text first.
  std::size_t add(const std::vector<std::string>& cells);

  /// Room for `lines` more lines of about `bytes_per_line` bytes of cells:
  /// a table that grows by doubling writes each byte twice or more, over as
  /// many fresh pages. Reserving more than is used costs no page.
  void reserve(std::size_t lines, std::size_t bytes_per_line);

  /// Lines added, the header included.
  std::size_t lines() const noexcept { return line_starts_.size(); }

  /// The header, then the lines numbered in `order` (each a number add()
  /// returned), as left-aligned columns two spaces apart, each line ending
  /// in '\n' and cut to `width` columns (0 = no limit). Through C's stdio,
  /// not iostream: the `vitrine` front starts without iostream's
  /// initialisation (docs/cli.md, "Binaries"); a failed write shows in
  /// std::ferror(out).
  void write(std::FILE* out, std::span<const std::uint32_t> order,
             std::size_t width = 0) const;

  /// The header and every line in the order added, as write() lays them out.
  std::string str(std::size_t width = 0) const;

 private:
  void append_line(std::string& out, std::size_t line, std::size_t width) const;

  std::size_t columns_;
  std::string text_;                        // every cell, back to back
  std::vector<std::uint16_t> lengths_;      // columns_ per line
  std::vector<std::uint32_t> line_starts_;  // of each line in text_
  std::vector<std::size_t> widths_;         // widest cell per column
};

}  // namespace vitrine::cli
