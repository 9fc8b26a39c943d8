// The status table's pure format: pack/unpack, truncation, and a reader
// that turns every malformed table into an error (plain memory, no mapping).
#include "vitrine/core/status_table.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "vitrine/core/process_state.hpp"

using namespace vitrine::core::status_table;
using vitrine::core::process_status;

namespace {

// An 8-byte aligned table of `capacity` slots with a valid header.
struct table_memory {
  explicit table_memory(std::uint32_t capacity)
      : words(table_size_for(capacity) / 8) {
    const header h = make_header(capacity, 1234, 99, 1'000'000'000);
    std::memcpy(words.data(), &h, sizeof h);
  }
  void* data() { return words.data(); }
  std::size_t size() const { return words.size() * 8; }
  header& head() { return *reinterpret_cast<header*>(words.data()); }
  std::vector<std::uint64_t> words;
};

slot_payload process_slot(std::string_view name, std::uint64_t version) {
  slot_payload p{};
  p.kind = static_cast<std::uint8_t>(slot_kind::process);
  p.status = static_cast<std::uint8_t>(process_status::running);
  p.pid = 4242;
  p.restarts = 3;
  p.version = version;
  pack_texts(p, name, "spawn failed");
  return p;
}

}  // namespace

TEST_CASE("a written slot reads back field for field", "[status_table]") {
  table_memory t{4};
  table_writer_unsafe w{t.data()};
  w.write_slot(0, process_slot("web", 7));
  w.set_slot_count(1);
  table_reader r;
  REQUIRE(r.attach(t.data(), t.size()) == read_error::none);
  header_snapshot h;
  REQUIRE(r.read_header(h) == read_error::none);
  CHECK(h.slot_count == 1);
  CHECK(h.owner_pid == 1234);
  CHECK(h.owner_start_ticks == 99);
  slot_payload out{};
  REQUIRE(r.read_slot(0, out) == read_error::none);
  CHECK(out.name_view() == "web");
  CHECK(out.error_view() == "spawn failed");
  CHECK(out.pid == 4242);
  CHECK(out.restarts == 3);
  CHECK(out.version == 7);
  CHECK(r.read_slot(1, out) == read_error::out_of_range);
  // A rewrite replaces it; the sequence counter stays even between writes.
  w.write_slot(0, process_slot("web", 8));
  REQUIRE(r.read_slot(0, out) == read_error::none);
  CHECK(out.version == 8);
  CHECK(t.words[header_size / 8] == 4);
}

TEST_CASE("long names and errors are cut, the error with a marker",
          "[status_table]") {
  slot_payload p{};
  const std::string name(100, 'n');
  const std::string error(500, 'e');
  pack_texts(p, name, error);
  CHECK(p.name_view() == name.substr(0, name_capacity));
  CHECK((p.flags & name_truncated) != 0);
  CHECK(p.error_view().size() == error_capacity);
  CHECK(p.error_view().ends_with(truncation_marker));
  CHECK((p.flags & error_truncated) != 0);
  const std::string fits(error_capacity, 'x');
  pack_texts(p, "a", fits);
  CHECK(p.error_view() == fits);
  CHECK(p.flags == 0);
}

TEST_CASE("a supervisor slot keeps its last failure, the exit text cut",
          "[status_table]") {
  vitrine::core::supervisor_failure f;
  f.child = "cr";
  f.exit = "exit 4";
  f.restarts_in_window = 2;
  f.intensity = 1;
  f.period = std::chrono::milliseconds{60000};
  slot_payload p{};
  p.kind = static_cast<std::uint8_t>(slot_kind::supervisor);
  pack_supervisor(p, "fg", &f);
  seal(p);
  CHECK(payload_valid(p));
  auto back = unpack_failure(p);
  REQUIRE(back);
  CHECK(back->describe() == f.describe());
  CHECK(back->child == "cr");
  CHECK(back->exit == "exit 4");
  CHECK(back->period == f.period);
  CHECK_FALSE(back->child_gave_up);
  // A 64-byte child and a long nested exit: the child whole, the exit cut.
  f.child = std::string(64, 'c');
  f.exit = "failed (" + std::string(300, 'x') + ")";
  f.child_gave_up = true;
  pack_supervisor(p, "fg", &f);
  seal(p);
  CHECK(payload_valid(p));
  back = unpack_failure(p);
  REQUIRE(back);
  CHECK(back->child == f.child);
  CHECK(back->exit.ends_with(truncation_marker));
  CHECK(back->exit.size() == error_capacity - 64);
  CHECK(back->child_gave_up);
  // None: nothing to unpack, and a length past the error is refused.
  pack_supervisor(p, "fg", nullptr);
  seal(p);
  CHECK_FALSE(unpack_failure(p));
  p.failed_child_length = static_cast<std::uint16_t>(p.error_length + 1);
  seal(p);
  CHECK_FALSE(payload_valid(p));
  // The failure flags belong to supervisors: a process slot carrying them
  // (only a hostile file has one) is refused, and never unpacked (the
  // fuzzer found a process slot whose length ran past its error).
  p = {};
  p.kind = static_cast<std::uint8_t>(slot_kind::process);
  p.flags = has_failure;
  p.failed_child_length = 18761;
  seal(p);
  CHECK_FALSE(payload_valid(p));
  CHECK_FALSE(unpack_failure(p));
}

TEST_CASE("a malformed table header is an error, never a read",
          "[status_table]") {
  table_memory t{2};
  table_reader r;
  CHECK(r.attach(t.data(), header_size - 1) == read_error::too_small);
  CHECK(r.attach(static_cast<char*>(t.data()) + 4, t.size() - 8) ==
        read_error::misaligned);
  SECTION("magic") {
    t.head().magic ^= 1;
    CHECK(r.attach(t.data(), t.size()) == read_error::bad_magic);
  }
  SECTION("version") {
    t.head().format_version = format_version + 1;
    CHECK(r.attach(t.data(), t.size()) == read_error::bad_version);
  }
  SECTION("slot size") {
    t.head().slot_size = 8;
    CHECK(r.attach(t.data(), t.size()) == read_error::bad_layout);
  }
  SECTION("slot count above the capacity") {
    t.head().slot_count = 3;
    REQUIRE(r.attach(t.data(), t.size()) == read_error::none);
    header_snapshot h;
    CHECK(r.read_header(h) == read_error::bad_layout);
    slot_payload out;
    CHECK(r.read_slot(2, out) == read_error::out_of_range);
  }
  SECTION("a table larger than the mapping asks for a re-map") {
    t.head().slot_capacity = 1000;
    t.head().table_size = table_size_for(1000);
    t.head().slot_count = 500;
    REQUIRE(r.attach(t.data(), t.size()) == read_error::none);
    header_snapshot h;
    CHECK(r.read_header(h) == read_error::needs_remap);
    CHECK(h.slot_count == 2);  // bounded by the mapping
    slot_payload out;
    CHECK(r.read_slot(2, out) == read_error::out_of_range);
    CHECK(r.read_slot(499, out) == read_error::out_of_range);
  }
}

TEST_CASE("a corrupt or stuck slot is reported, not returned",
          "[status_table]") {
  table_memory t{2};
  table_writer_unsafe w{t.data()};
  w.write_slot(0, process_slot("db", 1));
  w.set_slot_count(1);
  table_reader r;
  REQUIRE(r.attach(t.data(), t.size()) == read_error::none);
  slot_payload out;
  auto* slot = reinterpret_cast<unsigned char*>(t.data()) + header_size;
  SECTION("a flipped payload bit fails the checksum") {
    slot[8 + 20] ^= 0x10;
    CHECK(r.read_slot(0, out) == read_error::corrupt_slot);
  }
  SECTION("an out-of-range length is refused even with a valid checksum") {
    slot_payload p = process_slot("db", 2);
    seal(p);
    p.name_length = name_capacity + 1;
    p.checksum = payload_checksum(p);
    std::memcpy(slot + 8, &p, sizeof p);
    CHECK(r.read_slot(0, out) == read_error::corrupt_slot);
  }
  SECTION("a counter left odd (a writer that died mid-write) is busy") {
    t.words[header_size / 8] |= 1;
    CHECK(r.read_slot(0, out) == read_error::busy);
  }
}

TEST_CASE("a reader thread never keeps a torn copy of a slot being rewritten",
          "[status_table]") {
  table_memory t{1};
  table_writer_unsafe w{t.data()};
  w.write_slot(0, process_slot("hot", 0));
  w.set_slot_count(1);
  std::atomic<bool> done{false};
  std::thread writer{[&] {
    for (std::uint64_t n = 1; n <= 200'000; ++n) {
      slot_payload p = process_slot("hot", n);
      p.pid = static_cast<std::int32_t>(n);
      p.restarts = static_cast<std::uint32_t>(n * 3);
      w.write_slot(0, p);
    }
    done.store(true);
  }};
  table_reader r;
  REQUIRE(r.attach(t.data(), t.size()) == read_error::none);
  std::uint64_t reads = 0, torn = 0, last = 0, backwards = 0;
  while (!done.load()) {
    slot_payload out;
    if (r.read_slot(0, out) != read_error::none) continue;  // busy: retry
    ++reads;
    if (out.version != 0 &&
        (out.pid != static_cast<std::int32_t>(out.version) ||
         out.restarts != static_cast<std::uint32_t>(out.version * 3)))
      ++torn;
    if (out.version < last) ++backwards;
    last = out.version;
  }
  writer.join();
  INFO(reads << " reads");
  CHECK(torn == 0);
  CHECK(backwards == 0);
}
