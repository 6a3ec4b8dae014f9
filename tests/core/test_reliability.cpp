// Runs that are never lost and files that are never trusted blindly (docs/reliability.md):
// verified checkpoints with fallback, resume that writes nothing until the checkpoint has
// loaded, metric windows that match a straight run across a resume, a run folder deleted
// under the trainer.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "pretext/data/fs_util.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/training_job.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;
using pretext::test::prepareJob;

namespace {

LaunchRequest quickRun(const std::string& root, std::int64_t maxSteps, int logEvery,
                       int checkpointEvery) {
  LaunchRequest r;
  r.configOrPreset = "quick-test";
  r.runsRoot = root;
  r.overrides = {"trainer.max_steps=" + std::to_string(maxSteps),
                 "trainer.checkpoint_every=" + std::to_string(checkpointEvery),
                 "trainer.keep_checkpoints=5", "trainer.log_every=" + std::to_string(logEvery),
                 "trainer.snapshot_every=100"};
  return r;
}

std::string runTo(const LaunchRequest& req, RunPhase expect) {
  auto job = prepareJob(req);
  ControlBlock c;
  NullSink none;
  const RunStatus st = job->run(c, none);
  INFO(st.error);
  REQUIRE(st.phase == expect);
  return job->runDir();
}

std::string slurp(const std::string& path) {
  std::string text, err;
  readFile(path, text, err);
  return text;
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Resumes `dir` to its end and returns the job's start step and the final checkpoint.
std::int64_t resumeToEnd(const std::string& dir) {
  LaunchRequest r;
  r.resumeDir = dir;
  auto job = prepareJob(r);
  const std::int64_t from = job->startStep();
  ControlBlock c;
  NullSink none;
  const RunStatus st = job->run(c, none);
  INFO(st.error);
  REQUIRE(st.phase == RunPhase::Finished);
  return from;
}

// The checkpoint folder of `step` in `dir`.
std::string ckpt(const std::string& dir, std::int64_t step) {
  return dir + "/checkpoints/" + checkpointDirName(step);
}

}  // namespace

TEST_CASE("every checkpoint carries a manifest that verification checks byte for byte",
          "[train][reliability]") {
  pretext::test::TempDir root;
  const std::string dir = runTo(quickRun(root.str(), 4, 2, 2), RunPhase::Finished);
  const std::string c = ckpt(dir, 4);
  REQUIRE(fs::is_regular_file(c + "/manifest.json"));
  const std::string manifest = slurp(c + "/manifest.json");
  for (const char* f : {"model.pt", "optimizer.pt", "state.json"})
    CHECK(manifest.find(std::string("\"") + f + "\"") != std::string::npos);
  CHECK(verifyCheckpoint(c, 4).empty());
  CHECK(verifyCheckpoint(c, 3).find("state.json: step 4") != std::string::npos);

  // One flipped byte anywhere in model.pt is caught, and the message names the file.
  std::string model = slurp(c + "/model.pt");
  model[model.size() / 2] = static_cast<char>(model[model.size() / 2] ^ 0x01);
  spit(c + "/model.pt", model);
  const std::string problem = verifyCheckpoint(c, 4);
  INFO(problem);
  CHECK(problem.find(c + "/model.pt: checksum mismatch") == 0);
}

TEST_CASE("a damaged newest checkpoint falls back to the newest intact one, with a warning",
          "[train][reliability]") {
  pretext::test::TempDir root;
  // The reference: 8 straight steps. The damaged run stops at 6 with checkpoints 2, 4, 6.
  const std::string straight = runTo(quickRun(root / "straight", 8, 2, 2), RunPhase::Finished);
  auto req = quickRun(root / "base", 8, 2, 2);
  req.untilStep = 6;
  const std::string base = runTo(req, RunPhase::Stopped);
  std::string straightCkpt;
  REQUIRE(latestCheckpoint(straight, &straightCkpt) == 8);

  struct Damage {
    const char* what;
    std::function<void(const std::string&)> apply;
    std::int64_t resumesFrom;
  };
  const std::vector<Damage> cases = {
      {"latest.json is not JSON",
       [](const std::string& d) { spit(d + "/checkpoints/latest.json", "{bad"); }, 6},
      {"latest.json is missing",
       [](const std::string& d) { fs::remove(d + "/checkpoints/latest.json"); }, 6},
      {"the folder latest.json names is gone",
       [](const std::string& d) { fs::remove_all(ckpt(d, 6)); }, 4},
      {"model.pt is truncated",
       [](const std::string& d) {
         const std::string m = slurp(ckpt(d, 6) + "/model.pt");
         spit(ckpt(d, 6) + "/model.pt", m.substr(0, m.size() / 3));
       },
       4},
      {"one byte of model.pt is flipped",
       [](const std::string& d) {
         std::string m = slurp(ckpt(d, 6) + "/model.pt");
         m[m.size() - 4096] = static_cast<char>(m[m.size() - 4096] ^ 0x40);
         spit(ckpt(d, 6) + "/model.pt", m);
       },
       4},
      {"latest.json points outside the run",
       [&](const std::string& d) {
         spit(d + "/checkpoints/latest.json",
              "{\"dir\":\"../../straight/" + fs::path(straight).filename().string() +
                  "/checkpoints/step_000000008\",\"segment\":1,\"step\":6}");
       },
       6},
      {"latest.json names another step than its folder",
       [](const std::string& d) {
         spit(d + "/checkpoints/latest.json",
              "{\"dir\":\"step_000000006\",\"segment\":1,\"step\":8}");
       },
       6},
      {"state.json disagrees with the folder's step",
       [](const std::string& d) {
         std::string s = slurp(ckpt(d, 6) + "/state.json");
         const auto at = s.find("\"step\": 6");
         REQUIRE(at != std::string::npos);
         s.replace(at, 9, "\"step\": 5");
         spit(ckpt(d, 6) + "/state.json", s);  // the manifest catches the edit as well
       },
       4},
  };
  for (const auto& damage : cases) {
    DYNAMIC_SECTION(damage.what) {
      const std::string dir = root / (std::string("case-") + std::to_string(&damage - &cases[0]));
      fs::copy(base, dir, fs::copy_options::recursive);
      damage.apply(dir);
      const CheckpointChoice choice = findCheckpoint(dir);
      INFO(choice.error);
      REQUIRE(choice.error.empty());
      CHECK(choice.step == damage.resumesFrom);
      // Passed-over checkpoints are reported: in the choice, and as an event of the run.
      CHECK_FALSE(choice.warnings.empty());
      CHECK(resumeToEnd(dir) == damage.resumesFrom);
      CHECK(slurp(dir + "/events.jsonl").find("\"type\":\"checkpoint_fallback\"") !=
            std::string::npos);
      // The resumed run ends with the straight run's weights (data depend only on the step).
      std::string finalCkpt, err;
      REQUIRE(latestCheckpoint(dir, &finalCkpt) == 8);
      const double diff = maxWeightDifference(straightCkpt, finalCkpt, err);
      INFO(err);
      REQUIRE(diff >= 0);
      CHECK(diff <= 1e-6);
    }
  }
}

TEST_CASE("no intact checkpoint: resume is refused naming the files, and writes nothing",
          "[train][reliability]") {
  pretext::test::TempDir root;
  auto req = quickRun(root.str(), 8, 2, 2);
  req.untilStep = 4;
  const std::string dir = runTo(req, RunPhase::Stopped);
  for (std::int64_t s : {2, 4}) {
    const std::string m = slurp(ckpt(dir, s) + "/model.pt");
    spit(ckpt(dir, s) + "/model.pt", m.substr(0, 100));
  }
  const std::string metricsBefore = slurp(dir + "/metrics.csv");
  const std::string eventsBefore = slurp(dir + "/events.jsonl");
  const std::string statusBefore = slurp(dir + "/status.json");
  LaunchRequest r;
  r.resumeDir = dir;
  std::vector<ConfigIssue> issues;
  std::string error;
  CHECK_FALSE(TrainingJob::prepare(r, issues, error));
  INFO(error);
  CHECK(error.find("no intact checkpoint") != std::string::npos);
  CHECK(error.find(ckpt(dir, 4) + "/model.pt") != std::string::npos);
  CHECK(error.find(ckpt(dir, 2) + "/model.pt") != std::string::npos);
  CHECK(slurp(dir + "/metrics.csv") == metricsBefore);
  CHECK(slurp(dir + "/events.jsonl") == eventsBefore);
  CHECK(slurp(dir + "/status.json") == statusBefore);
  // pretext-export resolves checkpoints the same way: it refuses the damaged weights.
  const auto exported = pretext::test::runCommand(std::string(PRETEXT_EXPORT_EXE) + " " + dir +
                                                  " --weights " + (root / "w.pt"));
  INFO(exported.output);
  CHECK(exported.code != 0);
  CHECK(exported.output.find("no intact checkpoint") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "w.pt"));
}

