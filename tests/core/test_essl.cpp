// E-SSL3D's pieces: the pillar encoder, the EMA target update and its schedule, the view
// pairs with their correspondences and labels, the warp of the temporal pair, weight export;
// and (slow) a short pre-training run that must learn what it is trained for.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "essl_batch.h"
#include "essl_model.h"
#include "lidar_common.h"
#include "pretext/data/street_sim.h"
#include "pretext/runs/export_data.h"
#include "pretext/runs/presets.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/encoder_probe.h"
#include "pretext/train/export_weights.h"
#include "pretext/train/study.h"
#include "pretext/train/training_job.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
using Catch::Detail::Approx;
namespace fs = std::filesystem;

namespace {

Config presetConfig(const std::string& preset, std::vector<std::string> overrides) {
  std::vector<ConfigIssue> issues;
  auto text = presetText(preset);
  REQUIRE(text);
  auto c = Config::parse(*text, preset, overrides, issues);
  for (const auto& i : issues) UNSCOPED_INFO(i.toString());
  REQUIRE(c);
  return *c;
}

std::string train(const std::string& root, const std::string& preset,
                  std::vector<std::string> overrides) {
  auto job = pretext::test::prepareJob(pretext::test::launchRequest(root, preset, overrides));
  RunStatus st = pretext::test::runToEnd(*job);
  INFO(st.error);
  REQUIRE(st.phase == RunPhase::Finished);
  return job->runDir();
}

// Value of `key` at `step` in the run's metrics (NaN when absent).
double metricAt(const std::string& runDir, const std::string& key, std::int64_t step) {
  auto acc = readMetrics(runDir);
  for (const auto& p : acc.series().at(key))
    if (p.step == step) return p.value;
  return std::nan("");
}

}  // namespace

