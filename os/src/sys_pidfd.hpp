// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37): without this
// wrapper C++ code links against mangled names that do not exist.
#pragma once

#include <fcntl.h>
#include <signal.h>

extern "C" {
#include <sys/pidfd.h>
}
