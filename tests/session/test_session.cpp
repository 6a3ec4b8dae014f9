// The session layer without a display: the job runner, the run model with its stores, the
// run watcher and the trainer host, under a QCoreApplication. Waits process events until a
// condition holds (QSignalSpy-style), never for a fixed time.
#include <unistd.h>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QThread>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>

#include "busy_probe.h"
#include "pretext/data/fs_util.h"
#include "pretext/runs/config.h"
#include "pretext/runs/run_dir.h"
#include "pretext/session/job_runner.h"
#include "pretext/session/run_model.h"
#include "pretext/session/run_watcher.h"
#include "pretext/session/trainer_host.h"
#include "test_util.h"

using namespace pretext;

namespace {

// Processes events until `done` holds or `timeoutMs` passed; true when it holds.
bool waitFor(const std::function<bool()>& done, int timeoutMs = 60000) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < timeoutMs) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (!done()) QThread::msleep(2);
  }
  return done();
}

// Every series of a store as comparable text (step and value of each point, in order).
std::map<std::string, std::vector<std::pair<std::int64_t, double>>> seriesOf(
    const core::MetricsAccumulator& acc) {
  std::map<std::string, std::vector<std::pair<std::int64_t, double>>> out;
  for (const auto& [key, pts] : acc.series())
    for (const auto& p : pts) out[key].push_back({p.step, p.value});
  return out;
}

std::size_t rowsIn(const session::MetricsStore& store) {
  std::size_t n = 0;
  if (store)
    for (const auto& [key, pts] : store->series()) n += pts.size();
  return n;
}

core::LaunchRequest request(const std::string& root, std::int64_t maxSteps) {
  core::LaunchRequest r;
  r.configOrPreset = "default";
  r.runsRoot = root;
  r.maxSteps = maxSteps;
  r.overrides = {"trainer.log_every=1", "trainer.checkpoint_every=4", "trainer.snapshot_every=4"};
  return r;
}

}  // namespace

TEST_CASE("job runner: the newest job of a lane wins; cancel drops a job", "[session][jobs]") {
  session::JobRunner jobs;
  std::atomic<bool> release{false};
  std::atomic<bool> firstSawCancel{false};
  std::vector<int> delivered;
  int dropped = 0;
  // The first job waits until released, then reports whether it was told it is superseded.
  jobs.run(
      "lane",
      [&](const session::CancelToken& token) {
        while (!release.load()) QThread::msleep(1);
        firstSawCancel = token.cancelled();
        return 1;
      },
      [&](int v) { delivered.push_back(v); }, [&] { ++dropped; });
  REQUIRE(jobs.busy("lane"));
  jobs.run(
      "lane", [](const session::CancelToken&) { return 2; }, [&](int v) { delivered.push_back(v); },
      [&] { ++dropped; });
  // Another lane is independent.
  jobs.run(
      "other", [](const session::CancelToken&) { return 3; },
      [&](int v) { delivered.push_back(v); });
  release = true;
  REQUIRE(jobs.waitForIdle(30000));
  std::sort(delivered.begin(), delivered.end());
  CHECK(delivered == std::vector<int>{2, 3});
  CHECK(dropped == 1);
  CHECK(firstSawCancel);
  CHECK(jobs.jobsDropped() == 1);
  CHECK(jobs.jobsDelivered() == 2);
  CHECK_FALSE(jobs.busy("lane"));

  SECTION("cancel: the result is dropped and the token says so") {
    std::atomic<bool> sawCancel{false};
    release = false;
    bool done = false, droppedNow = false;
    jobs.run(
        "lane",
        [&](const session::CancelToken& token) {
          while (!token.cancelled() && !release.load()) QThread::msleep(1);
          sawCancel = token.cancelled();
          return 4;
        },
        [&](int) { done = true; }, [&] { droppedNow = true; });
    jobs.cancel("lane");
    CHECK_FALSE(jobs.busy("lane"));
    REQUIRE(jobs.waitForIdle(30000));
    CHECK_FALSE(done);
    CHECK(droppedNow);
    CHECK(sawCancel);
  }

  SECTION("a job that throws reports its message") {
    QSignalSpy failed(&jobs, &session::JobRunner::failed);
    bool done = false;
    jobs.run(
        "bad",
        [](const session::CancelToken&) -> int { throw std::runtime_error("x.npy: bad magic"); },
        [&](int) { done = true; });
    REQUIRE(jobs.waitForIdle(30000));
    CHECK_FALSE(done);
    REQUIRE(failed.size() == 1);
    CHECK(failed.at(0).at(0).toString() == "bad");
    CHECK(failed.at(0).at(1).toString() == "x.npy: bad magic");
  }
}