TEST_CASE("pillar encoder: grid cells, shapes, gradients", "[essl]") {
  torch::manual_seed(0);
  essl::EncoderOptions o;
  o.width = 8;
  o.featureDim = 6;
  o.range = 4;
  o.pillar = 1;  // 8 x 8 cells
  essl::PillarEncoder enc(o);
  auto xyz =
      torch::tensor({{0.5f, 0.5f, 0.f}, {-3.9f, -3.9f, 1.f}, {3.5f, -0.5f, 0.f}, {4.5f, 0.f, 0.f}},
                    torch::kFloat)
          .unsqueeze(0)
          .repeat({2, 1, 1});
  auto cells = enc->cellIndex(xyz);
  // ix = floor(x + 4), iy = floor(y + 4), flat = b * 64 + iy * 8 + ix.
  CHECK(cells[0][0].item<std::int64_t>() == 4 * 8 + 4);
  CHECK(cells[0][1].item<std::int64_t>() == 0);
  CHECK(cells[0][2].item<std::int64_t>() == 3 * 8 + 7);
  CHECK(cells[0][3].item<std::int64_t>() == -1);  // outside the grid
  CHECK(cells[1][0].item<std::int64_t>() == 64 + 4 * 8 + 4);
  auto out = enc->forward(xyz);
  CHECK(out.points.sizes() == torch::IntArrayRef({2, 4, 6}));
  CHECK(torch::isfinite(out.points).all().item<bool>());
  CHECK(enc->bevFeatures(xyz).sizes() == torch::IntArrayRef({2, 16, 8, 8}));
  // Identical scans give identical features; the feature of a point depends on others
  // through the pillar max and the CNN.
  CHECK(torch::allclose(out.points[0], out.points[1]));
  out.points.sum().backward();
  for (const auto& p : enc->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("EMA target update and momentum schedule", "[essl]") {
  essl::Mlp online(2, 3, 2), target(2, 3, 2);
  for (auto& p : online->parameters()) p.data().fill_(1.0);
  for (auto& p : target->parameters()) p.data().fill_(0.0);
  essl::emaUpdate(*target, *online, 0.9);
  for (auto& p : target->parameters()) CHECK(torch::allclose(p, torch::full_like(p, 0.1)));
  essl::emaUpdate(*target, *online, 0.9);
  for (auto& p : target->parameters()) CHECK(torch::allclose(p, torch::full_like(p, 0.19)));
  essl::copyWeights(*target, *online);
  for (auto& p : target->parameters()) CHECK(torch::allclose(p, torch::ones_like(p)));
  // γ_k = 1 − (1 − γ_base)(cos(πk/K) + 1)/2.
  CHECK(essl::emaMomentum(0.99, true, 0, 100) == Approx(0.99));
  CHECK(essl::emaMomentum(0.99, true, 50, 100) == Approx(0.995));
  CHECK(essl::emaMomentum(0.99, true, 100, 100) == Approx(1.0));
  CHECK(essl::emaMomentum(0.99, false, 50, 100) == Approx(0.99));
}

TEST_CASE("view pairs: exact correspondences and labels of the shared transform", "[essl]") {
  for (const char* target : {"absolute", "relative"}) {
    DYNAMIC_SECTION(target) {
      Config c = presetConfig("quick-test", {"objective.ebc.target=" + std::string(target),
                                             "augment.flip.objective=classification",
                                             "augment.jitter_m=0", "objective.flow.weight=0"});
      const essl::Plan plan = essl::makePlan(c);
      CHECK(plan.classes[essl::kRotation] == (plan.relative ? 19 : 10));
      CHECK(plan.classes[essl::kFlip] == 4);
      CHECK(plan.classes[essl::kTranslation] == 0);
      CHECK(plan.contrastive);
      LidarScanSource source(c);
      const essl::Batch b = essl::makeBatch(c, plan, source, 7);
      const auto B = b.view1.size(0), N = b.view1.size(1);
      const AugmentOptions aug = lidarAugmentOptions(c);
      for (std::int64_t i = 0; i < B; ++i) {
        // Undo each view's transform: row k of both views is the same base point.
        std::vector<float> base1(static_cast<std::size_t>(3 * N)), base2(base1.size());
        b.t1[i].inverse().apply(b.view1[i].contiguous().data_ptr<float>(), base1.data(), N);
        b.t2[i].inverse().apply(b.view2[i].contiguous().data_ptr<float>(), base2.data(), N);
        double worst = 0;
        for (std::size_t k = 0; k < base1.size(); ++k)
          worst = std::max(worst, static_cast<double>(std::abs(base1[k] - base2[k])));
        CHECK(worst < 1e-3);
        // The views differ (the contrastive families are drawn per view).
        CHECK((b.view1[i] - b.view2[i]).abs().max().item<double>() > 1e-3);
        const auto rot = b.labels[essl::kRotation][i].item<std::int64_t>();
        if (plan.relative) {
          CHECK(rot == essl::relativeLabel(essl::kRotation, b.t1[i], b.t2[i], aug));
        } else {
          // Both views show the same rotation and flip; labels name them.
          CHECK(b.t1[i].angle == Approx(b.t2[i].angle));
          CHECK(rot == rotationBin(b.t1[i].angle, aug));
          CHECK(b.labels[essl::kFlip][i].item<std::int64_t>() == flipClass(b.t1[i]));
          CHECK(b.labels[essl::kFlip][i].item<std::int64_t>() == flipClass(b.t2[i]));
        }
      }
      // Pair indices lie in range and are distinct within a scan.
      auto p = b.pairs[0];
      CHECK(p.min().item<std::int64_t>() >= 0);
      CHECK(p.max().item<std::int64_t>() < N);
      CHECK(std::get<0>(torch::_unique(p)).numel() == p.numel());
      // The same step gives the same batch (resume-safe).
      const essl::Batch again = essl::makeBatch(c, plan, source, 7);
      CHECK(torch::equal(again.view1, b.view1));
      CHECK(torch::equal(again.pairs, b.pairs));
    }
  }
}

TEST_CASE("temporal pair: warped points are the previous points moved by their flow", "[essl]") {
  Config c = presetConfig("quick-test", {"data.sim.beams=32", "data.sim.azimuth_steps=1024"});
  const essl::Plan plan = essl::makePlan(c);
  REQUIRE(plan.temporal);
  LidarScanSource source(c);
  const essl::Batch b = essl::makeBatch(c, plan, source, 3);
  // Scan 0 of step 3 comes from this pair; find every sampled previous point in its first
  // frame and compare the warp with that point's flow. The current frame is sampled from
  // the second frame.
  const ScenePair pair = source.pair((3ull << 16) | 0ull);
  NeighborGrid first(pair.first.xyz.data(), pair.first.size(), 0.5);
  NeighborGrid second(pair.second.xyz.data(), pair.second.size(), 0.5);
  auto prev = b.previous[0].contiguous(), warped = b.warped[0].contiguous();
  auto cur = b.current[0].contiguous();
  int checked = 0;
  for (std::int64_t k = 0; k < prev.size(0); ++k) {
    double d = 1;
    const auto i = first.nearest(prev[k].data_ptr<float>(), 1e-4, &d);
    REQUIRE(i >= 0);
    for (int a = 0; a < 3; ++a)
      CHECK(warped[k][a].item<float>() - prev[k][a].item<float>() ==
            Approx(pair.flow[3 * static_cast<std::size_t>(i) + a]).margin(1e-4));
    CHECK(second.nearest(cur[k].data_ptr<float>(), 1e-4) >= 0);
    ++checked;
  }
  CHECK(checked == prev.size(0));
  // The pair has moving objects: some flow differs from the ego motion of the static world.
  CHECK(pair.flowKind == "exact");
}

TEST_CASE("bad E-SSL3D configs are refused before a run directory exists", "[essl]") {
  pretext::test::TempDir root;
  LaunchRequest r;
  r.configOrPreset = "quick-test";
  r.runsRoot = root.str();
  r.overrides = {"data.source=files", "data.path=" + pretext::test::sharedData("kitti_object")};
  std::vector<ConfigIssue> issues;
  std::string error;
  auto job = TrainingJob::prepare(r, issues, error);
  CHECK(!job);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "objective.flow.weight");
  CHECK(issues[0].message.find("consecutive scans") != std::string::npos);
  CHECK(fs::is_empty(root.str()));
  r.overrides = {"experiment.kind=lidar_downstream", "downstream.init=" + root.str()};
  issues.clear();
  job = TrainingJob::prepare(r, issues, error);
  CHECK(!job);
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].path == "downstream.init");
  CHECK(issues[0].message.find("no model.pt") != std::string::npos);
  CHECK(fs::is_empty(root.str()));
}

