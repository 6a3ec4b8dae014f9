// Readers on the real files in ../shared/data (golden values from its README), round trips
// through the writers, and a malformed-input set for every reader asserting the message.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "pretext/data/datasets.h"
#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/data/voxelize.h"
#include "test_util.h"

using namespace pretext::core;
using pretext::test::sharedData;
using pretext::test::TempDir;
namespace fs = std::filesystem;

namespace {

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// KITTI odometry sequence 00's velodyne-to-camera calibration (its calib.txt Tr line).
const char* kSeq00Calib =
    "Tr: 4.276802385584e-04 -9.999672484946e-01 -8.084491683471e-03 -1.198459927713e-02 "
    "-7.210626507497e-03 8.081198471645e-03 -9.999413164504e-01 -5.403984729748e-02 "
    "9.999738645903e-01 4.859485810390e-04 -7.206933692422e-03 -2.921968648686e-01\n";

// The shared odometry pair as a sequence folder (scans and poses; no calib.txt).
void linkOdometryPair(const fs::path& dir) {
  fs::create_directories(dir / "velodyne");
  fs::create_symlink(sharedData("kitti_odometry_seq00/000000.bin"), dir / "velodyne/000000.bin");
  fs::create_symlink(sharedData("kitti_odometry_seq00/000001.bin"), dir / "velodyne/000001.bin");
  fs::create_symlink(sharedData("kitti_odometry_seq00/poses_00_with_times.txt"), dir / "poses.txt");
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

// The message of the DataError thrown by f, or "" when nothing was thrown.
template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

void minMax(const PointCloud& c, int axis, float& lo, float& hi) {
  lo = 1e30f;
  hi = -1e30f;
  for (std::size_t i = 0; i < c.size(); ++i) {
    lo = std::min(lo, c.xyz[3 * i + axis]);
    hi = std::max(hi, c.xyz[3 * i + axis]);
  }
}

double medianNearest(const std::vector<float>& query, const PointCloud& target) {
  NeighborGrid grid(target.xyz.data(), target.size(), 0.5);
  std::vector<double> d;
  for (std::size_t i = 0; i < query.size() / 3; ++i) {
    double dist = 0;
    if (grid.nearest(&query[3 * i], 5.0, &dist) >= 0)
      d.push_back(dist);
    else
      d.push_back(5.0);
  }
  std::nth_element(d.begin(), d.begin() + static_cast<long>(d.size() / 2), d.end());
  return d[d.size() / 2];
}

}  // namespace

TEST_CASE("KITTI .bin frames read with the documented counts and ranges", "[readers][golden]") {
  const PointCloud a = readKittiBin(sharedData("kitti_object/training_000000.bin"));
  CHECK(a.size() == 115384);
  CHECK(a.droppedNonFinite == 0);
  REQUIRE(a.field("intensity"));
  float lo, hi;
  minMax(a, 0, lo, hi);
  CHECK(lo >= -80.0f);
  CHECK(hi <= 80.0f);
  minMax(a, 2, lo, hi);
  CHECK(lo >= -7.3f);
  CHECK(hi <= 2.9f);
  const auto& in = *a.field("intensity");
  CHECK(*std::min_element(in.begin(), in.end()) >= 0.0f);
  CHECK(*std::max_element(in.begin(), in.end()) <= 0.99f);
  CHECK(readPointCloud(sharedData("kitti_object/training_000001.bin")).size() == 120268);
  CHECK(readKittiBin(sharedData("kitti_object/mmdet3d_demo_000008_reduced.bin")).size() == 17238);
}

TEST_CASE("The PCD and BIN copies of the same scan are identical after reading",
          "[readers][golden]") {
  const PointCloud bin = readKittiBin(sharedData("kitti_odometry_seq00/000000.bin"));
  const PointCloud pcd = readPointCloud(sharedData("semantickitti_seq00_pcd/000000.pcd"));
  REQUIRE(bin.size() == 124668);
  REQUIRE(pcd.size() == bin.size());
  CHECK(pcd.fieldNames == std::vector<std::string>{"rgb"});
  CHECK(std::memcmp(pcd.xyz.data(), bin.xyz.data(), bin.xyz.size() * sizeof(float)) == 0);
}

TEST_CASE("nuScenes .pcd.bin reads 5 columns with a whole-number ring", "[readers][golden]") {
  const std::string path =
      sharedData("nuscenes/n008-2018-09-18-12-07-26-0400__LIDAR_TOP__1537287083900561.pcd.bin");
  REQUIRE(formatFromPath(path) == CloudFormat::NuscenesBin);
  const PointCloud c = readPointCloud(path);
  CHECK(c.size() == 400);
  REQUIRE(c.field("ring"));
  std::set<float> rings(c.field("ring")->begin(), c.field("ring")->end());
  CHECK(rings.size() == 32);
  for (float r : rings) CHECK(r == std::floor(r));
  float lo, hi;
  minMax(c, 0, lo, hi);
  CHECK(lo == Approx(-22.1).margin(0.05));
  CHECK(hi <= 0.0f);
}

TEST_CASE("ASCII PLY bunny: vertex count, fields and real size", "[readers][golden]") {
  const PointCloud c = readPly(sharedData("ply/stanford_bunny_bun_zipper_res3.ply"));
  CHECK(c.size() == 1889);
  CHECK(c.fieldNames == std::vector<std::string>{"confidence", "intensity"});
  float lo, hi;
  minMax(c, 0, lo, hi);
  CHECK(hi - lo == Approx(0.155).margin(0.003));
  minMax(c, 1, lo, hi);
  CHECK(hi - lo == Approx(0.152).margin(0.003));
  minMax(c, 2, lo, hi);
  CHECK(hi - lo == Approx(0.120).margin(0.003));
}

TEST_CASE("KITTI label boxes in the LiDAR frame hold the documented points", "[readers][golden]") {
  const KittiCalib calib = readKittiCalib(sharedData("kitti_object/training_000000_calib.txt"));
  const auto labels = readKittiLabels(sharedData("kitti_object/training_000000_label_2.txt"));
  REQUIRE(labels.size() == 1);
  CHECK(labels[0].type == "Pedestrian");
  const PointCloud scan = readKittiBin(sharedData("kitti_object/training_000000.bin"));
  const Box3D box = kittiBoxInLidar(labels[0], calib);
  // README: 376 points by the same construction (OpenPCDet's crop: 383, mmdet3d's: 377). The
  // feet stand on the ground, so the count depends on float rounding at the bottom face: we
  // get 377, and 376 lies between the counts with the faces moved 1 mm in and out.
  const std::size_t n = countPointsInBox(scan, box);
  CHECK(n >= 375);
  CHECK(n <= 377);
  CHECK(countPointsInBox(scan, box, -0.001) <= 376);
  CHECK(countPointsInBox(scan, box, 0.001) >= 376);

  // Frame 1: every real object holds points, and its centre projects into its 2-D box.
  const KittiCalib c1 = readKittiCalib(sharedData("kitti_object/training_000001_calib.txt"));
  const auto l1 = readKittiLabels(sharedData("kitti_object/training_000001_label_2.txt"));
  REQUIRE(l1.size() == 7);
  const PointCloud s1 = readKittiBin(sharedData("kitti_object/training_000001.bin"));
  int real = 0;
  for (const auto& o : l1) {
    if (o.type == "DontCare") continue;
    ++real;
    const Box3D b = kittiBoxInLidar(o, c1);
    CHECK(countPointsInBox(s1, b) >= 5);  // the car at 59 m holds 9
    // Back to the camera and through P2.
    const Mat4 v2c = c1.veloToRectCam();
    double cam[3];
    for (int i = 0; i < 3; ++i)
      cam[i] = v2c[4 * i] * b.cx + v2c[4 * i + 1] * b.cy + v2c[4 * i + 2] * b.cz + v2c[4 * i + 3];
    const double* P = c1.P2;
    const double u = P[0] * cam[0] + P[1] * cam[1] + P[2] * cam[2] + P[3];
    const double v = P[4] * cam[0] + P[5] * cam[1] + P[6] * cam[2] + P[7];
    const double w = P[8] * cam[0] + P[9] * cam[1] + P[10] * cam[2] + P[11];
    CHECK(u / w >= o.bbox[0]);
    CHECK(u / w <= o.bbox[2]);
    CHECK(v / w >= o.bbox[1]);
    CHECK(v / w <= o.bbox[3]);
  }
  CHECK(real == 3);
}

TEST_CASE("KITTI odometry: the ground-truth pose reduces the mismatch of consecutive scans",
          "[readers][golden]") {
  TempDir dir;
  linkOdometryPair(dir.str());
  // Without calib.txt the folder is refused with a message saying what to add.
  CHECK_THAT(errorOf([&] { KittiOdometrySequence s(dir.str()); }),
             Catch::Contains("no calib.txt with a Tr line"));
  writeBytes(dir / "calib.txt", kSeq00Calib);
  KittiOdometrySequence seq(dir.str());
  REQUIRE(seq.frames() == 2);
  const ScenePair p = seq.pair(0);
  CHECK(p.flowKind == "ego-motion");
  // Forward motion of 0.86 m: frame-0 points move backwards by about that much in frame 1.
  CHECK(std::hypot(p.egoMotion[3], p.egoMotion[7]) == Approx(0.860).margin(0.01));
  // Above-ground points at 3-30 m, as in the README's check.
  std::vector<float> raw, warped;
  for (std::size_t i = 0; i < p.first.size(); ++i) {
    const float* q = &p.first.xyz[3 * i];
    const double r = std::hypot(q[0], q[1]);
    if (q[2] <= -1.2f || r < 3 || r > 30) continue;
    for (int d = 0; d < 3; ++d) {
      raw.push_back(q[d]);
      warped.push_back(q[d] + p.flow[3 * i + d]);
    }
  }
  const double before = medianNearest(raw, p.second), after = medianNearest(warped, p.second);
  INFO("median NN distance raw " << before << " m, with pose " << after << " m");
  CHECK(before > 0.12);
  CHECK(after < 0.09);
  CHECK(after < 0.6 * before);
}

TEST_CASE("Argoverse 2 .npz: the stored flow reduces the mismatch of moving points",
          "[readers][golden]") {
  const ScenePair p =
      readFlowNpz(sharedData("scene_flow/av2_icpflow_demo.npz"), defaultFlowKeyMaps());
  CHECK(p.first.size() == 63276);
  CHECK(p.second.size() == 63322);
  CHECK(p.flowKind == "stored");
  std::vector<float> moving, warped;
  float maxFlow = 0;
  for (std::size_t i = 0; i < p.first.size(); ++i) {
    const float* f = &p.flow[3 * i];
    const float m = std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
    maxFlow = std::max(maxFlow, m);
    if (m <= 0.5f) continue;
    for (int d = 0; d < 3; ++d) {
      moving.push_back(p.first.xyz[3 * i + d]);
      warped.push_back(p.first.xyz[3 * i + d] + f[d]);
    }
  }
  CHECK(moving.size() / 3 == 4248);
  CHECK(maxFlow == Approx(1.25).margin(0.01));
  const double before = medianNearest(moving, p.second), after = medianNearest(warped, p.second);
  INFO("moving points: median NN " << before << " m raw, " << after << " m with flow");
  CHECK(before == Approx(0.173).margin(0.005));
  CHECK(after == Approx(0.049).margin(0.005));

  // An explicit key map picks the same arrays; a wrong one names the arrays present.
  const ScenePair q =
      readFlowNpz(sharedData("scene_flow/av2_icpflow_demo.npz"),
                  {parseFlowKeyMap("p1=pc1,p2=pc2,flow=gt_flow_0_1,valid1=pc1_flows_valid_idx,"
                                   "valid2=pc2_flows_valid_idx")});
  CHECK(q.first.xyz == p.first.xyz);
  const std::string e = errorOf([] {
    readFlowNpz(sharedData("scene_flow/av2_icpflow_demo.npz"),
                {parseFlowKeyMap("p1=a,p2=b,flow=c")});
  });
  CHECK_THAT(e, Catch::Contains("no known scene-flow key set") && Catch::Contains("gt_flow_0_1"));
  // Without the index arrays, the NaN padding rows are dropped and counted.
  const ScenePair r = readFlowNpz(sharedData("scene_flow/av2_icpflow_demo.npz"),
                                  {parseFlowKeyMap("p1=pc1,p2=pc2,flow=gt_flow_0_1")});
  CHECK(r.first.size() > 63276);
  CHECK(r.first.droppedNonFinite > 0);
  CHECK(r.first.size() + r.first.droppedNonFinite == 90000);
  CHECK_THAT(errorOf([] { parseFlowKeyMap("p1=pc1,speed=x"); }),
             Catch::Contains("unknown role 'speed'"));
  CHECK_THAT(errorOf([] { parseFlowKeyMap("p1=pc1"); }),
             Catch::Contains("p1, p2 and flow are required"));
}

TEST_CASE("Writers round-trip through every encoding", "[readers]") {
  TempDir dir;
  PointCloud c;
  for (int i = 0; i < 1000; ++i) {
    c.xyz.push_back(static_cast<float>(std::sin(i) * 30));
    c.xyz.push_back(static_cast<float>(std::cos(i * 0.7) * 20));
    c.xyz.push_back(static_cast<float>(i % 17) * 0.1f - 1.0f);
  }
  auto& in = c.addField("intensity");
  for (int i = 0; i < 1000; ++i)
    in[static_cast<std::size_t>(i)] = static_cast<float>(i % 100) / 100.0f;
  c.addField("ring", 7.0f);
  for (auto enc : {PcdEncoding::Ascii, PcdEncoding::Binary, PcdEncoding::BinaryCompressed}) {
    writePcd(dir / "a.pcd", c, enc);
    const PointCloud r = readPcd(dir / "a.pcd");
    CHECK(r.xyz == c.xyz);
    CHECK(r.fields == c.fields);
    CHECK(r.fieldNames == c.fieldNames);
  }
  for (bool binary : {false, true}) {
    writePly(dir / "a.ply", c, binary);
    const PointCloud r = readPly(dir / "a.ply");
    CHECK(r.xyz == c.xyz);
    CHECK(r.fields == c.fields);
  }
  writeKittiBin(dir / "a.bin", c);
  const PointCloud b = readKittiBin(dir / "a.bin");
  CHECK(b.xyz == c.xyz);
  CHECK(*b.field("intensity") == in);
  // Big-endian PLY with mixed scalar types and a face element after the vertices.
  std::string be =
      "ply\nformat binary_big_endian 1.0\nelement vertex 2\nproperty double x\n"
      "property float y\nproperty short z\nproperty uchar label\n"
      "element face 1\nproperty list uchar int vertex_indices\nend_header\n";
  auto beBytes = [](auto v) {
    std::string s(reinterpret_cast<const char*>(&v), sizeof(v));
    std::reverse(s.begin(), s.end());
    return s;
  };
  for (int i = 0; i < 2; ++i)
    be += beBytes(1.5 + i) + beBytes(-2.0f * static_cast<float>(i)) +
          beBytes(static_cast<std::int16_t>(-300 + i)) + std::string(1, static_cast<char>(200 + i));
  be += std::string(1, '\3') + beBytes(0) + beBytes(1) + beBytes(1);
  const PointCloud p = parsePly("be.ply", be);
  REQUIRE(p.size() == 2);
  CHECK(p.xyz == std::vector<float>{1.5f, 0.0f, -300.0f, 2.5f, -2.0f, -299.0f});
  CHECK(*p.field("label") == std::vector<float>{200.0f, 201.0f});
  // LZF of repetitive and random data.
  std::string data(5000, 'a');
  for (std::size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i * 31);
  CHECK(lzfDecompress(lzfCompress(data), data.size(), "x") == data);
}

TEST_CASE("Malformed .bin input gives clear errors; NaN rows are dropped and counted",
          "[readers][malformed]") {
  CHECK_THAT(errorOf([] { parseFloatRecords("s.bin", "", 4, {"intensity"}); }),
             Catch::Equals("s.bin: empty file"));
  CHECK_THAT(errorOf([] { parseFloatRecords("s.bin", std::string(18, '\0'), 4, {"intensity"}); }),
             Catch::StartsWith("s.bin: size 18 bytes is not a multiple of the 16-byte record"));
  const float nan = std::nanf("");
  const PointCloud c = parseFloatRecords(
      "s.bin", raw<float>({1, 2, 3, 0.5f, nan, 0, 0, 0, 4, 5, 6, 0.25f}), 4, {"intensity"});
  CHECK(c.size() == 2);
  CHECK(c.droppedNonFinite == 1);
  CHECK(*c.field("intensity") == std::vector<float>{0.5f, 0.25f});
  CHECK_THAT(errorOf([&] {
               parseFloatRecords("s.bin", raw<float>({nan, 0, 0, 0}), 4, {"intensity"});
             }),
             Catch::Contains("no finite points (1 rows with NaN/Inf coordinates)"));
  CHECK_THAT(errorOf([] { readKittiBin("/nonexistent/x.bin"); }),
             Catch::StartsWith("/nonexistent/x.bin: cannot open"));
  CHECK_THAT(errorOf([] { readPointCloud("scan.xyz"); }),
             Catch::Contains("unknown point-cloud format"));
}

TEST_CASE("Malformed PCD input gives clear errors", "[readers][malformed]") {
  const std::string head = "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n";
  auto err = [](const std::string& text) { return errorOf([&] { parsePcd("a.pcd", text); }); };
  CHECK_THAT(err(""), Catch::Equals("a.pcd: empty file"));
  CHECK_THAT(err("hello world\n"), Catch::Contains("not a PCD file"));
  CHECK_THAT(err(head + "WIDTH 2\nPOINTS 2\n"),
             Catch::Contains("header ends before the DATA line"));
  CHECK_THAT(err("FIELDS x y z\nSIZE 4 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2 3\n"),
             Catch::Contains("declares 3 FIELDS but 2 SIZE"));
  CHECK_THAT(err(head + "WIDTH 3\nHEIGHT 1\nPOINTS 2\nDATA ascii\n1 2 3\n4 5 6\n"),
             Catch::Contains("POINTS 2 but WIDTH x HEIGHT = 3 x 1"));
  CHECK_THAT(err("FIELDS x y\nSIZE 4 4\nTYPE F F\nPOINTS 1\nDATA ascii\n1 2\n"),
             Catch::Contains("fields must include x, y and z (found: x y)"));
  CHECK_THAT(err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F Q\nPOINTS 1\nDATA ascii\n1 2 3\n"),
             Catch::Contains("unknown type 'Q'"));
  CHECK_THAT(err(head + "POINTS 2\nDATA ascii\n1 2 3\n4 5\n"),
             Catch::Contains("point 1 has 2 values, the header declares 3"));
  CHECK_THAT(err(head + "POINTS 1\nDATA ascii\n1 two 3\n"),
             Catch::Contains("'two' is not a number"));
  CHECK_THAT(err(head + "POINTS 3\nDATA ascii\n1 2 3\n"),
             Catch::Contains("POINTS 3 but the data has 1 lines"));
  CHECK_THAT(err(head + "POINTS 2\nDATA binary\n" + raw<float>({1, 2, 3, 4})),
             Catch::Contains("POINTS 2 (24 bytes) but only 16 bytes"));
  CHECK_THAT(err(head + "POINTS 99999999999999\nDATA binary\n" + raw<float>({1, 2, 3})),
             Catch::Contains("implausibly large"));
  CHECK_THAT(err(head + "POINTS 1\nDATA lz4\n"), Catch::Contains("unknown encoding 'lz4'"));
  CHECK_THAT(err(head + "POINTS 0\nDATA binary\n"), Catch::Equals("a.pcd: no points"));
  CHECK_THAT(err(head + "POINTS 1\nDATA binary_compressed\n" + raw<std::uint32_t>({100, 12})),
             Catch::Contains("compressed size 100 but only 0 bytes follow"));
  CHECK_THAT(err(head + "POINTS 1\nDATA binary_compressed\n" + raw<std::uint32_t>({2, 99}) + "ab"),
             Catch::Contains("uncompressed size 99 disagrees"));
  CHECK_THAT(err(head + "POINTS 1\nDATA binary_compressed\n" + raw<std::uint32_t>({3, 12}) +
                 std::string("\x40\x10\x00", 3)),
             Catch::Contains("LZF back reference points before the start"));
  CHECK_THAT(err(head + "POINTS 1\nDATA ascii\nnan 1 2\n"),
             Catch::Contains("no finite points (1 rows with NaN/Inf coordinates)"));
}

TEST_CASE("Malformed PLY input gives clear errors", "[readers][malformed]") {
  auto err = [](const std::string& text) { return errorOf([&] { parsePly("m.ply", text); }); };
  const std::string v = "element vertex 2\nproperty float x\nproperty float y\nproperty float z\n";
  CHECK_THAT(err("PLY\n"), Catch::Contains("not a PLY file"));
  CHECK_THAT(err("ply\nformat ascii 1.0\n" + v), Catch::Contains("header ends before end_header"));
  CHECK_THAT(err("ply\nformat binary_middle_endian 1.0\n" + v + "end_header\n"),
             Catch::Contains("unknown format 'binary_middle_endian'"));
  CHECK_THAT(err("ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n"),
             Catch::Contains("unknown type 'quad'"));
  CHECK_THAT(err("ply\nformat ascii 1.0\nelement face 1\nproperty float x\nend_header\n1\n"),
             Catch::Contains("no 'vertex' element"));
  CHECK_THAT(err("ply\nformat ascii 1.0\n" + v + "end_header\n1 2 3\n"),
             Catch::Contains("header says 2 vertices but the data has 1"));
  CHECK_THAT(err("ply\nformat ascii 1.0\n" + v + "end_header\n1 2 3\n4 5 6 7\n"),
             Catch::Contains("vertex 1 has 4 values, the header declares 3"));
  CHECK_THAT(
      err("ply\nformat binary_little_endian 1.0\n" + v + "end_header\n" + raw<float>({1, 2, 3})),
      Catch::Contains("2 vertices of at least 12 bytes but only 12 bytes"));
  CHECK_THAT(err("ply\nformat binary_little_endian 1.0\nelement vertex 18446744073709551615\n"
                 "property float x\nproperty float y\nproperty float z\nend_header\n"),
             Catch::Contains("truncated?"));
  CHECK_THAT(err("ply\nformat binary_little_endian 1.0\nelement face 1\n"
                 "property list uchar int vertex_indices\n" +
                 v + "end_header\n\xff"),
             Catch::Contains("ends inside element 'face'"));
  // A float list count could hold NaN or 2.5; the header is refused (found by fuzzing).
  CHECK_THAT(err("ply\nformat binary_little_endian 1.0\nelement face 1\n"
                 "property list float int vertex_indices\n" +
                 v + "end_header\n" + raw<float>({std::nanf("")})),
             Catch::Contains("list count type 'float' is not an integer type"));
}

TEST_CASE("Malformed .npy/.npz input gives clear errors", "[readers][malformed]") {
  auto npy = [](const std::string& header, const std::string& data) {
    std::string h = header;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::string s = "\x93NUMPY\x01";
    s += '\0';
    s += static_cast<char>(h.size() & 0xff);
    s += static_cast<char>(h.size() >> 8);
    return s + h + data;
  };
  const std::string good =
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", raw<float>({1, 2, 3}));
  CHECK(parseNpyCloud("a.npy", good).size() == 1);
  // float16 and big-endian float64 convert.
  CHECK(parseNpy("h.npy", npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
                              raw<std::uint16_t>({0x3c00, 0xc000})))
            .data == std::vector<double>{1.0, -2.0});
  std::string be8 = raw<double>({0.5});
  std::reverse(be8.begin(), be8.end());
  CHECK(parseNpy("b.npy", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", be8))
            .data[0] == 0.5);
  auto err = [](auto f) { return errorOf(f); };
  CHECK_THAT(err([] { parseNpy("a.npy", "PK\x03\x04 nonsense"); }),
             Catch::Contains("not a .npy file"));
  CHECK_THAT(err([&] { parseNpy("a.npy", good.substr(0, 20)); }),
             Catch::Contains("truncated .npy header"));
  CHECK_THAT(err([&] { parseNpy("a.npy", good.substr(0, good.size() - 1)); }),
             Catch::Contains("shape needs 12 bytes of <f4 data but 11 bytes follow"));
  CHECK_THAT(err([&] {
               parseNpy("a.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3), }",
                                     raw<float>({1, 2, 3})));
             }),
             Catch::Contains("Fortran-ordered"));
  CHECK_THAT(err([&] {
               parseNpy("a.npy", npy("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }",
                                     "abcdabcdabcdabcd"));
             }),
             Catch::Contains("unsupported dtype '<U4'"));
  CHECK_THAT(
      err([&] {
        parseNpy(
            "a.npy",
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                ""));
      }),
      Catch::Contains("shape needs more data"));
  // Found by the fuzzer: an empty array may not declare an absurd second dimension (the
  // column names of a 7.8e14-column cloud ran out of memory), nor a cloud 5000 columns.
  CHECK_THAT(err([&] {
               parseNpyCloud("a.npy", npy("{'descr': '<f2', 'fortran_order': False, 'shape': "
                                          "(0, 777777777777777), }",
                                          ""));
             }),
             Catch::Contains("shape entry 777777777777777 is implausibly large"));
  CHECK_THAT(err([&] {
               parseNpyCloud("a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                          "(0, 5000), }",
                                          ""));
             }),
             Catch::Contains("5000 columns (at most 1024)"));
  // Found by the fuzzer: a 47-byte "zip" whose zip64 locator points past its end (read out
  // of bounds before the size check learned that the file can be shorter than the record).
  const unsigned char zip64[] = {0x50, 0x4b, 0x03, 0x04, 0x14, 0x50, 0x4b, 0x06, 0x07, 0x00,
                                 0x00, 0x74, 0x02, 0x01, 0x00, 0x00, 0x88, 0x04, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x00, 0xd5, 0x00, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK_THAT(err([&] {
               parseNpz("a.npz",
                        std::string_view(reinterpret_cast<const char*>(zip64), sizeof zip64));
             }),
             Catch::Contains("bad zip64 end-of-directory record"));
  CHECK_THAT(err([&] {
               parseNpyCloud("a.npy",
                             npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                 raw<float>({1, 2, 3})));
             }),
             Catch::Contains("expected an (N, 3+) array"));

  const std::string npz = readFileBytes(sharedData("scene_flow/av2_icpflow_demo.npz"));
  CHECK_THAT(err([] { parseNpz("f.npz", "not a zip at all, really"); }),
             Catch::Contains("bad magic"));
  CHECK_THAT(err([&] { parseNpz("f.npz", npz.substr(0, npz.size() / 2)); }),
             Catch::Contains("end-of-directory record not found"));
  std::string flipped = npz;
  flipped[200] = static_cast<char>(flipped[200] ^ 0x5a);  // inside pc1's deflate stream
  CHECK_THAT(err([&] { parseNpz("f.npz", flipped); }),
             Catch::Contains("f.npz[pc1.npy]") &&
                 (Catch::Contains("corrupt deflate data") || Catch::Contains("CRC mismatch")));
}

