#!/usr/bin/env python3
"""Writes the seed corpus of status_table_fuzzer (fuzz/status_corpus/):
valid tables in format version 3 (core/status_table.hpp), so the fuzzer
starts past the header checks. Run from the repository root."""
import struct

M = (1 << 64) - 1
HEADER, SLOT = 128, 256


def checksum(payload: bytes) -> int:
    words = struct.unpack("<31Q", payload)
    s = 0
    for i, w in enumerate(words[:30]):
        s = (s + w * ((0x9E3779B97F4A7C15 + 2 * i) & M)) & M
    s ^= s >> 29
    return (s * 0xBF58476D1CE4E5B9) & M


def slot(kind, status, name, error, pid, version, flags=0, exit_how=1,
         exit_value=3, child_length=0, intensity=0):
    head = struct.pack("<BBBBBBHiIiiIIQqq", kind, status, len(name),
                       len(error), exit_how, flags, child_length, pid, 2,
                       exit_value, 0, 0, intensity, version, 10, 20)
    body = head + name.ljust(64, b"\0") + error.ljust(120, b"\0")
    assert len(body) == 240
    body += struct.pack("<Q", checksum(body + b"\0" * 8))
    return struct.pack("<Q", version * 2) + body


def table(slots, capacity, count=None, pid=4242):
    count = len(slots) if count is None else count
    h = struct.pack("<QIIIIIIQiIQQQQ", 0x5441545352544956, 3, HEADER, SLOT,
                    capacity, count, 0, HEADER + capacity * SLOT, pid, 0,
                    12345, 1000, 10**9, 0)
    h = h.ljust(HEADER, b"\0")
    data = h + b"".join(slots)
    return data.ljust(HEADER + capacity * SLOT, b"\0")


seeds = {
    "empty.bin": table([], 4),
    "two.bin": table([slot(1, 2, b"web", b"", 100, 7),
                      slot(2, 1, b"root", b"", 0, 3)], 4),
    "error.bin": table([slot(1, 6, b"ghost", b"spawn: No such file...", 0,
                             9, 2)], 1),
    # killed by SIGSEGV with a core dump (flag 4), and a lost status (3)
    "exits.bin": table([slot(1, 5, b"seg", b"", 0, 4, 4, 2, 11),
                        slot(1, 5, b"lost", b"", 0, 5, 0, 3, 0)], 2),
    # a failed supervisor (status 5) with its last failure (flag 8): child
    # "cr" (2 bytes of the error), exit "exit 4", 2 restarts, intensity 1
    "failure.bin": table([slot(2, 5, b"fg", b"crexit 4", 0, 6, 8, 0, 2, 2,
                               1)], 1),
    "grown.bin": table([slot(1, 2, b"a", b"", 1, 1)], 8, count=1)[:HEADER +
                                                                 2 * SLOT],
}
for name, data in seeds.items():
    with open(f"fuzz/status_corpus/{name}", "wb") as f:
        f.write(data)
