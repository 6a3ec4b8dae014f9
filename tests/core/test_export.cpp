// Data exports read back by independent tools: the metrics CSV through Python's csv module,
// the snapshot PLY through Open3D (python3-open3d) with every per-point field present and
// equal to the snapshot's .npy files (read by NumPy).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "pretext/runs/export_data.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/export_weights.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
namespace fs = std::filesystem;

namespace {
pretext::test::CommandResult python(const pretext::test::TempDir& dir, const std::string& name,
                                    const std::string& script, const std::string& args) {
  std::ofstream(dir / name) << script;
  return pretext::test::runCommand("/usr/bin/python3 " + (dir / name) + " " + args);
}
// A 2-head, d 32 language model of `preset` trained to its end; returns the run directory.
std::string trainTinyLm(const std::string& root, const std::string& preset,
                        std::vector<std::string> extra) {
  std::vector<std::string> o = {"lm.d_model=32", "lm.heads=2",           "lm.ffn=64",
                                "lm.context=16", "trainer.batch_size=4", "sink.probe_sequences=4"};
  o.insert(o.end(), extra.begin(), extra.end());
  auto job = pretext::test::prepareJob(pretext::test::launchRequest(root, preset, o));
  REQUIRE(pretext::test::runToEnd(*job).phase == RunPhase::Finished);
  return job->runDir();
}
}  // namespace

TEST_CASE("metrics CSV (long and wide) and snapshot PLY read back by Python tools",
          "[export][cli]") {
  configureThreads(1);
  pretext::test::TempDir root;
  auto job = pretext::test::prepareJob(pretext::test::launchRequest(
      root.str(), "quick-test", {"trainer.max_steps=6", "trainer.snapshot_every=3"}));
  REQUIRE(pretext::test::runToEnd(*job).phase == RunPhase::Finished);
  const std::string run = job->runDir();
  const auto acc = readMetrics(run);
  std::size_t values = 0;
  for (const auto& [key, points] : acc.series()) values += points.size();

  const std::string longCsv = root / "long.csv", wideCsv = root / "wide.csv";
  CHECK(exportMetricsCsv(run, longCsv, false) == values);
  const std::size_t steps = exportMetricsCsv(run, wideCsv, true);
  const auto r = python(root, "csv_check.py",
                        "import csv, sys\n"
                        "rows = list(csv.DictReader(open(sys.argv[1])))\n"
                        "assert list(rows[0].keys()) == ['segment','step','wall_s','key','value']\n"
                        "total = sum(float(r['value']) for r in rows if r['key'] == 'loss/total')\n"
                        "wide = list(csv.DictReader(open(sys.argv[2])))\n"
                        "wtotal = sum(float(r['loss/total']) for r in wide if r['loss/total'])\n"
                        "assert abs(total - wtotal) < 1e-6 * max(1, abs(total)), (total, wtotal)\n"
                        "print(len(rows), len(wide), len(wide[0]) - 2)\n",
                        longCsv + " " + wideCsv);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output == std::to_string(values) + " " + std::to_string(steps) + " " +
                        std::to_string(acc.series().size()) + "\n");

  const std::string ply = root / "snap.ply";
  CHECK(exportSnapshotPly(run, ply) == 6);
  CHECK(exportSnapshotPly(run, root / "snap3.ply", 3) == 3);
  const auto o = python(root, "ply_check.py",
                        "import sys, json, numpy as np, open3d as o3d\n"
                        "pc = o3d.t.io.read_point_cloud(sys.argv[1])\n"
                        "snap = sys.argv[2]\n"
                        "meta = json.load(open(snap + '/meta.json'))\n"
                        "pos = pc.point['positions'].numpy()\n"
                        "assert np.array_equal(pos, np.load(snap + '/points.npy')), 'positions'\n"
                        "for f in meta['fields']:\n"
                        "    assert f in pc.point, f\n"
                        "    a = pc.point[f].numpy().reshape(-1)\n"
                        "    assert np.array_equal(a, np.load(snap + '/' + f + '.npy')), f\n"
                        "print(len(pos), len(meta['fields']))\n",
                        ply + " " + (fs::path(run) / "snapshots" / checkpointDirName(6)).string());
  INFO(o.output);
  REQUIRE(o.code == 0);
  CHECK(o.output.rfind("512 ", 0) == 0);

  // Errors name what is wrong and write nothing.
  CHECK_THROWS_WITH(exportSnapshotPly(run, root / "x.ply", 4),
                    Catch::Contains("no snapshot at step 4"));
  CHECK_THROWS_WITH(exportMetricsCsv(root / "nope", root / "x.csv", false),
                    Catch::Contains("not a run directory"));
  CHECK(!fs::exists(root / "x.ply"));
  CHECK(!fs::exists(root / "x.csv"));
  const std::string exe = PRETEXT_EXPORT_EXE;
  auto bad = pretext::test::runCommand(exe + " " + run + " --ply soon " + (root / "y.ply"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--ply expects STEP"));
  auto cli = pretext::test::runCommand(exe + " " + run + " --csv " + (root / "c.csv") +
                                       " --wide --ply latest " + (root / "c.ply"));
  INFO(cli.output);
  CHECK(cli.code == 0);
  CHECK(fs::exists(root / "c.csv"));
  CHECK(fs::exists(root / "c.ply"));
}

TEST_CASE("language-model weights export to a dict Python's torch.load reads", "[export]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string run = trainTinyLm(root.str(), "sink-backcopy-kbias",
                                      {"trainer.max_steps=3", "trainer.checkpoint_every=3"});
  const std::string out = root / "lm.pt";
  auto ex = exportWeights(run, out);
  CHECK(ex.step == 3);
  REQUIRE(ex.tensors.size() > 10);
  const auto r =
      python(root, "lm_check.py",
             "import json, sys, torch\n"
             "d = torch.load(sys.argv[1])\n"
             "meta = json.load(open(sys.argv[1] + '.json'))\n"
             "assert meta['kind'] == 'lm_sink' and meta['architecture']['d_model'] == 32\n"
             "assert [t['name'] for t in meta['tensors']] == list(d)\n"
             "for t in meta['tensors']:\n"
             "    assert list(d[t['name']].shape) == t['shape'], t['name']\n"
             "    assert torch.isfinite(d[t['name']]).all(), t['name']\n"
             "print(len(d))\n",
             out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output == std::to_string(ex.tensors.size()) + "\n");
}

