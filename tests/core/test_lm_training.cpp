// The lm_sink experiment through the real training loop, on a tiny model: metric keys,
// attention snapshots on disk, bit-exact resume, invalid configs, and the study runner.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pretext/data/readers.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/study.h"
#include "pretext/train/training_job.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> o = {"lm.d_model=32",
                                "lm.heads=2",
                                "lm.ffn=64",
                                "lm.context=16",
                                "trainer.batch_size=4",
                                "sink.probe_sequences=6",
                                "trainer.log_every=1",
                                "trainer.snapshot_every=4",
                                "trainer.checkpoint_every=3",
                                "trainer.max_steps=10"};
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

using pretext::test::prepareJob;

LaunchRequest request(const std::string& root, std::vector<std::string> extra = {}) {
  LaunchRequest r;
  r.configOrPreset = "sink-backcopy-softmax";
  r.runsRoot = root;
  r.overrides = tiny(std::move(extra));
  return r;
}
}  // namespace

TEST_CASE("an LM run logs the sink metrics and writes attention snapshots", "[lm][train]") {
  configureThreads(0);
  pretext::test::TempDir root;
  auto job = prepareJob(
      request(root.str(), {"lm.sink=k_bias", "sink.hessian_every=4", "sink.hessian_samples=2"}));
  ControlBlock control;
  NullSink none;
  RunStatus st = job->run(control, none);
  INFO(st.error);
  REQUIRE(st.phase == RunPhase::Finished);
  auto acc = readMetrics(job->runDir());
  for (const char* k : {"loss/train", "loss/val", "sink/sink1", "sink/sink2", "sink/alpha1_mean",
                        "sink/alpha1/l1h1", "sink/sink_slot", "sink/alpha_slot_mean",
                        "norm/h_first", "norm/k_rest", "sink/cos_q_k1", "fn/share_FC",
                        "fn/share_CC", "diag/hessian_trace", "perf/tokens_per_sec"}) {
    INFO(k);
    CHECK(acc.series().count(k) == 1);
  }
  double shares = 0;
  for (const char* k : {"fn/share_FF", "fn/share_FC", "fn/share_CF", "fn/share_CC"})
    shares += acc.series().at(k).back().value;
  CHECK(shares == Approx(100.0).epsilon(1e-4));
  const fs::path snap = fs::path(job->runDir()) / "snapshots" / checkpointDirName(8);
  const NpyArray npy = readNpy((snap / "attention.npy").string());
  const std::vector<float> maps(npy.data.begin(), npy.data.end());
  const auto& shape = npy.shape;
  std::string err;
  CHECK(shape == std::vector<std::size_t>{2, 2, 16, 17});  // layers, heads, queries, slot + keys
  // Every query row of a softmax map sums to 1 (slot included).
  for (std::size_t row = 0; row < 2 * 2 * 16; ++row) {
    double s = 0;
    for (std::size_t k = 0; k < 17; ++k) s += maps[row * 17 + k];
    REQUIRE(s == Approx(1.0).epsilon(1e-4));
  }
  std::ifstream meta(snap / "meta.json");
  auto j = nlohmann::json::parse(meta);
  CHECK(j["kind"] == "attention");
  CHECK(j["has_sink_slot"] == true);
  CHECK(j["tokens"][0] == "<bos>");
}

TEST_CASE("LM resume is exact: 10 steps == 6 + resume + 4", "[lm][train]") {
  configureThreads(0);
  pretext::test::TempDir root;
  auto a = prepareJob(request(root / "a"));
  ControlBlock c1;
  NullSink none;
  REQUIRE(a->run(c1, none).phase == RunPhase::Finished);
  auto reqB = request(root / "b");
  reqB.untilStep = 6;
  auto b = prepareJob(reqB);
  ControlBlock c2;
  REQUIRE(b->run(c2, none).phase == RunPhase::Stopped);
  const std::string dirB = b->runDir();
  b.reset();
  LaunchRequest resume;
  resume.resumeDir = dirB;
  auto b2 = prepareJob(resume);
  ControlBlock c3;
  REQUIRE(b2->run(c3, none).phase == RunPhase::Finished);
  std::string da, db, err;
  REQUIRE(latestCheckpoint(a->runDir(), &da) == 10);
  REQUIRE(latestCheckpoint(dirB, &db) == 10);
  double diff = maxWeightDifference(da, db, err);
  INFO(err);
  REQUIRE(diff >= 0);
  CHECK(diff <= 1e-6);
}

TEST_CASE("LM config problems are reported with their keys", "[lm][config]") {
  std::vector<ConfigIssue> issues;
  std::string error;
  LaunchRequest r = request("unused", {"lm.heads=3", "text.source=file", "lm.attention=relu"});
  CHECK_FALSE(TrainingJob::prepare(r, issues, error));
  auto has = [&](const std::string& path, const std::string& frag) {
    for (const auto& i : issues)
      if (i.path == path && i.message.find(frag) != std::string::npos) return true;
    return false;
  };
  CHECK(has("lm.attention", "one of softmax, sigmoid"));
  issues.clear();
  r = request("unused", {"lm.heads=3", "text.source=file"});
  CHECK_FALSE(TrainingJob::prepare(r, issues, error));
  CHECK(has("lm.heads", "must divide lm.d_model"));
  CHECK(has("text.path", "required"));
  CHECK_FALSE(fs::exists("unused"));
}

TEST_CASE("the study runner writes a summary table and plots", "[study]") {
  configureThreads(0);
  pretext::test::TempDir out;
  Study s;
  s.name = "tiny";
  s.arms.resize(2);
  s.arms[0].label = "softmax";
  s.arms[0].preset = "sink-backcopy-softmax";
  s.arms[0].overrides = tiny();
  s.arms[1].label = "sigmoid";
  s.arms[1].preset = "sink-backcopy-sigmoid";
  s.arms[1].overrides = tiny();
  s.keys = {"sink/sink1", "loss/val", "no/such_key"};
  s.steps = 4;
  s.seeds = {0, 1};
  std::vector<std::string> lines;
  auto runs = runStudy(s, out.str(), [&](const std::string& l) { lines.push_back(l); });
  REQUIRE(runs.size() == 4);
  CHECK(lines.size() == 4);
  for (const auto& r : runs) {
    CHECK(r.phase == "finished");
    CHECK(std::isnan(r.finals[2]));
  }
  std::ifstream md(out / "summary.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  CHECK(text.find("| softmax |") != std::string::npos);
  CHECK(text.find("±") != std::string::npos);  // two seeds: mean ± std
  std::ifstream csv(out / "summary.csv");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  CHECK(rows == 5);
  std::ifstream svg(out / "loss_val.svg");
  std::string plot((std::istreambuf_iterator<char>(svg)), {});
  CHECK(plot.rfind("<svg", 0) == 0);
  CHECK(plot.find("<polyline") != std::string::npos);
  // An invalid arm is rejected before anything trains.
  Study bad = s;
  bad.arms[1].overrides.push_back("lm.attention=nope");
  pretext::test::TempDir out2;
  CHECK_THROWS_WITH(runStudy(bad, out2.str(), nullptr), Catch::Contains("arm 'sigmoid'"));
  CHECK_FALSE(fs::exists(out2 / "runs"));
}
