// The Catch2 runner shared by all vitrine test binaries.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
