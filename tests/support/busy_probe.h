#pragma once
// How long the GUI thread is busy in one go, measured so that the machine's load does not
// change the figure (issue #21, item 11).
//
// The old probes timed the gaps between ticks of a 10 ms QTimer with a wall clock. On a
// loaded 2-core CI machine the GUI thread waits for a core, and those waits showed up as
// "stalls" although the thread did no more work. BusyProbe counts the GUI thread's own CPU
// time instead (CLOCK_THREAD_CPUTIME_ID: time spent waiting for a core, sleeping in poll()
// or in other threads is not counted) and cuts it into stretches at every point where the
// thread is back in its event loop:
//   - the event dispatcher's aboutToBlock() and awake() signals. Qt's glib dispatcher emits
//     aboutToBlock() before and awake() after each blocking iteration (the events are
//     dispatched in between), and awake() at the start of every non-blocking call; the UNIX
//     dispatcher emits awake() at the start of each call and aboutToBlock() before poll();
//   - before and after each BusyProbe::processEvents() call, for the tests' manual
//     processEvents loops (such a call need not block, so aboutToBlock() may not fire).
// A stretch's CPU time is then what one event-loop iteration (or the test's own code
// between two iterations) cost the GUI thread: an input event arriving during it would
// wait at least that long on any machine.
//
// Not seen by this measure, by design: the wall-clock delay that other processes cause.
// Also not seen: time the GUI thread spends blocked (a mutex held by a worker, an X server
// round trip); bench/gui_gaps_bench.cpp reports the wall-clock gaps next to these figures.
#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QObject>
#include <QThread>
#include <QTimer>
#include <algorithm>
#include <ctime>
#include <sstream>
#include <string>

namespace pretext::test {

// CPU time the calling thread has used so far, in ms.
inline double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Keeps the calling thread busy until it has used `ms` more CPU time (a simulated stall).
inline void burnThreadCpu(double ms) {
  const double until = threadCpuMs() + ms;
  volatile unsigned sink = 0;
  while (threadCpuMs() < until) sink = sink + 1;
}

// Records the GUI thread's busy stretches from construction to stop() (or destruction).
// Construct and use it on the GUI thread only.
class BusyProbe {
 public:
  BusyProbe() : m_dispatcher(QAbstractEventDispatcher::instance()) {
    m_wall.start();
    m_lastCpu = threadCpuMs();
    if (!m_dispatcher || QThread::currentThread() != QCoreApplication::instance()->thread())
      return;  // stretches() stays 0: a test requiring stretches fails
    m_awake = QObject::connect(m_dispatcher, &QAbstractEventDispatcher::awake, [this] { mark(); });
    m_aboutToBlock =
        QObject::connect(m_dispatcher, &QAbstractEventDispatcher::aboutToBlock, [this] { mark(); });
    m_running = true;
  }
  ~BusyProbe() { stop(); }
  BusyProbe(const BusyProbe&) = delete;
  BusyProbe& operator=(const BusyProbe&) = delete;

  // Ends the measurement (closing the current stretch); later marks are ignored.
  void stop() {
    if (!m_running) return;
    mark();
    QObject::disconnect(m_awake);
    QObject::disconnect(m_aboutToBlock);
    m_running = false;
    m_wallMs = m_wall.elapsed();
  }

  // QCoreApplication::processEvents(flags, maxtimeMs) with a stretch boundary before and
  // after: the test's own code between two calls is a stretch of its own.
  void processEvents(QEventLoop::ProcessEventsFlags flags, int maxtimeMs) {
    mark();
    QCoreApplication::processEvents(flags, maxtimeMs);
    mark();
  }

  // Closes the current stretch here.
  void mark() {
    if (!m_running) return;
    const double cpu = threadCpuMs();
    const double busy = cpu - m_lastCpu;
    m_lastCpu = cpu;
    ++m_stretches;
    m_totalMs += busy;
    if (busy > m_longestMs) {
      m_longestMs = busy;
      m_longestEndedAtMs = m_wall.elapsed();
    }
  }

  // The longest single stretch, in ms of GUI-thread CPU time.
  double longestMs() const { return m_longestMs; }
  // How many stretches were closed (event-loop iterations seen, roughly).
  long stretches() const { return m_stretches; }
  // All GUI-thread CPU time while measuring, in ms.
  double totalMs() const { return m_totalMs; }
  // Wall-clock ms from construction to stop() (or to now while running).
  qint64 wallMs() const { return m_running ? m_wall.elapsed() : m_wallMs; }

  std::string summary() const {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(1);
    s << "GUI thread: longest busy stretch " << m_longestMs << " ms CPU (ended at "
      << m_longestEndedAtMs << " ms), " << m_stretches << " stretches, " << m_totalMs
      << " ms CPU in total over " << wallMs() << " ms wall";
    return s.str();
  }

 private:
  QAbstractEventDispatcher* m_dispatcher;
  QMetaObject::Connection m_awake, m_aboutToBlock;
  QElapsedTimer m_wall;
  bool m_running = false;
  double m_lastCpu = 0, m_longestMs = 0, m_totalMs = 0;
  long m_stretches = 0;
  qint64 m_longestEndedAtMs = 0, m_wallMs = 0;
};

// The old wall-clock measure, for reports only (it depends on the machine's load): the
// largest gap between ticks of a 10 ms QTimer on the GUI thread.
class TickGaps {
 public:
  TickGaps() {
    m_clock.start();
    QObject::connect(&m_timer, &QTimer::timeout, [this] {
      const qint64 now = m_clock.elapsed();
      if (m_ticks++ > 0) m_worstMs = std::max(m_worstMs, now - m_last);
      m_last = now;
    });
    m_timer.start(10);
  }
  void stop() { m_timer.stop(); }
  qint64 worstMs() const { return m_worstMs; }
  int ticks() const { return m_ticks; }
  std::string summary() const {
    std::ostringstream s;
    s << "wall clock (load-dependent, not checked): worst gap between 10 ms ticks " << m_worstMs
      << " ms, " << m_ticks << " ticks";
    return s.str();
  }

 private:
  QElapsedTimer m_clock;
  QTimer m_timer;
  qint64 m_last = 0, m_worstMs = 0;
  int m_ticks = 0;
};

}  // namespace pretext::test
