// Catch2 main for the display-free tests.
#include "catch_runner.h"

int main(int argc, char** argv) { return pretext::test::runCatch(argc, argv); }
