#!/usr/bin/env python3
"""Compile (and run) every ```cpp block of README.md and docs/*.md.

The convention (docs/testing.md, "Code blocks in the docs"):

* A block that defines `int main(` is a whole program: it is compiled as it
  stands, linked with vitrine::vitrine, and run with a timeout; it must exit
  0 and leave no process behind.
* Any other block is a fragment: its `#include` lines go to the top of a
  file that includes <vitrine/vitrine.hpp> and the usual std headers, and the
  rest becomes the body of a function (compiled and linked, never run).
* `<!-- docs: toplevel -->` on the line before a fragment puts it at
  namespace scope instead (for blocks that define types or functions).
* `<!-- docs: no-run -->` on the line before a program compiles and links
  it without running it (for a program that serves forever).
* A block that includes a `<vitrine/baseline/...>` header (the messaging
  baseline, not in the installed package) links vitrine::baseline as well,
  from this build tree's package; every other block sees only what a
  find_package(vitrine) consumer sees.

Every block is compiled with -Wall -Wextra -Wpedantic -Werror, our headers
included as a consumer's own (not SYSTEM), through the in-tree package
(the build tree's vitrineConfig.cmake). Errors are reported against the
markdown file and line (#line directives).

  check_docs.py --source DIR --package-dir DIR --work DIR --cxx COMPILER
                [--generator G] [--build-type T] [--timeout S]
"""
import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

BASELINE_INCLUDE = re.compile(r"^\s*#\s*include\s*<vitrine/baseline/",
                              re.MULTILINE)
FENCE = re.compile(r"^(\s*)```+\s*([A-Za-z0-9_+-]*)")
ANNOTATION = re.compile(r"^\s*<!--\s*docs:\s*([a-z-]+)\s*-->\s*$")
KNOWN_ANNOTATIONS = {"toplevel", "no-run"}
FRAGMENT_PRELUDE = """#include <vitrine/vitrine.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
"""


class Block:
    def __init__(self, path, rel, line, text, annotation):
        self.path, self.rel, self.line = path, rel, line
        self.text, self.annotation = text, annotation
        self.is_program = re.search(r"\bint\s+main\s*\(", text) is not None
        self.uses_baseline = BASELINE_INCLUDE.search(text) is not None
        self.name = "block_%s_%d" % (re.sub(r"[^A-Za-z0-9]", "_", rel), line)

    def where(self):
        return "%s:%d" % (self.rel, self.line)


def extract(source):
    files = [os.path.join(source, "README.md")]
    files += sorted(glob.glob(os.path.join(source, "docs", "*.md")))
    blocks, problems = [], []
    for path in files:
        rel = os.path.relpath(path, source)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            indent, lang = m.group(1), m.group(2)
            start = i + 1  # first content line, 0-based
            j = start
            while j < len(lines) and not re.match(r"^\s*```", lines[j]):
                j += 1
            if lang in ("cpp", "c++", "cxx"):
                annotation = None
                k = i - 1
                while k >= 0 and not lines[k].strip():
                    k -= 1
                if k >= 0:
                    a = ANNOTATION.match(lines[k])
                    if a:
                        annotation = a.group(1)
                        if annotation not in KNOWN_ANNOTATIONS:
                            problems.append(
                                "%s:%d: unknown annotation 'docs: %s' "
                                "(known: %s)" % (rel, k + 1, annotation,
                                                 ", ".join(sorted(
                                                     KNOWN_ANNOTATIONS))))
                body = [l[len(indent):] if l.startswith(indent) else l
                        for l in lines[start:j]]
                blocks.append(Block(path, rel, start + 1, "\n".join(body),
                                    annotation))
            i = j + 1
    return blocks, problems


def line_directive(block, offset=0):
    return '#line %d "%s"\n' % (block.line + offset, block.path)


def translation_unit(block):
    if block.is_program:
        return line_directive(block) + block.text + "\n"
    includes, body = [], []
    for n, text in enumerate(block.text.split("\n")):
        if text.lstrip().startswith("#include"):
            includes.append(line_directive(block, n) + text)
            body.append("")  # keep the line numbers of what follows
        else:
            body.append(text)
    out = FRAGMENT_PRELUDE + "\n".join(includes) + "\n"
    if block.annotation == "toplevel":
        out += line_directive(block) + "\n".join(body) + "\n"
        out += "#line 1 \"vitrine-docs-main\"\nint main() {}\n"
    else:
        out += "#line 1 \"vitrine-docs-fragment\"\n"
        out += "[[maybe_unused]] static void vitrine_docs_fragment() {\n"
        out += line_directive(block) + "\n".join(body) + "\n"
        out += "#line 1 \"vitrine-docs-main\"\n}\n"
        # Referenced, so the link checks every symbol the fragment uses.
        out += ("int main(int argc, char**) {\n"
                "  if (argc < 0) vitrine_docs_fragment();\n}\n")
    return out


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_project(blocks, work, package_dir):
    os.makedirs(work, exist_ok=True)
    cmake = [
        "cmake_minimum_required(VERSION 3.25)",
        "project(vitrine_docs LANGUAGES CXX)",
        "find_package(vitrine REQUIRED CONFIG PATHS \"%s\" NO_DEFAULT_PATH)"
        % package_dir,
        "# Our headers as a consumer sees them, held to its -Werror.",
        "set(CMAKE_NO_SYSTEM_FROM_IMPORTED ON)",
    ]
    for b in blocks:
        write_if_changed(os.path.join(work, b.name + ".cpp"),
                         translation_unit(b))
        cmake += [
            "add_executable(%s %s.cpp)" % (b.name, b.name),
            "target_compile_features(%s PRIVATE cxx_std_20)" % b.name,
            "target_compile_options(%s PRIVATE -Wall -Wextra -Wpedantic "
            "-Werror%s)" % (b.name, "" if b.is_program else
                            " -Wno-unused-variable -Wno-unused-but-set-variable"),
            "target_link_libraries(%s PRIVATE vitrine::vitrine%s)" % (
                b.name, " vitrine::baseline" if b.uses_baseline else ""),
        ]
    write_if_changed(os.path.join(work, "CMakeLists.txt"),
                     "\n".join(cmake) + "\n")