TEST_CASE("Malformed KITTI labels, calibration and poses give clear errors",
          "[readers][malformed]") {
  auto err = [](auto f) { return errorOf(f); };
  CHECK_THAT(err([] { parseKittiLabels("l.txt", "Car 0 0 0 1 2 3 4 1.5 1.6 3.9 1 2\n"); }),
             Catch::Contains("line 1: expected 15 values (16 with a score), got 13"));
  CHECK_THAT(err([] { parseKittiLabels("l.txt", "\nCar 0 0 0 1 2 3 4 1.5 1.6 3.9 1 2 x 0\n"); }),
             Catch::Contains("line 2: value 14 'x' is not a finite number"));
  // Found by the fuzzer: a huge occlusion value was cast to int (undefined behaviour).
  CHECK_THAT(err([] { parseKittiLabels("l.txt", "Car 0 7e41 0 1 2 3 4 1.5 1.6 3.9 1 2 3 0\n"); }),
             Catch::Contains("occlusion '7e41' is not one of -1, 0, 1, 2, 3"));
  CHECK_THAT(err([] { parseKittiLabels("l.txt", "Car 0 0 0 1 2 3 4 -1.5 1.6 3.9 1 2 3 0\n"); }),
             Catch::Contains("negative box dimensions"));
  CHECK_THAT(err([] { parseKittiCalib("c.txt", "P2: 1 2 3\n"); }),
             Catch::Contains("P2 has 3 values, expected 12"));
  CHECK_THAT(err([] { parseKittiCalib("c.txt", "P2: 1 0 0 0 0 1 0 0 0 0 1 0\n"); }),
             Catch::Contains("missing R0_rect line"));
  CHECK_THAT(err([] { parseKittiCalib("c.txt", "P2 1 0 0\n"); }),
             Catch::Contains("expected 'KEY: values'"));
  CHECK_THAT(err([] {
               parseKittiCalib("c.txt",
                               "P2: 1 0 0 0 0 1 0 0 0 0 1 0\nR0_rect: 2 0 0 0 2 0 0 0 2\n"
                               "Tr_velo_to_cam: 1 0 0 0 0 1 0 0 0 0 1 0\n");
             }),
             Catch::Contains("is not a rotation (det 8"));
  CHECK_THAT(err([] { parseKittiPoses("p.txt", "1 0 0 0 0 1 0 0 0 0 1\n"); }),
             Catch::Contains("expected 12 pose values (or 13 with a timestamp first), got 11"));
  CHECK_THAT(
      err([] { parseKittiPoses("p.txt", "1 0 0 0 0 1 0 0 0 0 1 0\n0 1 0 0 0 0 1 0 0 0 0 1 0\n"); }),
      Catch::Contains("line 2 has 13 values, earlier lines have 12"));
  CHECK_THAT(err([] { parseKittiPoses("p.txt", "# nothing\n"); }), Catch::Contains("no poses"));
  CHECK_THAT(err([] { parseOdometryTr("calib.txt", "P0: 1 2\n"); }),
             Catch::Contains("missing Tr line"));
}

