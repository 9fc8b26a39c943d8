#include "packed_table.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace vitrine::cli {

packed_table::packed_table(const std::vector<std::string>& header)
    : columns_(header.size()), widths_(header.size(), 0) {
  add(header);
}

std::size_t packed_table::add(const std::vector<std::string>& cells) {
  constexpr std::size_t longest = std::numeric_limits<std::uint16_t>::max();
  if (text_.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("packed_table: more than 4 GiB of text");
  line_starts_.push_back(static_cast<std::uint32_t>(text_.size()));
  for (std::size_t c = 0; c < columns_; ++c) {
    const std::size_t length =
        c < cells.size() ? std::min(cells[c].size(), longest) : 0;
    if (length) text_.append(cells[c], 0, length);
    lengths_.push_back(static_cast<std::uint16_t>(length));
    widths_[c] = std::max(widths_[c], length);
  }
  return line_starts_.size() - 1;
}

void packed_table::reserve(std::size_t lines, std::size_t bytes_per_line) {
  text_.reserve(text_.size() + lines * bytes_per_line);
  lengths_.reserve(lengths_.size() + lines * columns_);
  line_starts_.reserve(line_starts_.size() + lines);
}

void packed_table::append_line(std::string& out, std::size_t line,
                               std::size_t width) const {
  const std::size_t begin = out.size();
  std::size_t at = line_starts_[line];
  for (std::size_t c = 0; c < columns_; ++c) {
    const std::size_t length = lengths_[line * columns_ + c];
    out.append(text_, at, length);
    at += length;
    if (c + 1 < columns_) out.append(widths_[c] - length + 2, ' ');
  }
  if (width && out.size() - begin > width) out.resize(begin + width);
  out += '\n';
}

void packed_table::write(std::FILE* out, std::span<const std::uint32_t> order,
                         std::size_t width) const {
  // One line at a time through a buffer that is reused: the whole text is
  // never built.
  std::string line;
  append_line(line, 0, width);
  std::fwrite(line.data(), 1, line.size(), out);
  for (const std::uint32_t at : order) {
    line.clear();
    append_line(line, at, width);
    std::fwrite(line.data(), 1, line.size(), out);
  }
}

std::string packed_table::str(std::size_t width) const {
  std::size_t line_width = 1;
  for (const std::size_t w : widths_) line_width += w + 2;
  std::string out;
  out.reserve(lines() * line_width);
  for (std::size_t line = 0; line < lines(); ++line)
    append_line(out, line, width);
  return out;
}

}  // namespace vitrine::cli