TEST_CASE("a checkpoint that verifies but does not load leaves the run's files untouched",
          "[train][reliability]") {
  pretext::test::TempDir root;
  auto req = quickRun(root.str(), 8, 2, 2);
  req.untilStep = 2;
  const std::string dir = runTo(req, RunPhase::Stopped);
  // A pre-manifest checkpoint (no "manifest" in state.json) whose optimizer state is junk:
  // verification cannot catch it, loading does.
  std::string state = slurp(ckpt(dir, 2) + "/state.json");
  state.replace(state.find("\"manifest\": true"), 16, "\"manifest\": false");
  spit(ckpt(dir, 2) + "/state.json", state);
  spit(ckpt(dir, 2) + "/optimizer.pt", "not an archive");
  const std::string metricsBefore = slurp(dir + "/metrics.csv");
  const std::string eventsBefore = slurp(dir + "/events.jsonl");
  LaunchRequest r;
  r.resumeDir = dir;
  auto job = prepareJob(r);
  ControlBlock c;
  NullSink none;
  const RunStatus st = job->run(c, none);
  CHECK(st.phase == RunPhase::Failed);
  INFO(st.error);
  CHECK(st.error.find(ckpt(dir, 2) + "/optimizer.pt: not a readable LibTorch archive") == 0);
  // No resume marker, no cut, no events: the run is as it was before the attempt.
  CHECK(slurp(dir + "/metrics.csv") == metricsBefore);
  CHECK(slurp(dir + "/events.jsonl") == eventsBefore);
}

