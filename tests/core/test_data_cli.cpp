// pretext-data end to end: info/convert/simulate/augment on real files, and bad input giving a
// one-line error with a non-zero exit (never a crash).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "pretext/data/augment.h"
#include "pretext/data/datasets.h"
#include "pretext/data/readers.h"
#include "test_util.h"

using namespace pretext::core;
using pretext::test::sharedData;
using pretext::test::TempDir;
namespace fs = std::filesystem;

namespace {

pretext::test::CommandResult data(const std::string& args) {
  return pretext::test::runCommand(std::string(PRETEXT_DATA_EXE) + " " + args);
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("pretext-data info reports counts, fields and ranges", "[cli]") {
  auto r = data("info " + sharedData("kitti_object/training_000000.bin") + " --json");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j["points"] == 115384);
  CHECK(j["format"] == "kitti-bin");
  CHECK(j["fields"][3]["name"] == "intensity");
  CHECK(j["fields"][3]["max"].get<double>() == Approx(0.99));
  r = data("info " + sharedData("scene_flow/av2_icpflow_demo.npz") + " --json");
  REQUIRE(r.code == 0);
  const auto z = nlohmann::json::parse(r.output);
  CHECK(z["arrays"]["pc1"]["shape"] == nlohmann::json::array({90000, 3}));
  CHECK(z["flow_pair"]["points_first"] == 63276);
  r = data("info " + sharedData("semantickitti_seq00_pcd/000000.pcd"));
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("pcd, 124668 points"));
  CHECK(data("--help").code == 0);
  CHECK(data("--version").output.rfind("pretext-data ", 0) == 0);
}

TEST_CASE("pretext-data: bad files and arguments give one line and a non-zero exit", "[cli]") {
  TempDir dir;
  auto put = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  };
  const std::string kitti = readFileBytes(sharedData("kitti_object/training_000000.bin"));
  const std::string pcd = readFileBytes(sharedData("semantickitti_seq00_pcd/000000.pcd"));
  const std::string npz = readFileBytes(sharedData("scene_flow/av2_icpflow_demo.npz"));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {put("trunc.bin", kitti.substr(0, 1001)), "not a multiple of the 16-byte record"},
      {put("empty.ply", ""), "not a PLY file"},
      {put("cut.pcd", pcd.substr(0, pcd.size() / 2)), "(truncated?)"},
      {put("lie.pcd", "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 5\nPOINTS 4\nDATA binary\n"),
       "POINTS 4 but WIDTH x HEIGHT = 5 x 1"},
      {put("huge.ply",
           "ply\nformat binary_little_endian 1.0\nelement vertex 999999999999\n"
           "property float x\nproperty float y\nproperty float z\nend_header\n"),
       "truncated?"},
      {put("magic.npy", "NUMPY? no"), "not a .npy file"},
      {put("cut.npz", npz.substr(0, 5000)), "end-of-directory record not found"},
      {dir / "missing.pcd", "cannot open"},
  };
  for (const auto& [path, message] : bad) {
    const auto r = data("info " + path);
    INFO(path << " -> " << r.output);
    CHECK(r.code == 1);
    CHECK(lines(r.output) == 1);
    CHECK_THAT(r.output, Catch::Contains(path) && Catch::Contains(message));
  }
  for (const std::string args :
       {"", "frobnicate", "info", "convert a.pcd", "simulate", "simulate --out x --frames ten",
        "augment a.ply --out b.xyz", "augment a.ply --out b.ply --set scale=-1"}) {
    const auto r = data(args);
    INFO("'" << args << "' -> " << r.output);
    CHECK(r.code == 2);
  }
}

TEST_CASE("pretext-data convert and augment write what they say", "[cli]") {
  TempDir dir;
  const std::string src = sharedData("kitti_object/mmdet3d_demo_000008_reduced.bin");
  REQUIRE(
      data("convert " + src + " " + (dir / "a.pcd") + " --pcd-encoding binary_compressed").code ==
      0);
  REQUIRE(data("convert " + (dir / "a.pcd") + " " + (dir / "b.ply")).code == 0);
  REQUIRE(data("convert " + (dir / "b.ply") + " " + (dir / "c.bin")).code == 0);
  const PointCloud orig = readKittiBin(src), back = readKittiBin(dir / "c.bin");
  CHECK(back.xyz == orig.xyz);
  CHECK(back.fields == orig.fields);

  const auto r = data("augment " + src + " --out " + (dir / "t.ply") +
                      " --set angle_deg=36 --set flip_y=true --set scale=1.02 --set tx=0.1");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j["rotation_bin"] == 7);  // 36 deg in (-90, 90) with 10 bins of 18 deg
  CHECK(j["flip_class"] == 2);
  SpatialTransform t;
  t.angle = 36 * M_PI / 180;
  t.flipY = true;
  t.scale = 1.02;
  t.t[0] = 0.1;
  std::vector<float> expect(orig.xyz.size());
  t.apply(orig.xyz.data(), expect.data(), orig.size());
  CHECK(readPly(dir / "t.ply").xyz == expect);
}