TEST_CASE("downstream from scratch and from a pre-trained encoder; weights export to Python",
          "[essl][downstream]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string pre = train(root.str(), "quick-test", {"trainer.max_steps=4"});
  const std::vector<std::string> small = {"trainer.max_steps=6",     "data.points_per_scan=512",
                                          "data.sim.beams=16",       "data.sim.azimuth_steps=360",
                                          "model.feature_dim=16",    "downstream.pool=4",
                                          "downstream.eval_scans=2", "trainer.checkpoint_every=3"};
  const std::string scratch = train(root.str(), "essl-scratch", small);
  auto withInit = small;
  withInit.push_back("downstream.init=" + pre);
  withInit.push_back("downstream.label_fraction=0.5");
  const std::string fine = train(root.str(), "essl-scratch", withInit);
  for (const auto& run : {scratch, fine}) {
    const double iou = metricAt(run, "down/iou", 6), ap = metricAt(run, "down/ap", 6);
    CHECK(iou >= 0.0);
    CHECK(iou <= 1.0);
    CHECK(ap > 0.0);
    CHECK(ap <= 1.0);
  }
  CHECK(metricAt(fine, "down/train_scans", 6) == 2.0);
  // The pre-trained encoder really is the starting point: step-0 evaluations differ.
  CHECK(metricAt(fine, "down/ap", 0) != metricAt(scratch, "down/ap", 0));

  // A mismatched encoder is refused with a message naming the key.
  auto wrong = small;
  wrong.push_back("downstream.init=" + pre);
  wrong.push_back("model.width=16");
  auto job =
      pretext::test::prepareJob(pretext::test::launchRequest(root.str(), "essl-scratch", wrong));
  RunStatus st = pretext::test::runToEnd(*job);
  INFO(st.error);
  CHECK(st.phase == RunPhase::Failed);
  CHECK(st.error.find("downstream.init") != std::string::npos);

  // Export: Python's torch.load reads the dict with the same names, shapes and values.
  const std::string out = root / "encoder.pt";
  auto ex = exportWeights(pre, out);
  CHECK(ex.step == 4);
  REQUIRE(!ex.tensors.empty());
  const std::string script =
      "import json, sys, torch\n"
      "d = torch.load(sys.argv[1])\n"
      "meta = json.load(open(sys.argv[1] + '.json'))\n"
      "assert isinstance(d, dict)\n"
      "assert [t['name'] for t in meta['tensors']] == list(d.keys()), 'names'\n"
      "for t in meta['tensors']:\n"
      "    assert list(d[t['name']].shape) == t['shape'], t['name']\n"
      "print(len(d), float(d['encoder.pn1.weight'].double().sum()), meta['kind'], meta['step'])\n";
  std::ofstream(root / "check.py") << script;
  auto res = pretext::test::runCommand("/usr/bin/python3 " + (root / "check.py") + " " + out);
  INFO(res.output);
  REQUIRE(res.code == 0);
  torch::Tensor w;
  torch::serialize::InputArchive ar2, enc2, pn1;
  ar2.load_from((fs::path(ex.checkpointDir) / "model.pt").string());
  ar2.read("encoder", enc2);
  enc2.read("pn1", pn1);
  pn1.read("weight", w);
  std::ostringstream expect;
  expect << ex.tensors.size() << " ";
  CHECK(res.output.rfind(expect.str(), 0) == 0);
  const double pySum = std::stod(res.output.substr(expect.str().size()));
  CHECK(pySum == Approx(w.to(torch::kDouble).sum().item<double>()).epsilon(1e-9));
  CHECK(res.output.find("lidar_ssl 4") != std::string::npos);

  // The command line: the same export, and clear errors.
  const std::string exe = PRETEXT_EXPORT_EXE;
  auto ok = pretext::test::runCommand(exe + " " + pre + " --weights " + (root / "cli.pt"));
  INFO(ok.output);
  CHECK(ok.code == 0);
  CHECK(fs::exists(root / "cli.pt.json"));
  auto noRun =
      pretext::test::runCommand(exe + " " + (root / "missing") + " --weights " + (root / "x.pt"));
  CHECK(noRun.code == 1);
  CHECK_THAT(noRun.output, Catch::Contains("not a run directory"));
  auto noStep =
      pretext::test::runCommand(exe + " " + pre + " --weights " + (root / "x.pt") + " --step 3");
  CHECK(noStep.code == 1);
  CHECK_THAT(noStep.output, Catch::Contains("no such checkpoint"));
  auto badArg = pretext::test::runCommand(exe + " " + pre + " --step x --weights a.pt");
  CHECK(badArg.code == 2);
  CHECK_THAT(badArg.output, Catch::Contains("--step expects"));
  CHECK(pretext::test::runCommand(exe + " " + pre).code == 2);
  CHECK(!fs::exists(root / "x.pt"));
}

