#pragma once
// Runs the Catch2 session (tests/support/catch_runner.cpp) with the command line.
namespace pretext::test {
int runCatch(int argc, char** argv);
}