TEST_CASE("Datasets open from folders and name what is missing", "[readers][datasets]") {
  TempDir dir;
  // KITTI object layout made from the shared frames.
  for (const char* sub : {"velodyne", "label_2", "calib"})
    fs::create_directories(dir / ("obj/training/" + std::string(sub)));
  fs::create_symlink(sharedData("kitti_object/training_000000.bin"),
                     dir / "obj/training/velodyne/000000.bin");
  fs::create_symlink(sharedData("kitti_object/training_000000_label_2.txt"),
                     dir / "obj/training/label_2/000000.txt");
  fs::create_symlink(sharedData("kitti_object/training_000000_calib.txt"),
                     dir / "obj/training/calib/000000.txt");
  DatasetOptions o;
  o.source = "kitti_object";
  o.path = dir / "obj";
  auto ds = openDataset(o);
  CHECK(ds->size() == 1);
  CHECK(ds->scan(0).size() == 115384);
  const auto boxes = ds->boxes(0);
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].label == "Pedestrian");
  CHECK(!ds->hasPairs());
  CHECK_THAT(errorOf([&] { ds->pair(0); }), Catch::Contains("has no consecutive pairs"));

  o.source = "files";
  o.path = sharedData("kitti_object");
  ds = openDataset(o);
  CHECK(ds->size() == 3);
  o.source = "npz_flow";
  o.path = sharedData("scene_flow");
  ds = openDataset(o);
  REQUIRE(ds->hasPairs());
  CHECK(ds->pair(0).first.size() == 63276);

  o.source = "files";
  o.path = dir / "empty";
  fs::create_directories(o.path);
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("no point-cloud files"));
  o.source = "kitti_object";
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("not a KITTI object folder"));
  o.source = "kitti_odometry";
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("no NNNNNN.bin scans"));
  o.source = "npz_flow";
  o.path = dir / "missing";
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("no such file or folder"));
  o.source = "simulated";
  o.simBeams = 0;
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("simulator: invalid options"));
}