TEST_CASE("E-SSL3D pre-training learns what it is trained for", "[essl][slow]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string run = train(root.str(), "essl-full", {"trainer.snapshot_every=300"});
  auto acc = readMetrics(run);
  const auto& s = acc.series();
  auto first = [&](const std::string& k) { return s.at(k).front().value; };
  auto last = [&](const std::string& k) { return s.at(k).back().value; };
  auto meanOf = [&](const std::string& k, bool head) {
    const auto& v = s.at(k);
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += head ? v[i].value : v[v.size() - 1 - i].value;
    return sum / 4;
  };
  INFO("loss/total " << meanOf("loss/total", true) << " -> " << meanOf("loss/total", false));
  CHECK(meanOf("loss/total", false) < 0.7 * meanOf("loss/total", true));
  CHECK(meanOf("loss/flow", false) < meanOf("loss/flow", true));
  // Untrained encoder (step 0) vs trained, on the held-out probe scans.
  for (const char* k : {"equiv/translation_err", "equiv/scale_err", "equiv/flip_err"}) {
    INFO(k << ": " << first(k) << " -> " << last(k));
    CHECK(last(k) < first(k));
  }
  INFO("equiv/rot_cls_acc " << first("equiv/rot_cls_acc") << " -> " << last("equiv/rot_cls_acc"));
  CHECK(first("equiv/rot_cls_acc") <= 0.2);
  CHECK(last("equiv/rot_cls_acc") >= 0.5);
  CHECK(last("equiv/match_top1") > 5 * first("equiv/match_top1"));
  CHECK(last("equiv/feat_std") > 0.5);  // no collapse
}