TEST_CASE("run model: a live run, its resume and the same run read from disk give identical stores",
          "[session][model][train]") {
  pretext::test::TempDir root;
  session::RunModel live;
  QSignalSpy finished(&live, &session::RunModel::finished);
  QStringList problems;
  REQUIRE(live.start(request(root.str(), 8), problems));
  INFO(problems.join("\n").toStdString());
  const QString dir = live.currentRun();
  REQUIRE(waitFor([&] { return finished.size() == 1; }));
  CHECK(live.status().phase == core::RunPhase::Finished);
  CHECK(live.experimentKind() == "lidar_ssl");
  CHECK(live.samplesPerStep(dir) == 4);
  // Point snapshots at steps 0 (the untrained encoder), 4 and 8 are indexed.
  CHECK(live.snapshotSteps() == std::vector<std::int64_t>{0, 4, 8});
  REQUIRE(live.snapshot());
  CHECK(live.snapshot()->step == 8);

  // Resumed from step 8 to 12: the history up to the checkpoint is read from disk in
  // pieces (RunWatcher::readHistory), then the live rows follow.
  core::LaunchRequest resume;
  resume.resumeDir = dir.toStdString();
  resume.maxSteps = 12;
  resume.runsRoot = root.str();
  REQUIRE(live.start(resume, problems));
  CHECK(live.host()->startStep() == 8);
  REQUIRE(waitFor([&] { return finished.size() == 2; }));
  REQUIRE(waitFor([&] { return !live.loading(); }));
  const auto liveStore = live.metrics(dir);
  REQUIRE(liveStore);

  session::RunModel disk;
  disk.open(dir);
  const std::size_t expected = rowsIn(liveStore);
  REQUIRE(expected > 0);
  REQUIRE(waitFor([&] { return rowsIn(disk.metrics(dir)) >= expected; }));
  const auto fromDisk = seriesOf(*disk.metrics(dir)), fromLive = seriesOf(*liveStore);
  for (const auto& [key, pts] : fromDisk) {
    INFO(key);
    REQUIRE(fromLive.count(key));
    CHECK(fromLive.at(key) == pts);
  }
  CHECK(fromLive.size() == fromDisk.size());
  CHECK(fromDisk.at("loss/total").back().first == 12);
  CHECK(fromDisk.at("loss/total").size() == 12);  // steps 1..12, each once
  // The resume point is a segment boundary in both.
  CHECK(disk.metrics(dir)->resumeSteps() == std::vector<std::int64_t>{8});
  REQUIRE(waitFor([&] { return disk.experimentKind() == "lidar_ssl"; }));
  // Snapshots listed from disk, the newest shown; showing step 4 loads it.
  REQUIRE(waitFor([&] { return disk.snapshotSteps().size() == 4; }));
  CHECK(disk.snapshotSteps() == std::vector<std::int64_t>{0, 4, 8, 12});
  REQUIRE(waitFor([&] { return disk.snapshot() && disk.snapshot()->step == 12; }));
  disk.showSnapshot(1);
  CHECK_FALSE(disk.followingNewest());
  REQUIRE(waitFor([&] { return disk.snapshot()->step == 4; }));
}

TEST_CASE("run model: 10^6 metric rows are read in pieces, the GUI thread never busy > 50 ms",
          "[session][model][busy]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  pretext::test::appendLongHistory(writer->dir(), 1000000);
  const QString dir = QString::fromStdString(writer->dir());
  session::RunModel model;
  QSignalSpy progress(&model, &session::RunModel::loadProgress);
  QSignalSpy changed(&model, &session::RunModel::metricsChanged);
  // The GUI thread's longest busy stretch in its own CPU time (busy_probe.h): the machine's
  // load does not change it.
  pretext::test::BusyProbe busy;
  model.open(dir);
  QElapsedTimer t;
  t.start();
  while (rowsIn(model.metrics(dir)) < 1000000 && t.elapsed() < 120000)
    busy.processEvents(QEventLoop::AllEvents, 10);
  busy.stop();
  INFO(busy.summary() << "; " << changed.size() << " pieces");
  CHECK(rowsIn(model.metrics(dir)) == 1000000);
  CHECK(changed.size() >= 10);  // 2 MiB pieces of a ~30 MB file
  REQUIRE(progress.size() >= 10);
  CHECK(progress.last().at(0).toLongLong() == progress.last().at(1).toLongLong());
  CHECK(busy.stretches() > 20);
  CHECK(busy.longestMs() < 50);

  SECTION("cancelled part-way, the store keeps what was read and nothing more arrives") {
    model.open(dir);
    REQUIRE(waitFor([&] { return model.loading(); }, 30000));
    model.cancelLoading();
    CHECK_FALSE(model.loading());
    const auto kept = rowsIn(model.metrics(dir));
    const auto pieces = changed.size();
    // Long enough for several more pieces, had the read gone on.
    QElapsedTimer w;
    w.start();
    while (w.elapsed() < 1500) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    CHECK(rowsIn(model.metrics(dir)) == kept);
    CHECK(changed.size() == pieces);
    CHECK(kept < 1000000);
  }
}

