// TensorBoard event files: CRC32C, our writer read back by an independent Python reader
// (python3-protobuf + its own CRC32C), a TF2-style file written in Python read by ours,
// the live mirror in run directories, export and import, and corrupt input.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "pretext/runs/export_data.h"
#include "pretext/runs/run_dir.h"
#include "pretext/runs/tfevents.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;
using Catch::Detail::Approx;
namespace fs = std::filesystem;

namespace {
const std::string kChecker = std::string(PRETEXT_SOURCE_DIR) + "/tests/core/tfevents_check.py";

pretext::test::CommandResult pyRead(const std::string& file) {
  return pretext::test::runCommand("/usr/bin/python3 " + kChecker + " read " + file);
}
}  // namespace

TEST_CASE("CRC32C and its TFRecord mask", "[tfevents]") {
  const std::string check = "123456789";
  CHECK(crc32c(check.data(), check.size()) == 0xE3069283u);  // the standard check value
  CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("written scalars read back by Python and by us; TF2 tensors read too", "[tfevents]") {
  pretext::test::TempDir dir;
  TfEventsWriter w;
  std::string error;
  REQUIRE(w.open(dir / "tb", 1.7e9, error));
  for (int s = 0; s < 4; ++s) {
    REQUIRE(w.addScalar("loss/total", s * 5, 1.7e9 + s, 2.5 - 0.5 * s, error));
    REQUIRE(w.addScalar("equiv/rot_cls_acc", s * 5, 1.7e9 + s, 0.125 * s, error));
  }
  REQUIRE(w.flush(error));
  auto r = pyRead(w.path());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("loss/total 15 1.0\n") != std::string::npos);
  CHECK(r.output.find("equiv/rot_cls_acc 10 0.25\n") != std::string::npos);
  auto back = readTfEventsScalars(w.path());
  REQUIRE(back.size() == 8);
  CHECK(back[6].tag == "loss/total");
  CHECK(back[6].step == 15);
  CHECK(back[6].value == Approx(1.0));
  CHECK(back[6].wallTime == Approx(1.7e9 + 3));
  CHECK(findTfEventFiles(dir.str()) == std::vector<std::string>{w.path()});

  const std::string tf2 = dir / "events.out.tfevents.1.tf2";
  REQUIRE(pretext::test::runCommand("/usr/bin/python3 " + kChecker + " write " + tf2).code == 0);
  auto scalars = readTfEventsScalars(tf2);
  REQUIRE(scalars.size() == 9);
  std::map<std::string, std::vector<double>> byTag;
  for (const auto& e : scalars) byTag[e.tag].push_back(e.value);
  CHECK(byTag["tf2/packed"] == std::vector<double>{0.0, 0.5, 1.0});
  CHECK(byTag["tf2/content"] == std::vector<double>{10.0, 11.0, 12.0});
  CHECK(byTag["tf1/simple"] == std::vector<double>{0.0, -1.0, -2.0});
  CHECK(scalars.back().step == 20);
}

TEST_CASE("corrupt and truncated event files", "[tfevents]") {
  pretext::test::TempDir dir;
  TfEventsWriter w;
  std::string error;
  REQUIRE(w.open(dir.str(), 1.0, error));
  REQUIRE(w.addScalar("a", 1, 2.0, 3.0, error));
  REQUIRE(w.addScalar("a", 2, 2.0, 4.0, error));
  REQUIRE(w.flush(error));
  std::string bytes;
  {
    std::ifstream in(w.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  // A record cut off at the end (a writer still running) is ignored.
  std::ofstream(dir / "events.out.tfevents.cut", std::ios::binary)
      << bytes.substr(0, bytes.size() - 5);
  CHECK(readTfEventsScalars(dir / "events.out.tfevents.cut").size() == 1);
  // A flipped byte inside a record is a CRC error naming the file and offset.
  std::string bad = bytes;
  bad[bad.size() - 8] ^= 0x20;
  std::ofstream(dir / "events.out.tfevents.bad", std::ios::binary) << bad;
  CHECK_THROWS_WITH(readTfEventsScalars(dir / "events.out.tfevents.bad"),
                    Catch::Contains("events.out.tfevents.bad") && Catch::Contains("CRC mismatch"));
  CHECK_THROWS_WITH(readTfEventsScalars(dir / "missing"), Catch::Contains("cannot open"));
  pretext::test::TempDir runs;
  CHECK_THROWS_WITH(importTfEvents(dir / "events.out.tfevents.bad", runs.str()),
                    Catch::Contains("CRC mismatch"));
  CHECK_THROWS_WITH(importTfEvents(runs.str(), runs.str()),
                    Catch::Contains("no TensorBoard event file"));
  CHECK(fs::is_empty(runs.str()));
}

TEST_CASE("runs mirror their metrics to TensorBoard; export and import round-trip",
          "[tfevents][export]") {
  configureThreads(1);
  pretext::test::TempDir root;
  auto job = pretext::test::prepareJob(
      pretext::test::launchRequest(root / "runs", "quick-test", {"trainer.max_steps=6"}));
  REQUIRE(pretext::test::runToEnd(*job).phase == RunPhase::Finished);
  const std::string run = job->runDir();
  const auto acc = readMetrics(run);
  std::size_t values = 0;
  for (const auto& [key, points] : acc.series()) values += points.size();

  // The live mirror holds every metric value (no resume here, so no cut to apply).
  auto mirror = findTfEventFiles(run + "/tensorboard");
  REQUIRE(mirror.size() == 1);
  auto live = readTfEventsScalars(mirror[0]);
  CHECK(live.size() == values);
  auto py = pyRead(mirror[0]);
  INFO(py.output);
  REQUIRE(py.code == 0);
  CHECK(static_cast<std::size_t>(std::count(py.output.begin(), py.output.end(), '\n')) == values);

  // Export, then import into a new run: the same series come back.
  const std::string file = exportTfEvents(run, root / "tb");
  auto exported = readTfEventsScalars(file);
  CHECK(exported.size() == values);
  const std::string imported = importTfEvents(root / "tb", root / "imported");
  const auto back = readMetrics(imported);
  REQUIRE(back.series().size() == acc.series().size());
  for (const auto& [key, points] : acc.series()) {
    INFO(key);
    const auto& other = back.series().at(key);
    REQUIRE(other.size() == points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
      CHECK(other[i].step == points[i].step);
      CHECK(other[i].value == Approx(points[i].value).epsilon(1e-6));  // float32 in the file
    }
  }
  std::string err;
  auto st = readStatus(imported, err);
  REQUIRE(st);
  CHECK(st->phase == RunPhase::Finished);
  CHECK(st->step == 6);

  const std::string exe = PRETEXT_EXPORT_EXE;
  auto cli = pretext::test::runCommand(exe + " " + run + " --tfevents " + (root / "tb2"));
  INFO(cli.output);
  CHECK(cli.code == 0);
  CHECK(findTfEventFiles(root / "tb2").size() == 1);
}
