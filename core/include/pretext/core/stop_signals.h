#pragma once
// SIGINT and SIGTERM stop a run cleanly: the programs block them in every thread and take
// them with sigwait on one thread of their own. Blocking must happen before any library
// starts a thread (OpenBLAS does in its constructor, before main), so each program calls
// blockStopSignals from its .preinit_array:
//
//   static void preinit(int, char**, char**) { pretext::core::blockStopSignals(); }
//   __attribute__((section(".preinit_array"), used)) static void (*early)(int, char**,
//                                                                         char**) = &preinit;
#include <signal.h>

namespace pretext::core {

// {SIGINT, SIGTERM}
sigset_t stopSignals();
// Blocks them in the calling thread (and so in every thread it starts later).
void blockStopSignals();

}  // namespace pretext::core