TEST_CASE("run watcher: tails status, rows and snapshots; bad files become warnings",
          "[session][watch]") {
  pretext::test::TempDir root;
  std::string err;
  auto writer = core::RunDirWriter::create(root.str(), core::Config::defaults(), err);
  REQUIRE(writer);
  session::RunWatcher watcher;
  std::vector<core::MetricRow> rows;
  QObject::connect(
      &watcher, &session::RunWatcher::metricsArrived,
      [&](const std::vector<core::MetricRow>& r) { rows.insert(rows.end(), r.begin(), r.end()); });
  QSignalSpy status(&watcher, &session::RunWatcher::statusChanged);
  QSignalSpy snaps(&watcher, &session::RunWatcher::snapshotArrived);
  QSignalSpy warnings(&watcher, &session::RunWatcher::logLine);
  watcher.watch(QString::fromStdString(writer->dir()), 50);
  REQUIRE(
      writer->appendMetrics({{1, 1, 0.1, "loss/total", 2.0}, {1, 2, 0.2, "loss/total", 1.5}}, err));
  core::RunStatus st;
  st.phase = core::RunPhase::Running;
  st.step = 2;
  st.maxSteps = 10;
  st.updatedAt = 123;
  st.pid = static_cast<int>(::getpid());  // alive: this process
  st.host = core::hostName();
  REQUIRE(writer->writeStatus(st, err));
  REQUIRE(waitFor(
      [&] {
        return rows.size() == 2 && !status.isEmpty() &&
               status.last().at(0).value<core::RunStatus>().step == 2;
      },
      30000));
  CHECK(rows[1].value == 1.5);
  CHECK(status.last().at(0).value<core::RunStatus>().phase == core::RunPhase::Running);
  CHECK_FALSE(status.last().at(0).value<core::RunStatus>().stale);
  core::PointSnapshot snap;
  snap.step = 2;
  snap.xyz = {0, 0, 0, 1, 1, 1};
  snap.fields["equiv_error"] = {0.5f, 0.25f};
  REQUIRE(writer->writeSnapshot(snap, err));
  REQUIRE(waitFor([&] { return !snaps.isEmpty(); }, 30000));
  CHECK(snaps.last().at(0).value<core::PointSnapshotPtr>()->fields.at("equiv_error")[1] == 0.25f);
  // A damaged snapshot is a warning naming the file, not a crash, and not delivered.
  snap.step = 4;
  REQUIRE(writer->writeSnapshot(snap, err));
  const std::string bad = core::snapshotDir(writer->dir(), 4) + "/points.npy";
  std::ofstream(bad, std::ios::trunc) << "not numpy";
  REQUIRE(waitFor([&] { return !warnings.isEmpty(); }, 30000));
  CHECK(warnings.last().at(1).toString().contains("points.npy"));
  CHECK(snaps.size() == 1);
  // The writer dies (a status that says running, from a process that is gone): the next
  // polls say stale, although status.json never changes again.
  st.pid = 999999999;  // no such process
  st.updatedAt = 124;
  REQUIRE(writer->writeStatus(st, err));
  REQUIRE(waitFor([&] { return status.last().at(0).value<core::RunStatus>().stale; }, 30000));
  CHECK(status.last().at(0).value<core::RunStatus>().phase == core::RunPhase::Running);
  watcher.stopWatching();
  CHECK(watcher.runDir().isEmpty());
}

TEST_CASE("trainer host: refuses a bad config with the key, trains, pauses and stops",
          "[session][host][train]") {
  pretext::test::TempDir root;
  session::TrainerHost host;
  std::vector<core::ConfigIssue> issues;
  std::string error;
  auto bad = request(root.str(), 8);
  bad.overrides.push_back("trainer.batch_size=0");
  CHECK_FALSE(host.start(bad, issues, error));
  REQUIRE_FALSE(issues.empty());
  CHECK(issues.front().toString().find("trainer.batch_size") != std::string::npos);
  CHECK_FALSE(host.active());

  QSignalSpy finished(&host, &session::TrainerHost::finished);
  QSignalSpy status(&host, &session::TrainerHost::statusChanged);
  std::size_t rows = 0;
  QObject::connect(&host, &session::TrainerHost::metricsArrived,
                   [&](const std::vector<core::MetricRow>& r) { rows += r.size(); });
  REQUIRE(host.start(request(root.str(), 400), issues, error));
  CHECK(host.active());
  CHECK(host.batchSize() == 4);
  REQUIRE(waitFor([&] { return host.lastStatus().step >= 2; }));
  host.pause();
  REQUIRE(waitFor([&] { return host.lastStatus().phase == core::RunPhase::Paused; }));
  host.resume();
  REQUIRE(waitFor([&] { return host.lastStatus().phase == core::RunPhase::Running; }));
  host.stop();
  REQUIRE(waitFor([&] { return finished.size() == 1; }));
  const auto final = finished.at(0).at(0).value<core::RunStatus>();
  CHECK(final.phase == core::RunPhase::Stopped);
  CHECK(final.step < 400);
  CHECK(rows > 0);
  CHECK_FALSE(host.active());
}
