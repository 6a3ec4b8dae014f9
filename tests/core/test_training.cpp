#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "pretext/data/fs_util.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/training_job.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {

struct Recorder : EventSink {
  std::vector<MetricRow> rows;
  std::vector<RunStatus> statuses;
  int snapshots = 0;
  std::vector<std::string> logs;
  ControlBlock* stopAfterFirstStep = nullptr;
  void onMetrics(const std::vector<MetricRow>& r) override {
    rows.insert(rows.end(), r.begin(), r.end());
  }
  void onStatus(const RunStatus& s) override {
    statuses.push_back(s);
    if (stopAfterFirstStep && s.step >= 1) stopAfterFirstStep->requestStop();
  }
  void onSnapshot(PointSnapshotPtr) override { ++snapshots; }
  void onLog(LogLevel, const std::string& l) override { logs.push_back(l); }
};

using pretext::test::prepareJob;

// Rewrites a checkpoint's manifest for its current files, as if they had been saved so.
void resealManifest(const std::string& checkpointDir) {
  nlohmann::json files = nlohmann::json::array();
  for (const char* name : {"model.pt", "optimizer.pt", "state.json"}) {
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    std::string err;
    REQUIRE(fileCrc32(checkpointDir + "/" + name, crc, size, err));
    files.push_back({{"name", name}, {"size", size}, {"crc32", crc}});
  }
  std::string state, err;
  REQUIRE(readFile(checkpointDir + "/state.json", state, err));
  const auto step = nlohmann::json::parse(state).at("step");
  REQUIRE(writeFileAtomic(checkpointDir + "/manifest.json",
                          nlohmann::json{{"step", step}, {"files", files}}.dump(), err));
}

LaunchRequest quick(const std::string& root) {
  LaunchRequest r;
  r.configOrPreset = "quick-test";
  r.runsRoot = root;
  r.overrides = {"trainer.max_steps=12", "trainer.checkpoint_every=4", "trainer.log_every=1",
                 "trainer.lr_schedule=cosine"};
  return r;
}

}  // namespace

TEST_CASE("a short run finishes and leaves a complete run directory", "[train]") {
  configureThreads(0);
  pretext::test::TempDir root;
  auto job = prepareJob(quick(root.str()));
  ControlBlock control;
  Recorder rec;
  RunStatus st = job->run(control, rec);
  INFO(st.error);
  REQUIRE(st.phase == RunPhase::Finished);
  CHECK(st.step == 12);
  std::string err;
  auto disk = readStatus(job->runDir(), err);
  REQUIRE(disk);
  CHECK(disk->phase == RunPhase::Finished);
  CHECK(latestCheckpoint(job->runDir()) == 12);
  auto acc = readMetrics(job->runDir());
  for (const char* key : {"loss/total", "loss/pnce", "loss/ebc", "equiv/match_top1",
                          "equiv/rot_cls_acc", "equiv/probe_err", "train/lr", "perf/steps_per_sec"})
    CHECK(acc.series().count(key) == 1);
  CHECK(acc.series().at("loss/total").size() == 12);
  CHECK(fs::is_regular_file(job->runDir() + "/snapshots/" + checkpointDirName(10) +
                            "/equiv_error.npy"));
  CHECK(rec.snapshots >= 3);
  // The temporal branch's probe pair: truth, feature-matching prediction and their error.
  std::string snapErr;
  auto snap = readPointSnapshot(job->runDir() + "/snapshots/" + checkpointDirName(10), snapErr);
  INFO(snapErr);
  REQUIRE(snap);
  // The simulator's labels ride along for colouring by class and instance.
  CHECK(snap->fields.count("class") == 1);
  CHECK(snap->fields.count("instance") == 1);
  REQUIRE(snap->flow);
  const auto& f = *snap->flow;
  CHECK(f.size() == 512);
  CHECK(f.second.size() == 3 * 512);
  CHECK(f.truth.size() == f.first.size());
  CHECK(f.predicted.size() == f.first.size());
  CHECK(f.kind == "exact");
  // A predicted flow ends on a next-frame point, so its error is at least the distance from
  // where the point truly goes to the nearest next-frame point: EPE >= its floor.
  const auto& series = acc.series();
  REQUIRE(series.count("equiv/flow_epe") == 1);
  for (std::size_t i = 0; i < series.at("equiv/flow_epe").size(); ++i) {
    const double epe = series.at("equiv/flow_epe")[i].value;
    const double floor = series.at("equiv/flow_epe_floor")[i].value;
    CHECK(std::isfinite(epe));
    CHECK(epe >= floor - 1e-5);
    CHECK(floor > 0);
    CHECK(series.at("equiv/flow_epe_zero")[i].value > 0);
  }
}

