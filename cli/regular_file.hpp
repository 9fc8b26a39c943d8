// regular_file: reads a whole file that must be a regular file of bounded
// size (a configuration, a status file), refusing a FIFO, a device or a
// directory without reading from it or waiting for a writer.
//
// Threads: pure functions of the file system; any thread. Cost: open,
// fstat, reads of the file's size (plus one byte), close.
#pragma once

#include <cstdint>
#include <string>

namespace vitrine::cli {

/// Reads the whole of `path` into `text` if it is a regular file of at
/// most `limit` bytes; returns "" or what is wrong ("is a FIFO, not a
/// regular file", "is N bytes, above the limit of ..."). Never waits for a
/// FIFO's writer (O_NONBLOCK) and never reads a device.
std::string read_regular_file(const std::string& path, std::uint64_t limit,
                              std::string& text);

/// "" when `path` is a regular file or does not exist; else what it is
/// instead ("is a directory, not a regular file"). Follows symbolic links,
/// as open(2) does; one stat(2), nothing opened.
std::string existing_non_regular(const std::string& path);

}  // namespace vitrine::cli