def become_subreaper():
    """Orphans of the programs we run are reparented to us, not to init:
    we see them even if they left the session, and we reap them."""
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def left_behind(sid):
    """Live processes of session sid, and any child of ours (orphans)."""
    me, pids = os.getpid(), []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: [0] state, [1] ppid, [3] session id.
        if fields[0] != "Z" and (int(fields[3]) == sid or
                                 int(fields[1]) == me):
            pids.append(int(stat.split("/")[2]))
    return pids


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_program(block, exe, timeout):
    """Runs exe in a new session; returns a problem string or None."""
    # Output to a file, not a pipe: a child left behind would hold a pipe
    # open and hide that the program itself has exited.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([exe], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
        log.seek(0)
        text = log.read().decode(errors="replace")
    # Processes of the program's session still alive after it exited (a
    # child's death signal may still be in flight: give it a moment).
    deadline = time.monotonic() + 2
    while True:
        reap_orphans()
        left = left_behind(proc.pid)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in left:  # orphans are ours to reap (subreaper)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    if timed_out:
        return "%s: the program ran past %d s (killed)\n%s" % (
            block.where(), timeout, text)
    if proc.returncode != 0:
        return "%s: the program exited with status %d\n%s" % (
            block.where(), proc.returncode, text)
    if left:
        return "%s: the program left %d process(es) behind: %s" % (
            block.where(), len(left), " ".join(map(str, left)))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--package-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--generator", default="Ninja")
    ap.add_argument("--build-type", default="Debug")
    ap.add_argument("--timeout", type=int, default=30)
    ap.add_argument("--jobs", default=str(os.cpu_count() or 2))
    args = ap.parse_args()

    blocks, problems = extract(os.path.abspath(args.source))
    if problems:
        print("\n".join(problems))
        return 1
    if not blocks:
        print("docs: no ```cpp block found")
        return 1
    write_project(blocks, args.work, os.path.abspath(args.package_dir))
    become_subreaper()

    build = os.path.join(args.work, "build")
    configure = subprocess.run(
        ["cmake", "-S", args.work, "-B", build, "-G", args.generator,
         "-DCMAKE_CXX_COMPILER=" + args.cxx,
         "-DCMAKE_BUILD_TYPE=" + args.build_type],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if configure.returncode != 0:
        print(configure.stdout)
        print("docs: configuring the docs project failed")
        return 1

    # One build of every block (-k: report them all), then attribute each
    # failed step (ninja's "FAILED: <output>" line) to its block.
    keep_going = ["-k", "0"] if "Ninja" in args.generator else ["-k"]
    r = subprocess.run(["cmake", "--build", build, "-j", args.jobs, "--"] +
                       keep_going, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    chunks, current = {}, None
    for line in r.stdout.split("\n"):
        if line.startswith("FAILED:"):
            current = next((b for b in blocks
                            if re.search(r"\b%s\b" % b.name, line)), None)
            if current is not None:
                chunks.setdefault(current.name, [])
            continue
        if line.startswith(("[", "ninja:", "make")) or \
                line.startswith(args.cxx) or current is None:
            continue
        chunks[current.name].append(line)

    failures = []
    compiled = 0
    for b in blocks:
        exe = os.path.join(build, b.name)
        src = os.path.join(args.work, b.name + ".cpp")
        built = os.path.exists(exe) and \
            os.path.getmtime(exe) >= os.path.getmtime(src)
        if not built:
            failures.append("%s: this ```cpp block does not compile:\n%s" %
                            (b.where(),
                             "\n".join(chunks.get(b.name, [r.stdout])).strip()))
            continue
        compiled += 1
        if b.is_program and b.annotation != "no-run":
            problem = run_program(b, exe, args.timeout)
            if problem:
                failures.append(problem)

    programs = sum(1 for b in blocks if b.is_program)
    print("docs: %d ```cpp blocks (%d programs, %d fragments) in %s" % (
        len(blocks), programs, len(blocks) - programs,
        ", ".join(sorted({b.rel for b in blocks}))))
    for f in failures:
        print("\n" + f)
    if failures:
        print("\ndocs: %d of %d blocks failed (convention: docs/testing.md)"
              % (len(failures), len(blocks)))
        return 1
    print("docs: all %d blocks compile; the programs ran clean" % compiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
