#include "pretext/data/stop_signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

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

// What the signal thread touches. Static and trivially destructible: the thread outlives
// main() and may run while static destructors do.
struct StopSignalThread {
  static inline std::atomic<bool> signalled{false};
  static inline std::mutex mutex;
  static inline StopSignalWatch* live = nullptr;

  static void run() {
    const sigset_t sigs = stopSignals();
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0) {
      if (signalled.exchange(true)) _exit(130);
      std::lock_guard<std::mutex> lock(mutex);
      if (!live) continue;  // main() is returning: what would be stopped has ended
      std::fprintf(stderr, "\n%s\n", live->m_message.c_str());
      live->m_onStop();
    }
  }
};

StopSignalWatch::StopSignalWatch(std::string message, std::function<void()> onStop)
    : m_message(std::move(message)), m_onStop(std::move(onStop)) {
  {
    std::lock_guard<std::mutex> lock(StopSignalThread::mutex);
    StopSignalThread::live = this;
  }
  static std::once_flag started;
  std::call_once(started, [] { std::thread(&StopSignalThread::run).detach(); });
}

StopSignalWatch::~StopSignalWatch() {
  std::lock_guard<std::mutex> lock(StopSignalThread::mutex);
  if (StopSignalThread::live == this) StopSignalThread::live = nullptr;
}

bool StopSignalWatch::signalled() { return StopSignalThread::signalled.load(); }

}  // namespace pretext::core