TEST_CASE("flow pairs for the flow view: simulated, .npz and KITTI odometry", "[readers][flow]") {
  const FlowSample sim = loadFlowPair("simulated", 3);
  CHECK(sim.kind == "exact");
  CHECK(sim.size() > 1000);
  CHECK(sim.truth.size() == sim.first.size());
  CHECK(!sim.second.empty());

  const FlowSample npz = loadFlowPair(sharedData("scene_flow/av2_icpflow_demo.npz"), 0);
  CHECK(npz.kind == "stored");
  CHECK(npz.truth.size() == npz.first.size());
  CHECK_THAT(npz.source, Catch::Contains("av2_icpflow_demo.npz"));

  TempDir tmp;
  const fs::path dir = tmp / "seq";
  linkOdometryPair(dir);
  writeBytes((dir / "calib.txt").string(), kSeq00Calib);
  const FlowSample odo = loadFlowPair(dir.string(), 0);
  CHECK(odo.kind == "ego-motion");
  CHECK(odo.size() > 100000);

  CHECK_THROWS_WITH(loadFlowPair(tmp / "missing", 0),
                    Catch::Contains("missing") && Catch::Contains("no such file"));
  writeBytes(tmp / "bad.npz", "not a zip");
  CHECK_THROWS_WITH(loadFlowPair(tmp / "bad.npz", 0), Catch::Contains("bad.npz"));
}

