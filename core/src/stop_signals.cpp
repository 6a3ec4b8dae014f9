#include "pretext/core/stop_signals.h"

#include <pthread.h>

namespace pretext::core {

sigset_t stopSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  return sigs;
}

void blockStopSignals() {
  const sigset_t sigs = stopSignals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
}

}  // namespace pretext::core