TEST_CASE("pretext-data simulate writes a sequence the dataset readers open", "[cli]") {
  TempDir dir;
  const std::string out = dir / "sim";
  const auto r =
      data("simulate --out " + out + " --frames 3 --seed 4 --beams 32 --azimuth-steps 512");
  REQUIRE(r.code == 0);
  CHECK(data("simulate --out " + out + " --frames 1").code == 2);  // never overwrites
  KittiOdometrySequence seq(out);
  REQUIRE(seq.frames() == 3);
  // poses.txt + identity Tr give the simulator's ego motion: 0.8 m forward per frame.
  const ScenePair p = seq.pair(1);
  CHECK(p.egoMotion[3] == Approx(-0.8).margin(1e-6));
  // flow/NNNNNN.npz holds the exact flow; its static points agree with the pose-derived flow.
  const ScenePair f = readFlowNpz(out + "/flow/000001.npz", defaultFlowKeyMaps());
  REQUIRE(f.first.size() == p.first.size());
  const auto z = parseNpz(out + "/flow/000001.npz", readFileBytes(out + "/flow/000001.npz"));
  const auto& inst = z.at("instance1").data;
  std::size_t statics = 0;
  for (std::size_t i = 0; i < f.first.size(); ++i) {
    if (inst[i] != 0) continue;
    ++statics;
    for (int d = 0; d < 3; ++d) REQUIRE(std::fabs(f.flow[3 * i + d] - p.flow[3 * i + d]) < 1e-4);
  }
  CHECK(statics > 1000);
  // Boxes: one line per labelled object, header first.
  std::ifstream boxes(out + "/boxes/000000.txt");
  std::string header;
  std::getline(boxes, header);
  CHECK(header.rfind("# class cx cy cz", 0) == 0);
}

TEST_CASE("pretext-train reads every folder dataset; a bad folder is a config error", "[cli]") {
  TempDir runs;
  auto train = [&](const std::string& sets) {
    return pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " quick-test --quiet --out " +
                                     runs.str() + " --max-steps 2 " + sets);
  };
  for (const std::string& sets :
       {"--set data.source=files --set objective.flow.weight=0 --set data.path=" +
            sharedData("kitti_object"),
        "--set data.source=files --set objective.flow.weight=0 --set data.path=" +
            sharedData("semantickitti_seq00_pcd/000000.pcd"),
        "--set data.source=npz_flow --set data.path=" + sharedData("scene_flow") +
            " --set data.crop.front_fov=true",
        "--set data.source=kitti_odometry --set data.path=" + sharedData("kitti_odometry_seq00") +
            " --set 'data.odometry_tr=4.276802385584e-04 -9.999672484946e-01 -8.084491683471e-03 "
            "-1.198459927713e-02 -7.210626507497e-03 8.081198471645e-03 -9.999413164504e-01 "
            "-5.403984729748e-02 9.999738645903e-01 4.859485810390e-04 -7.206933692422e-03 "
            "-2.921968648686e-01'"}) {
    const auto r = train(sets);
    INFO(sets << " -> " << r.output);
    CHECK(r.code == 0);
  }
  const std::size_t before =
      std::distance(fs::directory_iterator(runs.str()), fs::directory_iterator());
  CHECK(before == 4);
  const auto r = train("--set data.source=kitti_odometry --set data.path=" +
                       sharedData("kitti_odometry_seq00"));
  CHECK(r.code == 2);
  CHECK_THAT(r.output,
             Catch::Contains("data.path") && Catch::Contains("no calib.txt with a Tr line"));
  // Single scans have no flow: the temporal loss cannot run, and the message says what to do.
  const auto noFlow = train("--set data.source=files --set data.path=" + sharedData("ply"));
  CHECK(noFlow.code == 2);
  CHECK_THAT(noFlow.output, Catch::Contains("objective.flow.weight") &&
                                Catch::Contains("set objective.flow.weight=0"));
  const auto k = train("--set data.source=files --set objective.flow.weight=0 --set data.path=" +
                       sharedData("ply") + " --set data.flow_keys=p1=a");
  CHECK(k.code == 0);  // flow keys are only read by npz_flow
  const auto f = train("--set data.source=npz_flow --set data.path=" + sharedData("scene_flow") +
                       " --set data.flow_keys=speed=x");
  CHECK(f.code == 2);
  CHECK_THAT(f.output, Catch::Contains("data.flow_keys: unknown role 'speed'"));
  // Neither refused configuration left a run directory behind.
  CHECK(static_cast<std::size_t>(
            std::distance(fs::directory_iterator(runs.str()), fs::directory_iterator())) == 5);
}