TEST_CASE("resume equivalence: N steps == k steps + resume + N-k steps", "[train]") {
  configureThreads(0);
  pretext::test::TempDir root;
  auto straight = prepareJob(quick(root / "a"));
  ControlBlock c1;
  NullSink none;
  REQUIRE(straight->run(c1, none).phase == RunPhase::Finished);

  auto reqB = quick(root / "b");
  reqB.untilStep = 7;  // not a multiple of checkpoint_every: the stop writes its own checkpoint
  auto first = prepareJob(reqB);
  ControlBlock c2;
  RunStatus mid = first->run(c2, none);
  REQUIRE(mid.phase == RunPhase::Stopped);
  CHECK(mid.step == 7);
  const std::string dirB = first->runDir();
  first.reset();

  LaunchRequest resume;
  resume.resumeDir = dirB;
  auto second = prepareJob(resume);
  CHECK(second->startStep() == 7);
  ControlBlock c3;
  REQUIRE(second->run(c3, none).phase == RunPhase::Finished);

  std::string da, db, err;
  REQUIRE(latestCheckpoint(straight->runDir(), &da) == 12);
  REQUIRE(latestCheckpoint(dirB, &db) == 12);
  double diff = maxWeightDifference(da, db, err);
  INFO(err);
  REQUIRE(diff >= 0);
  CHECK(diff <= 1e-6);
  // The resumed run's curve has one point per step, with the resume marker at 7.
  auto acc = readMetrics(dirB);
  CHECK(acc.series().at("loss/total").size() == 12);
  CHECK(acc.resumeSteps() == std::vector<std::int64_t>{7});
  // And the curves agree with the straight run.
  auto accA = readMetrics(straight->runDir());
  for (std::size_t i = 0; i < 12; ++i)
    CHECK(acc.series().at("loss/total")[i].value ==
          Approx(accA.series().at("loss/total")[i].value).epsilon(1e-5));
}

TEST_CASE("apply at next step: live changes equal a run started with them, survive resume",
          "[train]") {
  configureThreads(0);
  pretext::test::TempDir root;
  // A: the values set from the start.
  auto reqA = quick(root / "a");
  reqA.overrides.insert(reqA.overrides.end(), {"trainer.lr=0.00037", "objective.flow.weight=10"});
  auto straight = prepareJob(reqA);
  ControlBlock cA;
  NullSink none;
  REQUIRE(straight->run(cA, none).phase == RunPhase::Finished);

  // B: the defaults, changed before step 1 (with refused requests mixed in), stopped at
  // 7 and resumed: the changes must carry over through the checkpoint.
  auto reqB = quick(root / "b");
  reqB.untilStep = 7;
  auto first = prepareJob(reqB);
  ControlBlock cB;
  for (auto [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"trainer.lr", "0.00037"},
                                                        {"model.width", "64"},
                                                        {"trainer.lr", "-1"},
                                                        {"objective.global.weight", "2"},
                                                        {"objective.flow.weight", "10"},
                                                        {"no.such", "1"}})
    cB.requestChange(k, v);
  Recorder rec;
  REQUIRE(first->run(cB, rec).phase == RunPhase::Stopped);
  const std::string dirB = first->runDir();
  first.reset();
  auto logged = [&](const std::string& text) {
    for (const auto& l : rec.logs)
      if (l.find(text) != std::string::npos) return true;
    return false;
  };
  std::string allLogs;
  for (const auto& l : rec.logs) allLogs += l + "\n";
  INFO(allLogs);
  CHECK(logged("step 1: trainer.lr 0.001 -> 0.00037"));
  CHECK(logged("step 1: objective.flow.weight 300.0 -> 10.0"));
  CHECK(logged("not applied: model.width cannot change while the run trains"));
  CHECK(logged("not applied: trainer.lr:"));
  CHECK(logged("not applied: objective.global.weight: this objective was not built"));
  CHECK(logged("not applied: no.such cannot change"));
  std::string events, err;
  REQUIRE(readFile(dirB + "/events.jsonl", events, err));
  CHECK(events.find("\"type\":\"param_change\"") != std::string::npos);
  CHECK(events.find("\"key\":\"trainer.lr\",\"from\":\"0.001\",\"to\":\"0.00037\"") !=
        std::string::npos);
  std::string ckpt, state;
  REQUIRE(latestCheckpoint(dirB, &ckpt) == 7);
  REQUIRE(readFile(ckpt + "/state.json", state, err));
  CHECK(state.find("\"trainer.lr\": \"0.00037\"") != std::string::npos);

  LaunchRequest resume;
  resume.resumeDir = dirB;
  auto second = prepareJob(resume);
  // Before the run starts, the job's config already holds the changes it will train with.
  CHECK(second->config().getFloat("trainer.lr") == Approx(0.00037));
  CHECK(second->config().getFloat("objective.flow.weight") == Approx(10.0));
  CHECK(second->resumedOverrides() ==
        std::vector<std::string>{"objective.flow.weight=10.0", "trainer.lr=0.00037"});
  ControlBlock cR;
  const RunStatus resumed = second->run(cR, none);
  INFO(resumed.error);
  REQUIRE(resumed.phase == RunPhase::Finished);
  std::string da, db;
  REQUIRE(latestCheckpoint(straight->runDir(), &da) == 12);
  REQUIRE(latestCheckpoint(dirB, &db) == 12);
  const double diff = maxWeightDifference(da, db, err);
  INFO(err);
  REQUIRE(diff >= 0);
  CHECK(diff <= 1e-6);
  auto lrA = readMetrics(straight->runDir()).series().at("train/lr");
  auto lrB = readMetrics(dirB).series().at("train/lr");
  REQUIRE(lrA.size() == lrB.size());
  for (std::size_t i = 0; i < lrA.size(); ++i) CHECK(lrB[i].value == Approx(lrA[i].value));
}

