// libFuzzer target: the CLI's TOML -> spec translation must turn any input
// into either a config or diagnostics, never a crash, a hang or a sanitizer
// report. File-system checks are off, so every input behaves the same
// everywhere.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  vitrine::cli::parse_options options;
  options.semantic_checks = false;
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  auto result = vitrine::cli::parse_config(text, "fuzz.toml", options);
  for (const auto& d : result.problems) (void)describe(d);  // renders too
  return 0;
}
