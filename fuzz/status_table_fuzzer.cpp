// libFuzzer target: the status table reader over a hostile mapping. Any
// bytes must give a read_error or valid slots, never a crash, a hang or an
// out-of-bounds read (ASan/UBSan builds check the last). The input is
// copied to an 8-byte aligned buffer of exactly its size, as a mapping of
// the file would be.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vitrine/core/status_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  namespace st = vitrine::core::status_table;
  std::vector<std::uint64_t> words((size + 7) / 8);
  if (size) std::memcpy(words.data(), data, size);
  st::table_reader reader;
  if (reader.attach(words.data(), size) != st::read_error::none) return 0;
  st::header_snapshot h;
  (void)reader.read_header(h);
  // Every index the header claims and a few beyond: out of range ones must
  // be refused by the reader itself.
  const std::uint32_t claimed = h.slot_count;
  st::slot_payload slot;
  for (std::uint32_t i = 0; i < claimed + 2 && i < 4096; ++i) {
    if (reader.read_slot(i, slot) != st::read_error::none) continue;
    // A valid slot's views stay inside the slot.
    volatile std::size_t sink =
        slot.name_view().size() + slot.error_view().size();
    // And a supervisor's failure, cut out of the error.
    if (const auto failure = st::unpack_failure(slot))
      sink = failure->child.size() + failure->exit.size();
    (void)sink;
  }
  (void)reader.read_slot(UINT32_MAX, slot);
  return 0;
}
