#pragma once
// SIGINT and SIGTERM stop a run cleanly: the programs block them in every thread and take
// them with sigwait on one thread of their own. Blocking must happen before any library
// starts a thread (OpenBLAS does in its constructor, before main), so each program blocks
// them from its .preinit_array, which runs before any shared library's constructor; the
// mask set there is inherited by every thread the process ever has. One line at namespace
// scope of the program's main.cpp does it:
//
//   PRETEXT_BLOCK_STOP_SIGNALS_BEFORE_MAIN();
//
// Then main() takes them with a StopSignalWatch (below).
#include <signal.h>

#include <functional>
#include <string>

namespace pretext::core {

// {SIGINT, SIGTERM}
sigset_t stopSignals();
// Blocks them in the calling thread (and so in every thread it starts later).
void blockStopSignals();

// Takes SIGINT and SIGTERM on one detached thread that waits for them with sigwait (the
// signals must be blocked: blockStopSignals). The first signal prints "\n" + `message` to
// stderr and calls `onStop` on that thread; a second one ends the process at once with
// _exit(130). The thread outlives main(): it reaches `onStop` only under a mutex, through a
// pointer the destructor clears under the same mutex, so a signal that arrives as main()
// returns finds nothing to stop (it still counts for signalled()). Construct it after what
// onStop touches, so it is destroyed first.
//
// One per process at a time; the thread is started by the first one and serves the later.
class StopSignalWatch {
 public:
  StopSignalWatch(std::string message, std::function<void()> onStop);
  ~StopSignalWatch();
  StopSignalWatch(const StopSignalWatch&) = delete;
  StopSignalWatch& operator=(const StopSignalWatch&) = delete;

  // A stop signal has arrived since the thread started.
  static bool signalled();

 private:
  friend struct StopSignalThread;
  std::string m_message;
  std::function<void()> m_onStop;
};

}  // namespace pretext::core

// Blocks the stop signals from .preinit_array (see above). Executables only: a shared
// library cannot have a .preinit_array.
#define PRETEXT_BLOCK_STOP_SIGNALS_BEFORE_MAIN()                                           \
  static void pretextBlockStopSignalsEarly(int, char**, char**) {                          \
    ::pretext::core::blockStopSignals();                                                   \
  }                                                                                        \
  __attribute__((section(".preinit_array"), used)) static void (*pretextPreinitBlockStop)( \
      int, char**, char**) = &pretextBlockStopSignalsEarly