TEST_CASE("every E-SSL3D preset trains and evaluates", "[essl]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::vector<std::string> tiny = {"trainer.max_steps=2",     "data.points_per_scan=384",
                                         "data.sim.beams=16",       "data.sim.azimuth_steps=360",
                                         "objective.pnce.pairs=64", "trainer.snapshot_every=2",
                                         "data.prefetch=0"};
  for (const char* preset :
       {"default", "essl-full", "essl-spatial", "essl-temporal", "essl-invariance",
        "essl-rot-contrastive", "essl-translation-cls", "essl-scale-cls", "essl-flip-cls",
        "essl-zoo-simclr", "essl-zoo-byol", "essl-zoo-barlow", "essl-zoo-mixbt", "essl-zoo-vicreg",
        "essl-zoo-amcl"}) {
    INFO(preset);
    const std::string run = train(root.str(), preset, tiny);
    const double loss = metricAt(run, "loss/total", 2);
    CHECK(std::isfinite(loss));
    CHECK(std::isfinite(metricAt(run, "equiv/translation_err", 2)));
  }
  // Relative classification targets and the spherical Z-loss with the logZ^2 penalty.
  auto rel = tiny;
  rel.insert(rel.end(), {"objective.ebc.target=relative", "objective.ebc.loss=spherical_z",
                         "objective.ebc.logz2=1e-4", "augment.scale.objective=classification"});
  const std::string run = train(root.str(), "essl-spatial", rel);
  CHECK(std::isfinite(metricAt(run, "loss/ebc", 2)));
}