TEST_CASE("a resume between two logged steps gives the straight run's metric windows",
          "[train][reliability]") {
  pretext::test::TempDir root;
  // log_every 4: steps 5 and 6 of a stop at 6 belong to the window that ends at 8.
  const std::string straight = runTo(quickRun(root / "a", 12, 4, 3), RunPhase::Finished);
  auto req = quickRun(root / "b", 12, 4, 3);
  req.untilStep = 5;
  const std::string dir = runTo(req, RunPhase::Stopped);
  CHECK(resumeToEnd(dir) == 5);
  const auto a = readMetrics(straight).series().at("loss/total");
  const auto b = readMetrics(dir).series().at("loss/total");
  REQUIRE(a.size() == 3);  // steps 4, 8, 12
  REQUIRE(b.size() == a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(b[i].step == a[i].step);
    CHECK(b[i].value == Approx(a[i].value).epsilon(1e-5));
  }
  const auto lrA = readMetrics(straight).series().at("train/lr");
  const auto lrB = readMetrics(dir).series().at("train/lr");
  REQUIRE(lrA.size() == lrB.size());
  for (std::size_t i = 0; i < lrA.size(); ++i) CHECK(lrB[i].value == Approx(lrA[i].value));
}

TEST_CASE("a run whose folder is deleted while it trains fails instead of finishing",
          "[train][reliability]") {
  pretext::test::TempDir root;
  auto job = prepareJob(quickRun(root.str(), 100000, 2, 1000));
  const std::string dir = job->runDir();
  struct Deleter : NullSink {
    std::string dir;
    bool done = false;
    void onStatus(const RunStatus& s) override {
      if (!done && s.step >= 3) {
        fs::remove_all(dir);
        done = true;
      }
    }
  } deleter;
  deleter.dir = dir;
  ControlBlock c;
  const RunStatus st = job->run(c, deleter);
  REQUIRE(deleter.done);
  CHECK(st.phase == RunPhase::Failed);
  INFO(st.error);
  CHECK(st.error.find(dir + ": the run's folder is gone") == 0);
  CHECK(st.step < 100000);
}