// ---- issue #21: never trust a file blindly ------------------------------------------------

namespace {

// 16-byte KITTI records from a list of (x, y, z, intensity).
std::string kittiRecords(const std::vector<std::array<float, 4>>& rows) {
  std::string s;
  for (const auto& r : rows) s.append(reinterpret_cast<const char*>(r.data()), 16);
  return s;
}

std::string randomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Sets an environment variable for the scope of one test.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old, m_had = true;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (m_had)
      ::setenv(m_name, m_old.c_str(), 1);
    else
      ::unsetenv(m_name);
  }
  const char* m_name;
  std::string m_old;
  bool m_had = false;
};

}  // namespace

TEST_CASE("Readers refuse FIFOs, devices and sockets without opening them", "[readers][trust]") {
  TempDir dir;
  const std::string fifo = dir / "x.bin";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Nobody ever writes to the FIFO: a reader that opened it would wait forever.
  CHECK_THAT(errorOf([&] { readPointCloud(fifo); }),
             Catch::Equals(fifo + ": not a regular file (fifo)"));
  CHECK_THAT(errorOf([&] { readFileBytes(fifo); }), Catch::Contains("not a regular file (fifo)"));
  std::string text, error;
  CHECK_FALSE(pretext::core::readFile(fifo, text, error));
  CHECK(error == fifo + ": not a regular file (fifo)");
  // A device behind an innocent name.
  fs::create_symlink("/dev/zero", dir / "zero.pcd");
  CHECK_THAT(errorOf([&] { readPointCloud(dir / "zero.pcd"); }),
             Catch::Equals((dir / "zero.pcd") + ": not a regular file (character device)"));
  // A socket (opening one fails with ENXIO; the message says what it is instead).
  const std::string sock = dir / "s.ply";
  const int sfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sfd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  REQUIRE(::bind(sfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  CHECK_THAT(errorOf([&] { readPointCloud(sock); }),
             Catch::Equals(sock + ": not a regular file (socket)"));
  ::close(sfd);
  // Kitti labels/calibration and .npz go through the same opening path.
  CHECK_THAT(errorOf([&] { readKittiCalib(fifo); }), Catch::Contains("not a regular file (fifo)"));
  // A FIFO inside a dataset folder is a bad file of that folder.
  fs::create_directories(dir / "scans");
  writeBytes(dir / "scans/a.bin", kittiRecords({{1, 2, 3, 0.5f}, {4, 5, 6, 0.5f}}));
  REQUIRE(::mkfifo((dir / "scans/b.bin").c_str(), 0600) == 0);
  DatasetOptions o;
  o.source = "files";
  o.path = dir / "scans";
  CHECK_THAT(errorOf([&] { openDataset(o); }),
             Catch::Contains((dir / "scans/b.bin") + ": not a regular file (fifo)"));
  o.path = fifo;
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::Contains("not a regular file (fifo)"));
}

TEST_CASE("Headerless .bin files must hold finite, plausible coordinates", "[readers][trust]") {
  // Random bytes: float32 with random exponents, most far beyond any LiDAR range.
  const std::string noise = randomBytes(16 * 1000, 7);
  CHECK_THAT(errorOf([&] { parseFloatRecords("r.bin", noise, 4, {"intensity"}); }),
             Catch::StartsWith("r.bin: ") && Catch::Contains("data.max_abs_coord"));
  CHECK_THAT(errorOf([&] {
               parseFloatRecords("r.pcd.bin", randomBytes(20 * 1000, 8), 5, {"intensity", "ring"});
             }),
             Catch::StartsWith("r.pcd.bin: ") && Catch::Contains("data.max_abs_coord"));
  // Values near the float limit.
  const std::string huge = kittiRecords({{1, 2, 3, 0}, {3e38f, -3e38f, 3e38f, 0}, {4, 5, 6, 0}});
  CHECK_THAT(
      errorOf([&] { parseFloatRecords("h.bin", huge, 4, {"intensity"}); }),
      Catch::Contains("h.bin: point 1") && Catch::Contains("3e+38") && Catch::Contains("1000 m"));
  // The bound is configurable: 5 m refuses a point 6 m away, 1e39 accepts everything finite.
  const std::string near = kittiRecords({{1, 2, 3, 0}, {6, 0, 0, 0}});
  ReadOptions tight;
  tight.maxAbsCoord = 5;
  CHECK_THAT(errorOf([&] { parseFloatRecords("n.bin", near, 4, {"intensity"}, tight); }),
             Catch::Contains("beyond 5 m"));
  ReadOptions loose;
  loose.maxAbsCoord = 1e39;
  CHECK(parseFloatRecords("h.bin", huge, 4, {"intensity"}, loose).size() == 3);
  // Every value must be finite: NaN intensity is not KITTI data (NaN x, y, z rows are still
  // dropped and counted, as documented).
  const std::string nanIntensity = kittiRecords({{1, 2, 3, 0}, {1, 2, 3, std::nanf("")}});
  CHECK_THAT(errorOf([&] { parseFloatRecords("i.bin", nanIntensity, 4, {"intensity"}); }),
             Catch::Contains("i.bin: point 1: intensity is NaN/Inf"));
  // Files and datasets: the file is named when it is read and when the dataset is opened.
  TempDir dir;
  fs::create_directories(dir / "scans");
  writeBytes(dir / "scans/a.bin", kittiRecords({{1, 2, 3, 0.5f}, {4, 5, 6, 0.5f}}));
  writeBytes(dir / "scans/b.bin", noise);
  CHECK_THAT(errorOf([&] { readPointCloud(dir / "scans/b.bin"); }),
             Catch::StartsWith((dir / "scans/b.bin") + ": "));
  DatasetOptions o;
  o.source = "files";
  o.path = dir / "scans";
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::StartsWith((dir / "scans/b.bin") + ": ") &&
                                                   Catch::Contains("data.max_abs_coord"));
  o.maxAbsCoord = 1e39;
  o.path = dir / "scans/a.bin";
  CHECK(openDataset(o)->size() == 1);
}