TEST_CASE("study runner: pre-training arms feed downstream arms", "[essl][study]") {
  configureThreads(1);
  pretext::test::TempDir out;
  Study s;
  s.name = "tiny-lowlabel";
  s.keys = {"down/iou", "down/ap"};
  s.seeds = {0, 1};
  s.xLabel = "labels (%)";
  StudyArm pre;
  pre.label = "pre";
  pre.preset = "quick-test";
  pre.overrides = {"trainer.max_steps=2"};
  s.pretrain = {pre};
  const std::vector<std::string> small = {"trainer.max_steps=3",     "data.points_per_scan=384",
                                          "data.sim.beams=16",       "data.sim.azimuth_steps=360",
                                          "model.feature_dim=16",    "downstream.pool=4",
                                          "downstream.eval_scans=1", "trainer.snapshot_every=3"};
  for (const char* init : {"", "pre"}) {
    StudyArm a;
    a.label = std::string(*init ? "pre" : "scratch") + " @ 50 %";
    a.preset = "essl-scratch";
    a.overrides = small;
    a.overrides.push_back("downstream.label_fraction=0.5");
    a.init = init;
    a.group = *init ? "pre" : "scratch";
    a.x = 50;
    s.arms.push_back(a);
  }
  auto runs = runStudy(s, out.str(), nullptr);
  REQUIRE(runs.size() == 5);  // 1 pre-training + 2 arms x 2 seeds
  CHECK(runs[0].pretraining);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    CHECK(runs[i].phase == "finished");
    CHECK(std::isfinite(runs[i].finals[1]));
  }
  // The downstream run of the pre-trained arm names the pre-training run in its config.
  std::ifstream cfg(fs::path(runs[3].runDir) / "config.yaml");
  std::stringstream text;
  text << cfg.rdbuf();
  CHECK(text.str().find(fs::path(runs[0].runDir).filename().string()) != std::string::npos);
  std::ifstream csv(out / "summary.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  CHECK(rows == 5);  // header + 4 downstream runs
  CHECK(fs::exists(out / "down_iou_by_group.svg"));
  std::ifstream md(out / "summary.md");
  std::stringstream mdText;
  mdText << md.rdbuf();
  CHECK(mdText.str().find("Pre-training runs") != std::string::npos);

  // An arm naming a pre-training arm that does not exist is refused before training.
  s.arms[1].init = "nope";
  pretext::test::TempDir out2;
  CHECK_THROWS_WITH(runStudy(s, out2.str(), nullptr),
                    Catch::Contains("no pre-training arm 'nope'"));
  CHECK(fs::is_empty(out2.str()));
}

TEST_CASE("downstream labels cover the object points, also after rotating scan and boxes",
          "[essl][downstream]") {
  StreetSimOptions so;
  so.beams = 32;
  so.azimuthSteps = 1024;
  SimFrame f = StreetSequence(so, 5).frame(3);
  essl::EncoderOptions eo;  // 64 x 64 cells of 1 m over +-32 m
  const auto* cls = f.cloud.field("class");
  REQUIRE(cls);
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 3; ++trial) {
    SpatialTransform t;
    t.angle = trial * 1.1;
    t.flipY = trial == 2;
    std::vector<float> xyz(f.cloud.xyz.size());
    t.apply(f.cloud.xyz.data(), xyz.data(), f.cloud.size());
    auto boxes = f.boxes;
    for (auto& b : boxes) t.applyBox(b);
    const auto labels = bevObjectLabels(boxes, eo);
    int objectPoints = 0, inPositive = 0, otherPoints = 0, otherInPositive = 0;
    for (std::size_t i = 0; i < f.cloud.size(); ++i) {
      const int ix = static_cast<int>(std::floor((xyz[3 * i] + eo.range) / eo.pillar));
      const int iy = static_cast<int>(std::floor((xyz[3 * i + 1] + eo.range) / eo.pillar));
      if (ix < 0 || iy < 0 || ix >= eo.cells() || iy >= eo.cells()) continue;
      const bool positive = labels[static_cast<std::size_t>(iy * eo.cells() + ix)] > 0.5f;
      const auto c = static_cast<SimClass>((*cls)[i]);
      if (c == SimClass::Car || c == SimClass::Pedestrian || c == SimClass::Cyclist) {
        ++objectPoints;
        inPositive += positive;
      } else {
        ++otherPoints;
        otherInPositive += positive;
      }
    }
    INFO("trial " << trial << ": " << inPositive << " / " << objectPoints << " object points, "
                  << otherInPositive << " / " << otherPoints << " other points in positive cells");
    REQUIRE(objectPoints > 100);
    CHECK(inPositive > 0.9 * objectPoints);
    CHECK(otherInPositive < 0.05 * otherPoints);
  }
}

