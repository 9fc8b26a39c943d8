// ctl_line: the line `vitrine ctl` prints for one NAME of its request
// (`api: running pid=42`, `api: FAILED: ...`), for a run's programs and a
// node's alike (docs/cli.md: "each line is the local ctl's").
//
// Threads: any (stdio locks the stream). Cost: one fwrite.
#pragma once

#include <cstdio>
#include <string>

#include "control_protocol.hpp"
#include "print_line.hpp"
#include "text_escape.hpp"

namespace vitrine::cli {

/// `waited`: the effect was awaited (else the line says `sent; `).
inline void print_ctl_line(const control::result& x, bool waited) {
  if (x.ok) {
    print_line(stdout, {terminal_safe(x.name), ": ", waited ? "" : "sent; ",
                        terminal_safe(x.status),
                        x.pid ? " pid=" + std::to_string(x.pid) : ""});
  } else {
    // One line per name: a newline in it (a path in a spawn error) is
    // written as \x0a, as `status` shows it.
    print_line(stdout,
               {terminal_safe(x.name), ": FAILED: ", terminal_safe(x.error)});
  }
}

}  // namespace vitrine::cli