TEST_CASE("a checkpoint's malformed live_overrides are refused before the run resumes", "[train]") {
  pretext::test::TempDir root;
  auto req = quick(root.str());
  req.untilStep = 2;
  std::string dir;
  {
    auto job = prepareJob(req);
    ControlBlock c;
    NullSink none;
    REQUIRE(job->run(c, none).phase == RunPhase::Stopped);
    dir = job->runDir();
  }
  std::string ckpt, err;
  REQUIRE(latestCheckpoint(dir, &ckpt) == 2);
  const std::string path = ckpt + "/state.json";
  std::string original;
  REQUIRE(readFile(path, original, err));
  auto withLive = [&](const std::string& live) {
    std::string text = original;
    const auto at = text.find("\"live_overrides\": {}");
    REQUIRE(at != std::string::npos);
    text.replace(at, std::string("\"live_overrides\": {}").size(), "\"live_overrides\": " + live);
    REQUIRE(writeFileAtomic(path, text, err));
    resealManifest(ckpt);  // a well-formed checkpoint whose values are bad
  };
  auto refusal = [&] {
    LaunchRequest r;
    r.resumeDir = dir;
    std::vector<ConfigIssue> issues;
    std::string error;
    auto job = TrainingJob::prepare(r, issues, error);
    CHECK_FALSE(job);
    for (const auto& i : issues) error += "\n" + i.toString();
    return error;
  };
  withLive("{\"model.width\": \"64\"}");
  CHECK_THAT(refusal(), Catch::Contains("state.json: live_overrides: model.width cannot change"));
  withLive("{\"trainer.lr\": \"fast\"}");
  const std::string bad = refusal();
  CHECK_THAT(bad, Catch::Contains("live_overrides do not apply"));
  CHECK_THAT(bad, Catch::Contains("trainer.lr"));
  withLive("{\"trainer.lr\": 0.1}");
  CHECK_THAT(refusal(), Catch::Contains("trainer.lr: expected a string value"));
  withLive("[1, 2]");
  CHECK_THAT(refusal(), Catch::Contains("live_overrides: expected an object"));
  // Nothing was written by the refused attempts: the original resumes and finishes.
  REQUIRE(writeFileAtomic(path, original, err));
  resealManifest(ckpt);
  LaunchRequest r;
  r.resumeDir = dir;
  auto job = prepareJob(r);
  CHECK(job->resumedOverrides().empty());
  ControlBlock c;
  NullSink none;
  CHECK(job->run(c, none).phase == RunPhase::Finished);
}