TEST_CASE("a labelled scan is the scan and its boxes, read once", "[essl][downstream]") {
  DatasetOptions d;
  d.simBeams = 16;
  d.simAzimuthSteps = 360;
  auto ds = openDataset(d);
  for (std::size_t i : {3u, 77u}) {
    auto [cloud, boxes] = ds->labelledScan(i);
    CHECK(cloud.xyz == ds->scan(i).xyz);
    const auto separate = ds->boxes(i);
    REQUIRE(boxes.size() == separate.size());
    CHECK(!boxes.empty());
    for (std::size_t k = 0; k < boxes.size(); ++k) CHECK(boxes[k].cx == separate[k].cx);
  }
}

TEST_CASE("the inspector's encoder probe reproduces the trainer's equivariance fields",
          "[essl][inspect]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string run = train(root.str(), "quick-test",
                                {"trainer.max_steps=4", "trainer.snapshot_every=4",
                                 "trainer.checkpoint_every=4", "data.prefetch=0"});
  std::vector<ConfigIssue> issues;
  auto config = Config::load(run + "/config.yaml", {}, issues);
  REQUIRE(config);
  const AugmentOptions aug = lidarAugmentOptions(*config);
  // The trainer's fixed rotation and translation of the probe scan (lidar_ssl_experiment).
  SpatialTransform rot, shift;
  rot.angle = rotationBinCentre(aug.rotationBins - 1, aug);
  shift.t[0] = 0.7 * aug.translationMax;
  shift.t[1] = -0.5 * aug.translationMax;
  shift.t[2] = 0.3 * aug.translationMax;
  CHECK(checkpointSteps(run) == std::vector<std::int64_t>{4});
  // Step 0's snapshot came from the untrained encoder, step 4's from checkpoint 4.
  for (std::int64_t step : {0, 4}) {
    INFO("step " << step);
    std::string err;
    auto snap = readPointSnapshot(run + "/snapshots/" + checkpointDirName(step), err);
    REQUIRE(snap);
    auto probe = EncoderProbe::open(run, step == 0 ? -1 : step);
    CHECK(probe->step() == (step == 0 ? -1 : step));
    for (auto [t, field] : {std::pair{rot, "rotation_err"}, std::pair{shift, "translation_err"}}) {
      const auto mine = probe->equivarianceError(snap->xyz, t);
      const auto& theirs = snap->fields.at(field);
      REQUIRE(mine.size() == theirs.size());
      double worst = 0;
      for (std::size_t i = 0; i < mine.size(); ++i)
        worst = std::max(worst, double(std::abs(mine[i] - theirs[i])));
      INFO(field << ": largest difference " << worst);
      CHECK(worst < 1e-4);
    }
  }
  // The untrained and the trained encoder differ, so the check above can tell them apart.
  std::string err;
  auto snap4 = readPointSnapshot(run + "/snapshots/" + checkpointDirName(4), err);
  const auto a = EncoderProbe::open(run, -1)->equivarianceError(snap4->xyz, rot);
  const auto b = EncoderProbe::open(run, 4)->equivarianceError(snap4->xyz, rot);
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i])));
  CHECK(diff > 1e-3);
  // Clear refusals.
  CHECK_THROWS_WITH(EncoderProbe::open(run, 7), Catch::Contains("no checkpoint at step 7"));
  CHECK_THROWS_WITH(EncoderProbe::open(root.str(), -1), Catch::Contains("not a run directory"));
  std::ofstream(run + "/checkpoints/" + checkpointDirName(4) + "/model.pt", std::ios::trunc)
      << "garbage";
  CHECK_THROWS_WITH(EncoderProbe::open(run, 4),
                    Catch::Contains("cannot load the encoder from") && Catch::Contains("model.pt"));
}
