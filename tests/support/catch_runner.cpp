// The Catch2 implementation, compiled once for every test executable: the translation unit
// that defines it costs ~20 s of a 2-core build each time it is compiled. Each executable's
// main (a plain one, or one that first creates its Qt application) calls runCatch.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_runner.h"

namespace pretext::test {

int runCatch(int argc, char** argv) { return Catch::Session().run(argc, argv); }

}  // namespace pretext::test