TEST_CASE("Bad files in a dataset folder fail at open, or are skipped and counted",
          "[readers][trust][datasets]") {
  TempDir dir;
  fs::create_directories(dir / "scans");
  for (int i = 0; i < 4; ++i)
    writeBytes(dir / ("scans/" + std::to_string(i) + ".bin"),
               kittiRecords({{1, 2, 3, 0.5f}, {4, 5, float(i), 0.5f}}));
  writeBytes(dir / "scans/5_trunc.bin", std::string(18, '\0'));
  writeBytes(dir / "scans/6_noise.bin", randomBytes(1600, 3));
  DatasetOptions o;
  o.source = "files";
  o.path = dir / "scans";
  CHECK_THAT(errorOf([&] { openDataset(o); }),
             Catch::StartsWith((dir / "scans/5_trunc.bin") + ": size 18 bytes"));
  o.skipBadFiles = true;
  auto ds = openDataset(o);
  CHECK(ds->size() == 4);
  CHECK_THAT(ds->warning(), Catch::StartsWith("skipped 2 of 6 files: first: " +
                                              (dir / "scans/5_trunc.bin") + ": size 18 bytes"));
  for (std::size_t i = 0; i < ds->size(); ++i) CHECK(ds->scan(i).size() == 2);
  // Nothing left: an error even when skipping.
  fs::create_directories(dir / "allbad");
  writeBytes(dir / "allbad/x.bin", std::string(18, '\0'));
  o.path = dir / "allbad";
  CHECK_THAT(errorOf([&] { openDataset(o); }),
             Catch::Contains("all 1 files are bad") && Catch::Contains("x.bin: size 18"));
  // npz_flow: a corrupt archive among good ones.
  fs::create_directories(dir / "flow");
  fs::create_symlink(sharedData("scene_flow/av2_icpflow_demo.npz"), dir / "flow/a.npz");
  std::string npz = readFileBytes(sharedData("scene_flow/av2_icpflow_demo.npz"));
  npz[200] = static_cast<char>(npz[200] ^ 0x5a);
  writeBytes(dir / "flow/b.npz", npz);
  o.source = "npz_flow";
  o.path = dir / "flow";
  o.skipBadFiles = false;
  CHECK_THAT(errorOf([&] { openDataset(o); }), Catch::StartsWith((dir / "flow/b.npz") + "[pc1"));
  o.skipBadFiles = true;
  ds = openDataset(o);
  CHECK(ds->size() == 1);
  CHECK_THAT(ds->warning(),
             Catch::StartsWith("skipped 1 of 2 files: first: " + (dir / "flow/b.npz")));
}