TEST_CASE("PLY export of a run that only has attention snapshots says so", "[export]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string run = trainTinyLm(root.str(), "sink-backcopy-softmax",
                                      {"trainer.max_steps=2", "trainer.snapshot_every=2"});
  CHECK_THROWS_WITH(exportSnapshotPly(run, root / "a.ply"),
                    Catch::Contains("has no point snapshot"));
  CHECK_THROWS_WITH(exportSnapshotPly(run, root / "a.ply", 2),
                    Catch::Contains("not a point snapshot"));
  CHECK(!fs::exists(root / "a.ply"));
}

TEST_CASE("attention maps and the sink table as CSV, read back by Python's csv and NumPy",
          "[export]") {
  configureThreads(1);
  pretext::test::TempDir root;
  const std::string run = trainTinyLm(root.str(), "sink-backcopy-kbias",
                                      {"trainer.max_steps=4", "trainer.snapshot_every=2"});
  const std::string maps = root / "maps.csv", table = root / "sink.csv";
  CHECK(exportAttentionCsv(run, maps, std::nullopt) == 4);
  CHECK(exportAttentionCsv(run, root / "maps2.csv", 2) == 2);
  CHECK(exportMetricsCsv(run, table, true, {"sink/", "loss/val"}) == 3);  // steps 0, 2, 4
  // Independent readers: every weight of attention.npy appears once at its index, the sink
  // slot is key 0 ("<sink>"), each query's weights sum to 1 (softmax with the slot), and
  // the table has exactly the sink keys and loss/val.
  const auto r =
      python(root, "attention_check.py",
             "import csv, json, sys\n"
             "import numpy as np\n"
             "rows = list(csv.DictReader(open(sys.argv[1])))\n"
             "a = np.load(sys.argv[3] + '/attention.npy')\n"
             "meta = json.load(open(sys.argv[3] + '/meta.json'))\n"
             "assert len(rows) == a.size, (len(rows), a.shape)\n"
             "got = np.zeros_like(a)\n"
             "for r in rows:\n"
             "    got[int(r['layer']), int(r['head']), int(r['query']), int(r['key'])]"
             " = float(r['weight'])\n"
             "assert np.allclose(got, a, rtol=1e-6, atol=1e-9)\n"
             "assert all(r['key_token'] == '<sink>' for r in rows if r['key'] == '0')\n"
             "assert rows[1]['key_token'] == meta['tokens'][0]\n"
             "assert np.allclose(a.sum(axis=3), 1, atol=1e-4)\n"
             "t = list(csv.DictReader(open(sys.argv[2])))\n"
             "cols = [c for c in t[0].keys() if c not in ('step', 'wall_s')]\n"
             "assert 'loss/val' in cols and 'sink/sink1' in cols and 'sink/sink_slot' in cols\n"
             "assert all(c == 'loss/val' or c.startswith('sink/') for c in cols), cols\n"
             "assert [int(x['step']) for x in t] == [0, 2, 4]\n"
             "print(a.shape)\n",
             maps + " " + table + " " + run + "/snapshots/step_000000004");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THROWS_WITH(exportMetricsCsv(run, root / "none.csv", false, {"nothing/"}),
                    Catch::Contains("no metric key matches 'nothing/'"));
  CHECK_THROWS_WITH(exportAttentionCsv(run, root / "x.csv", 3),
                    Catch::Contains("no snapshot at step 3"));
  CHECK(!fs::exists(root / "none.csv"));
  CHECK(!fs::exists(root / "x.csv"));
}