TEST_CASE("stop is honoured within one step and leaves a resumable checkpoint", "[train]") {
  pretext::test::TempDir root;
  auto req = quick(root.str());
  req.overrides.push_back("trainer.max_steps=1000");
  auto job = prepareJob(req);
  ControlBlock control;
  Recorder rec;
  rec.stopAfterFirstStep = &control;
  RunStatus st = job->run(control, rec);
  CHECK(st.phase == RunPhase::Stopped);
  CHECK(st.step == 1);
  CHECK(latestCheckpoint(job->runDir()) == 1);
}

TEST_CASE("pause blocks between steps and resume continues", "[train]") {
  pretext::test::TempDir root;
  auto job = prepareJob(quick(root.str()));
  ControlBlock control;
  control.setPaused(true);
  NullSink none;
  RunStatus st;
  std::thread t([&] { st = job->run(control, none); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  std::string err;
  auto mid = readStatus(job->runDir(), err);
  REQUIRE(mid);
  CHECK(mid->phase == RunPhase::Paused);
  CHECK(mid->step == 0);
  control.setPaused(false);
  t.join();
  CHECK(st.phase == RunPhase::Finished);
}

TEST_CASE("invalid requests create no run directory", "[train]") {
  pretext::test::TempDir root;
  std::vector<ConfigIssue> issues;
  std::string error;
  LaunchRequest r;
  r.configOrPreset = "quick-test";
  r.runsRoot = root / "runs";
  r.overrides = {"trainer.lr=-3", "model.widht=4"};
  CHECK_FALSE(TrainingJob::prepare(r, issues, error));
  CHECK(issues.size() == 2);
  r.overrides.clear();
  r.configOrPreset = "no-such-preset";
  CHECK_FALSE(TrainingJob::prepare(r, issues, error));
  CHECK_FALSE(fs::exists(root / "runs"));
}

TEST_CASE("a failing data source marks the run failed with the file named", "[train]") {
  pretext::test::TempDir root;
  fs::create_directories(root / "scans");
  std::ofstream(root / "scans/000000.bin") << "1234567";  // 7 bytes: not a whole record
  auto req = quick(root / "runs");
  req.overrides.push_back("data.source=files");
  req.overrides.push_back("objective.flow.weight=0");
  req.overrides.push_back("data.path=" + (root / "scans"));
  {
    // A bad file present when the run is prepared is refused then, before any run exists.
    std::vector<ConfigIssue> issues;
    std::string error;
    CHECK_FALSE(TrainingJob::prepare(req, issues, error));
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].message.find("000000.bin") != std::string::npos);
    CHECK_FALSE(fs::exists(root / "runs"));
  }
  // One that goes bad after the run started fails the run, naming the file.
  {
    std::ofstream scan(root / "scans/000000.bin", std::ios::binary | std::ios::trunc);
    const float pts[8] = {1, 2, 0.5f, 0.1f, -3, 4, 0.2f, 0.3f};
    scan.write(reinterpret_cast<const char*>(pts), sizeof pts);
  }
  auto job = prepareJob(req);
  std::ofstream(root / "scans/000000.bin", std::ios::trunc) << "1234567";
  ControlBlock control;
  NullSink none;
  RunStatus st = job->run(control, none);
  CHECK(st.phase == RunPhase::Failed);
  CHECK(st.error.find("000000.bin") != std::string::npos);
  CHECK(st.error.find("not a multiple of the 16-byte record") != std::string::npos);
  std::string err;
  CHECK(readStatus(job->runDir(), err)->phase == RunPhase::Failed);
}

TEST_CASE("training on real KITTI scans from the shared data", "[train][data]") {
  const std::string dir = pretext::test::sharedData("kitti_object");
  if (!fs::exists(dir)) FAIL("shared data missing: " << dir);
  pretext::test::TempDir root;
  auto req = quick(root.str());
  req.overrides = {"trainer.max_steps=3", "data.source=files", "objective.flow.weight=0",
                   "data.path=" + dir};
  auto job = prepareJob(req);
  ControlBlock control;
  NullSink none;
  RunStatus st = job->run(control, none);
  INFO(st.error);
  CHECK(st.phase == RunPhase::Finished);
}