TEST_CASE("Readers check the memory a file needs before allocating it", "[readers][trust]") {
  TempDir dir;
  // A 15 GiB sparse .bin occupies no disk but would need 15 GiB of memory to read.
  const std::string sparse = dir / "sparse.bin";
  {
    const int fd = ::open(sparse.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 15ll << 30) == 0);
    ::close(fd);
  }
  CHECK_THAT(errorOf([&] { readPointCloud(sparse); }), Catch::StartsWith(sparse + ": ") &&
                                                           Catch::Contains("needs 15.0 GiB") &&
                                                           Catch::Contains("more than the limit"));
  // The limit can be moved by the environment; 1 MiB refuses a 2 MiB file.
  writeBytes(dir / "two.bin", std::string(2 << 20, '\0'));
  {
    ScopedEnv env("PRETEXT_READ_LIMIT_GIB", "0.0009765625");
    CHECK_THAT(errorOf([&] { readPointCloud(dir / "two.bin"); }),
               Catch::Contains("more than the limit 1.0 MiB") &&
                   Catch::Contains("PRETEXT_READ_LIMIT_GIB"));
  }
  CHECK(readPointCloud(dir / "two.bin").size() == (2u << 20) / 16);
}

TEST_CASE("An .npz zip bomb is refused before it is inflated", "[readers][trust]") {
  // One member: an (100 000 000, 3) float32 array of zeros, 1.2 GB inflated from ~5 MB.
  const std::uint64_t rows = 100000000;
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", 3), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string npyHead = "\x93NUMPY\x01";
  npyHead += '\0';
  npyHead += static_cast<char>(header.size() & 0xff);
  npyHead += static_cast<char>(header.size() >> 8);
  npyHead += header;
  const std::uint64_t usize = npyHead.size() + rows * 12;
  std::string deflated;
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string chunk(1 << 20, '\0'), out(1 << 20, '\0');
  uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(npyHead.data()), static_cast<uInt>(npyHead.size()));
  auto feed = [&](const std::string& in, std::size_t n, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(n);
    do {
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      deflate(&zs, flush);
      deflated.append(out.data(), out.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  feed(npyHead, npyHead.size(), Z_NO_FLUSH);
  for (std::uint64_t left = rows * 12; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(n));
    left -= n;
    feed(chunk, n, left ? Z_NO_FLUSH : Z_FINISH);
  }
  deflateEnd(&zs);
  // Zip64 is not needed below 4 GiB: a plain local header, directory and end record.
  auto u16 = [](std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto u32 = [&](std::string& s, std::uint32_t v) {
    u16(s, v & 0xffff);
    u16(s, v >> 16);
  };
  const std::string name = "pc1.npy";
  std::string zip;
  u32(zip, 0x04034b50u);
  for (std::uint32_t v : {20u, 0u, 8u, 0u, 0x21u}) u16(zip, v);
  u32(zip, static_cast<std::uint32_t>(crc));
  u32(zip, static_cast<std::uint32_t>(deflated.size()));
  u32(zip, static_cast<std::uint32_t>(usize));
  u16(zip, static_cast<std::uint32_t>(name.size()));
  u16(zip, 0);
  zip += name + deflated;
  const auto cdOffset = static_cast<std::uint32_t>(zip.size());
  std::string cd;
  u32(cd, 0x02014b50u);
  for (std::uint32_t v : {20u, 20u, 0u, 8u, 0u, 0x21u}) u16(cd, v);
  u32(cd, static_cast<std::uint32_t>(crc));
  u32(cd, static_cast<std::uint32_t>(deflated.size()));
  u32(cd, static_cast<std::uint32_t>(usize));
  u16(cd, static_cast<std::uint32_t>(name.size()));
  for (int i = 0; i < 4; ++i) u16(cd, 0);
  u32(cd, 0);
  u32(cd, 0);
  cd += name;
  zip += cd;
  u32(zip, 0x06054b50u);
  for (std::uint32_t v : {0u, 0u, 1u, 1u}) u16(zip, v);
  u32(zip, static_cast<std::uint32_t>(cd.size()));
  u32(zip, cdOffset);
  u16(zip, 0);
  // 1.2 GB of float32 become 2.4 GB of doubles: 3.4 GiB in all, over the 2 GiB default.
  ScopedEnv env("PRETEXT_READ_LIMIT_GIB", "2");
  CHECK_THAT(errorOf([&] { parseNpz("bomb.npz", zip); }),
             Catch::StartsWith("bomb.npz[pc1.npy]: ") && Catch::Contains("needs 3.4 GiB") &&
                 Catch::Contains("more than the limit 2.0 GiB"));
}
