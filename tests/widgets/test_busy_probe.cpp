// The GUI-thread busy probe (busy_probe.h) must see a stall, or the responsiveness checks
// built on it could never fail.
#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>
#include <catch2/catch.hpp>

#include "busy_probe.h"

using pretext::test::burnThreadCpu;
using pretext::test::BusyProbe;

TEST_CASE("the busy probe sees a 300 ms stall of the GUI thread, and none when it idles",
          "[gui][probe][busy]") {
  QTimer ticks;  // the event loop iterates every 10 ms, as in the tests that use the probe
  ticks.start(10);

  SECTION("a slot run by a blocking event loop") {
    BusyProbe busy;
    QTimer::singleShot(50, [] { burnThreadCpu(300); });
    QEventLoop loop;
    QTimer::singleShot(600, &loop, &QEventLoop::quit);
    loop.exec();
    busy.stop();
    INFO(busy.summary());
    CHECK(busy.stretches() > 20);
    CHECK(busy.longestMs() >= 295);
    CHECK(busy.longestMs() < 400);  // the stall alone, not the whole loop
  }

  SECTION("a slot run by a manual processEvents loop") {
    BusyProbe busy;
    // Iterate until the stall has run and 30 more iterations followed: a count of work done,
    // not a wall-clock span (a loaded machine slows the loop, not the outcome).
    bool burned = false;
    QTimer::singleShot(50, [&burned] {
      burnThreadCpu(300);
      burned = true;
    });
    int after = 0;
    while (!burned || after++ < 30) busy.processEvents(QEventLoop::AllEvents, 10);
    busy.stop();
    INFO(busy.summary());
    CHECK(busy.stretches() > 20);
    CHECK(busy.longestMs() >= 295);
    CHECK(busy.longestMs() < 400);
  }

  SECTION("an idle event loop") {
    BusyProbe busy;
    QEventLoop loop;
    QTimer::singleShot(300, &loop, &QEventLoop::quit);
    loop.exec();
    busy.stop();
    INFO(busy.summary());
    CHECK(busy.stretches() > 20);
    CHECK(busy.longestMs() < 50);
  }
}
