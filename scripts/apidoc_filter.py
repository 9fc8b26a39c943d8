#!/usr/bin/env python3
"""Doxygen input filter (Doxyfile FILTER_PATTERNS): turns a header's opening
// comment, its contract (what it is, threads, costs), into the file's
Doxygen documentation. Everything else passes through unchanged, so line
numbers in warnings stay true."""
import os
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    lines = f.read().split("\n")
n = 0
while n < len(lines) and lines[n].startswith("//"):
    n += 1
if n:
    text = [l[2:].strip() and l[2:] or "" for l in lines[:n]]
    # Same number of lines, so warnings name the true line; @file last
    # (it takes the rest of its line as the file's name).
    out = ["/** " + text[0]] + text[1:]
    out[-1] += " @file " + os.path.basename(sys.argv[1]) + " */"
    lines[:n] = out
sys.stdout.write("\n".join(lines))