// ---- issue #21: never trust a file blindly ------------------------------------------------

TEST_CASE("pretext-data refuses FIFOs, implausible headerless data and oversized files",
          "[cli][trust]") {
  TempDir dir;
  const std::string fifo = dir / "x.bin";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // `timeout` turns the old behaviour (waiting forever for a writer) into a failure.
  auto r =
      pretext::test::runCommand("timeout 20 " + std::string(PRETEXT_DATA_EXE) + " info " + fifo);
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(lines(r.output) == 1);
  CHECK_THAT(r.output, Catch::Contains(fifo + ": not a regular file (fifo)"));

  std::mt19937 rng(11);
  std::string noise(16 * 4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() & 0xff);
  std::ofstream(dir / "noise.bin", std::ios::binary) << noise;
  const float huge[8] = {1, 2, 3, 0, 3e38f, -3e38f, 1, 0};
  std::ofstream(dir / "huge.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(huge), sizeof huge);
  for (const std::string name : {"noise.bin", "huge.bin"}) {
    r = data("info " + (dir / name));
    INFO(name << " -> " << r.output);
    CHECK(r.code == 1);
    CHECK(lines(r.output) == 1);
    CHECK_THAT(r.output, Catch::Contains(dir / name) && Catch::Contains("data.max_abs_coord"));
  }
  // --max-abs-coord moves the bound.
  r = data("info " + (dir / "huge.bin") + " --max-abs-coord 1e39");
  INFO(r.output);
  CHECK(r.code == 0);

  // 15 GiB of holes: refused by size, under a 4 GB address-space cap so that the old
  // behaviour (allocating it) fails fast instead of exhausting the machine.
  const std::string sparse = dir / "sparse.bin";
  {
    const int fd = ::open(sparse.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 15ll << 30) == 0);
    ::close(fd);
  }
  r = pretext::test::runCommand("ulimit -v 4000000; " + std::string(PRETEXT_DATA_EXE) + " info " +
                                sparse);
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(lines(r.output) == 1);
  CHECK_THAT(r.output, Catch::Contains(sparse + ": needs 15.0 GiB") &&
                           Catch::Contains("more than the limit"));
  // With the limit lifted, the allocation itself fails; the message still names the file.
  r = pretext::test::runCommand("ulimit -v 1500000; PRETEXT_READ_LIMIT_GIB=100 " +
                                std::string(PRETEXT_DATA_EXE) + " info " + sparse);
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(lines(r.output) == 1);
  CHECK_THAT(r.output, Catch::Contains(sparse + ": out of memory"));
}

TEST_CASE("pretext-train: bad files in a data folder are refused before the run exists",
          "[cli][trust]") {
  TempDir runs, dir;
  auto train = [&](const std::string& sets) {
    return pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " quick-test --quiet --out " +
                                     runs.str() + " --max-steps 1 " + sets);
  };
  auto runDirs = [&] {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(runs.str()), fs::directory_iterator()));
  };
  fs::create_directories(dir / "scans");
  const std::string kitti = readFileBytes(sharedData("kitti_object/training_000000.bin"));
  std::ofstream(dir / "scans/000000.bin", std::ios::binary) << kitti;
  std::ofstream(dir / "scans/000001.bin", std::ios::binary) << kitti;
  std::mt19937 rng(5);
  std::string noise(16 * 4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() & 0xff);
  std::ofstream(dir / "scans/000002.bin", std::ios::binary) << noise;
  const std::string sets =
      "--set data.source=files --set objective.flow.weight=0 --set data.path=" + (dir / "scans");
  auto r = train(sets);
  INFO(r.output);
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("data.path") && Catch::Contains(dir / "scans/000002.bin"));
  CHECK(runDirs() == 0);
  r = train(sets + " --set data.on_bad_file=skip");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output,
             Catch::Contains("skipped 1 of 3 files: first: " + (dir / "scans/000002.bin") + ": "));
  CHECK(runDirs() == 1);
}

TEST_CASE("pretext-train --set needs KEY=VALUE and never swallows the next option",
          "[cli][trust]") {
  TempDir runs;
  for (const std::string& args :
       {"quick-test --set --out " + runs.str(), "quick-test --set trainer.lr --out " + runs.str(),
        "quick-test --set --max-steps=3 --out " + runs.str()}) {
    const auto r =
        pretext::test::runCommand(std::string(PRETEXT_TRAIN_EXE) + " " + args + " --max-steps 1");
    INFO(args << " -> " << r.output);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains("--set expects KEY=VALUE"));
  }
  CHECK(std::distance(fs::directory_iterator(runs.str()), fs::directory_iterator()) == 0);
}
