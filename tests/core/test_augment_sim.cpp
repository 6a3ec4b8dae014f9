// Exact properties of the spatial transforms, the simulator's labels and scene flow,
// voxelization, nearest neighbours and the prefetcher.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "pretext/data/augment.h"
#include "pretext/data/street_sim.h"
#include "pretext/data/voxelize.h"

using namespace pretext::core;

namespace {

PointCloud randomCloud(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> U(-30.0f, 30.0f);
  PointCloud c;
  for (std::size_t i = 0; i < 3 * n; ++i) c.xyz.push_back(U(rng));
  auto& f = c.addField("id");
  for (std::size_t i = 0; i < n; ++i) f[i] = static_cast<float>(i);
  return c;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

double maxAbsDiff(const Mat4& a, const Mat4& b) {
  double m = 0;
  for (int i = 0; i < 16; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Every combination of flips, with random angle, scale and translation.
std::vector<SpatialTransform> someTransforms(std::uint64_t seed) {
  AugmentOptions o;
  o.rotationRange = 3.14159265358979;
  o.rotationAtBinCentres = false;
  o.translationMax = 2.0;
  o.scaleMin = 0.5;
  o.scaleMax = 2.0;
  std::mt19937_64 rng(seed);
  std::vector<SpatialTransform> out;
  for (int k = 0; k < 16; ++k) {
    SpatialTransform t = sampleTransform(o, rng);
    t.flipX = k & 1;
    t.flipY = k & 2;
    out.push_back(t);
  }
  return out;
}

}  // namespace

TEST_CASE("T^-1(T(p)) = p for every flip combination", "[augment]") {
  const PointCloud c = randomCloud(500, 1);
  for (const auto& t : someTransforms(2)) {
    std::vector<float> a(c.xyz.size()), b(c.xyz.size());
    t.apply(c.xyz.data(), a.data(), c.size());
    t.inverse().apply(a.data(), b.data(), c.size());
    CHECK(maxAbsDiff(b, c.xyz) < 2e-5 * 60);
    CHECK(maxAbsDiff(multiply(t.inverse().matrix(), t.matrix()), identity4()) < 1e-12);
  }
}

TEST_CASE("Composition matches applying the transforms one after the other", "[augment]") {
  const PointCloud c = randomCloud(300, 3);
  const auto ts = someTransforms(4), us = someTransforms(5);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const SpatialTransform& t = ts[i];
    const SpatialTransform& u = us[(i * 7) % us.size()];
    CHECK(maxAbsDiff(t.then(u).matrix(), multiply(u.matrix(), t.matrix())) < 1e-12);
    std::vector<float> seq(c.xyz.size()), once(c.xyz.size());
    t.apply(c.xyz.data(), seq.data(), c.size());
    u.apply(seq.data(), seq.data(), c.size());
    t.then(u).apply(c.xyz.data(), once.data(), c.size());
    CHECK(maxAbsDiff(seq, once) < 1e-3);
    // The relative transform between two views maps one onto the other.
    const SpatialTransform rel = t.inverse().then(u);
    CHECK(maxAbsDiff(rel.matrix(), multiply(u.matrix(), t.inverse().matrix())) < 1e-12);
  }
}

TEST_CASE("Labels and parameters round-trip", "[augment]") {
  AugmentOptions o;  // methods.md §1.3 defaults: (-pi/2, pi/2), 10 bins
  for (int b = 0; b < o.rotationBins; ++b) CHECK(rotationBin(rotationBinCentre(b, o), o) == b);
  for (int b = 0; b < o.scaleBins; ++b) CHECK(scaleBin(scaleBinCentre(b, o), o) == b);
  CHECK(rotationBin(-1.5707963, o) == 0);
  CHECK(rotationBin(1.5707963, o) == 9);
  std::mt19937_64 rng(7);
  std::set<int> seen;
  for (int k = 0; k < 400; ++k) {
    const SpatialTransform t = sampleTransform(o, rng);
    const int bin = rotationBin(t.angle, o);
    seen.insert(bin);
    CHECK(t.angle == Approx(rotationBinCentre(bin, o)).margin(1e-12));  // exact label
    CHECK(t.scale >= 0.95);
    CHECK(t.scale <= 1.05);
    CHECK(!t.flipX);
    CHECK(flipClass(t) == (t.flipY ? 2 : 0));
    for (double v : t.t) CHECK(std::fabs(v) <= 0.2);
  }
  CHECK(seen.size() == 10);
  // Full circle: angles wrap into the bins.
  o.rotationRange = 3.14159265358979323846;
  o.rotationBins = 8;
  CHECK(rotationBin(rotationBinCentre(3, o) + 2 * 3.14159265358979323846, o) == 3);
}

TEST_CASE("Correspondences between two augmented views are exact", "[augment]") {
  const PointCloud c = randomCloud(2000, 9);
  AugmentOptions o;
  o.dropout = 0.3;
  std::mt19937_64 rng(11);
  const AugmentedView a = augmentView(c, sampleTransform(o, rng), o, rng);
  const AugmentedView b = augmentView(c, sampleTransform(o, rng), o, rng);
  CHECK(a.cloud.size() < 1700);  // about 30 % dropped
  CHECK(a.cloud.size() > 1100);
  const auto pairs = matchViews(a, b, c.size());
  CHECK(pairs.size() > 700);
  const SpatialTransform ia = a.transform.inverse(), ib = b.transform.inverse();
  double worst = 0;
  for (auto [i, j] : pairs) {
    float pa[3], pb[3];
    ia.apply(&a.cloud.xyz[3 * i], pa, 1);
    ib.apply(&b.cloud.xyz[3 * j], pb, 1);
    for (int d = 0; d < 3; ++d) {
      worst = std::max(worst, double(std::fabs(pa[d] - pb[d])));
      worst = std::max(worst, double(std::fabs(pa[d] - c.xyz[3 * a.source[i] + d])));
    }
    // Fields travel with their points.
    CHECK((*a.cloud.field("id"))[i] == (*b.cloud.field("id"))[j]);
  }
  CHECK(worst < 1e-4);
}

TEST_CASE("Flips and rotations act on flow vectors and boxes consistently", "[augment]") {
  const PointCloud c = randomCloud(200, 13);
  std::vector<float> flow(c.xyz.size());
  std::mt19937_64 rng(3);
  std::normal_distribution<float> N(0.0f, 1.0f);
  for (auto& f : flow) f = N(rng);
  for (const auto& t : someTransforms(17)) {
    // T(p + f) = T(p) + T_linear(f)
    std::vector<float> moved(c.xyz.size()), lhs(c.xyz.size()), rhs(c.xyz.size()), tf(flow.size());
    for (std::size_t k = 0; k < moved.size(); ++k) moved[k] = c.xyz[k] + flow[k];
    t.apply(moved.data(), lhs.data(), c.size());
    t.apply(c.xyz.data(), rhs.data(), c.size());
    t.applyVectors(flow.data(), tf.data(), c.size());
    for (std::size_t k = 0; k < rhs.size(); ++k) rhs[k] += tf[k];
    CHECK(maxAbsDiff(lhs, rhs) < 1e-3);
    // Points inside a box stay inside the transformed box.
    Box3D box{1.0, -2.0, 0.5, 8.0, 5.0, 4.0, 0.4, "Car", 1};
    SpatialTransform tb = t;
    Box3D moved3 = box;
    tb.applyBox(moved3);
    int inside = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const float* p = &c.xyz[3 * i];
      float q[3];
      t.apply(p, q, 1);
      const bool before = box.contains(p[0], p[1], p[2], -1e-3);
      if (before) {
        ++inside;
        CHECK(moved3.contains(q[0], q[1], q[2], 1e-3));
      }
    }
    CHECK(inside >= 0);
  }
}

TEST_CASE("Simulator: HDL-64E-like frame, deterministic, labels agree with points and boxes",
          "[sim]") {
  const StreetSimOptions o;
  StreetSequence seq(o, 42);
  const SimFrame f = seq.frame(0);
  INFO("points " << f.cloud.size());
  CHECK(f.cloud.size() > 100000);
  CHECK(f.cloud.size() < 131072);  // 64 x 2048 rays, minus sky and dropout
  CHECK(f.cloud.fieldNames == std::vector<std::string>{"intensity", "ring", "class", "instance"});
  // Same seed: identical; other seed: different.
  StreetSequence again(o, 42), other(o, 43);
  CHECK(again.frame(0).cloud.xyz == f.cloud.xyz);
  CHECK(other.frame(0).cloud.xyz != f.cloud.xyz);
  // Rings 0..63 all present; intensity in [0, 1]; every class label valid.
  const auto& ring = *f.cloud.field("ring");
  CHECK(std::set<float>(ring.begin(), ring.end()).size() == 64);
  for (float v : *f.cloud.field("intensity")) {
    CHECK(v >= 0.0f);
    CHECK(v <= 1.0f);
  }
  std::map<int, int> perClass;
  for (float v : *f.cloud.field("class")) perClass[static_cast<int>(v)]++;
  CHECK(perClass[static_cast<int>(SimClass::Road)] > 10000);
  CHECK(perClass[static_cast<int>(SimClass::Building)] > 10000);
  CHECK(perClass.rbegin()->first < kSimClassCount);
  // Every point of a labelled instance lies in that instance's box (within the range noise),
  // and every box holds only its own instance.
  const auto& inst = *f.cloud.field("instance");
  const auto& cls = *f.cloud.field("class");
  std::map<int, const Box3D*> boxOf;
  for (const auto& b : f.boxes) boxOf[b.instance] = &b;
  REQUIRE(!f.boxes.empty());
  std::size_t checked = 0;
  for (std::size_t i = 0; i < f.cloud.size(); ++i) {
    const int c = static_cast<int>(cls[i]);
    const bool thing =
        c == int(SimClass::Car) || c == int(SimClass::Pedestrian) || c == int(SimClass::Cyclist);
    if (!thing) continue;
    REQUIRE(inst[i] > 0);
    REQUIRE(boxOf.count(static_cast<int>(inst[i])));
    const Box3D& b = *boxOf[static_cast<int>(inst[i])];
    CHECK(b.contains(f.cloud.xyz[3 * i], f.cloud.xyz[3 * i + 1], f.cloud.xyz[3 * i + 2], 0.1));
    ++checked;
  }
  CHECK(checked > 100);
  for (const auto& b : f.boxes) {
    std::size_t own = 0, foreign = 0;
    for (std::size_t i = 0; i < f.cloud.size(); ++i)
      if (b.contains(f.cloud.xyz[3 * i], f.cloud.xyz[3 * i + 1], f.cloud.xyz[3 * i + 2], -0.1))
        (static_cast<int>(inst[i]) == b.instance ? own : foreign)++;
    CHECK(foreign == 0);
  }
}

TEST_CASE("Simulator: flow follows each object rigidly and static points follow the ego", "[sim]") {
  StreetSimOptions o;
  o.movingFraction = 1.0;  // every car, pedestrian and cyclist moves
  StreetSequence seq(o, 7);
  const ScenePair p = seq.pair(3);
  CHECK(p.flowKind == "exact");
  const auto& inst = *p.first.field("instance");
  std::map<int, const Box3D*> before, after;
  for (const auto& b : p.boxesFirst) before[b.instance] = &b;
  for (const auto& b : p.boxesSecond) after[b.instance] = &b;
  std::size_t statics = 0, movers = 0;
  double worstStatic = 0, worstRigid = 0;
  std::vector<float> warped, rawMoving;
  for (std::size_t i = 0; i < p.first.size(); ++i) {
    const float* x = &p.first.xyz[3 * i];
    const float* f = &p.flow[3 * i];
    const int id = static_cast<int>(inst[i]);
    if (id == 0 || !before.count(id)) {  // stuff, poles and trees: static world
      float e[3];
      transformPoints(p.egoMotion, x, e, 1);
      for (int d = 0; d < 3; ++d)
        worstStatic = std::max(worstStatic, double(std::fabs(x[d] + f[d] - e[d])));
      ++statics;
      continue;
    }
    REQUIRE(after.count(id));
    const Box3D& b0 = *before[id];
    const Box3D& b1 = *after[id];
    const double y[3] = {x[0] + f[0], x[1] + f[1], x[2] + f[2]};
    CHECK(b1.contains(y[0], y[1], y[2], 0.1));
    // Same coordinates in the object's own frame at both times.
    auto local = [](const Box3D& b, const double* q, double out[3]) {
      const double c = std::cos(b.yaw), s = std::sin(b.yaw), dx = q[0] - b.cx, dy = q[1] - b.cy;
      out[0] = c * dx + s * dy;
      out[1] = -s * dx + c * dy;
      out[2] = q[2] - b.cz;
    };
    const double xd[3] = {x[0], x[1], x[2]};
    double l0[3], l1[3];
    local(b0, xd, l0);
    local(b1, y, l1);
    for (int d = 0; d < 3; ++d) worstRigid = std::max(worstRigid, std::fabs(l0[d] - l1[d]));
    for (int d = 0; d < 3; ++d) {
      warped.push_back(static_cast<float>(y[d]));
      rawMoving.push_back(x[d]);
    }
    ++movers;
  }
  INFO(statics << " static points, " << movers << " on moving objects");
  CHECK(statics > 50000);
  CHECK(movers > 200);
  CHECK(worstStatic < 1e-4);
  CHECK(worstRigid < 1e-3);
  // Warped points land on the surface sampled in frame t+1: the nearest frame-(t+1) point
  // is much closer than for the unwarped points.
  NeighborGrid grid(p.second.xyz.data(), p.second.size(), 0.5);
  auto median = [&](const std::vector<float>& q) {
    std::vector<double> d;
    for (std::size_t i = 0; i < q.size() / 3; ++i) {
      double dist = 3.0;
      grid.nearest(&q[3 * i], 3.0, &dist);
      d.push_back(dist);
    }
    std::nth_element(d.begin(), d.begin() + static_cast<long>(d.size() / 2), d.end());
    return d[d.size() / 2];
  };
  const double mw = median(warped), mr = median(rawMoving);
  INFO("moving points: median NN " << mr << " m raw, " << mw << " m warped");
  CHECK(mw < 0.15);
  CHECK(mw < 0.5 * mr);
}

TEST_CASE("Voxelization groups points by cell, caps and averages", "[voxel]") {
  const PointCloud c = randomCloud(20000, 21);
  VoxelGridSpec g;
  g.lo[0] = g.lo[1] = -20;
  g.hi[0] = g.hi[1] = 20;
  g.lo[2] = -10;
  g.hi[2] = 10;
  g.size[0] = g.size[1] = g.size[2] = 2.0;
  g.maxPointsPerVoxel = 3;
  g.maxVoxels = 1000000;
  const Voxels v = voxelize(c.xyz.data(), c.size(), g);
  std::size_t kept = 0, outside = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const float* p = &c.xyz[3 * i];
    const bool in = std::fabs(p[0]) < 20 && std::fabs(p[1]) < 20 && std::fabs(p[2]) < 10;
    if (!in) {
      CHECK(v.voxelOfPoint[i] == -1);
      ++outside;
      continue;
    }
    const std::int32_t vox = v.voxelOfPoint[i];
    if (vox < 0) continue;
    ++kept;
    for (int a = 0; a < 3; ++a) {
      const double lo =
          g.lo[a] +
          v.coords[3 * static_cast<std::size_t>(vox) + static_cast<std::size_t>(a)] * g.size[a];
      CHECK(p[a] >= lo);
      CHECK(p[a] < lo + g.size[a]);
    }
  }
  CHECK(kept + v.droppedPoints == c.size());
  CHECK(outside > 0);
  for (std::size_t k = 0; k < v.voxels(); ++k) {
    const std::uint32_t n = v.start[k + 1] - v.start[k];
    CHECK(n >= 1);
    CHECK(n <= 3);
    double mean[3] = {0, 0, 0};
    for (std::uint32_t j = v.start[k]; j < v.start[k + 1]; ++j)
      for (int a = 0; a < 3; ++a)
        mean[a] += c.xyz[3 * v.order[j] + static_cast<std::uint32_t>(a)] / n;
    for (int a = 0; a < 3; ++a)
      CHECK(v.centroid[3 * k + static_cast<std::size_t>(a)] == Approx(mean[a]).margin(1e-4));
  }
  // Pillars: one cell in z; the voxel cap drops the rest in point order.
  VoxelGridSpec pg = pillarGrid(20, 1.0, -10, 10);
  pg.maxVoxels = 50;
  const Voxels pv = voxelize(c.xyz.data(), c.size(), pg);
  CHECK(pv.voxels() == 50);
  for (std::size_t k = 0; k < pv.voxels(); ++k) CHECK(pv.coords[3 * k + 2] == 0);
  // Crops.
  CropOptions crop;
  crop.frontFov = true;
  crop.maxRange = 25;
  for (std::size_t i : cropIndices(c, crop)) {
    const float* p = &c.xyz[3 * i];
    CHECK(p[0] > 0);
    CHECK(std::fabs(std::atan2(p[1], p[0])) <= 3.14159265 / 4 + 1e-6);
    CHECK(std::hypot(p[0], p[1]) <= 25.0 + 1e-4);
  }
}

TEST_CASE("Nearest neighbours agree with brute force; batches keep clouds apart", "[voxel]") {
  const PointCloud c = randomCloud(3000, 31);
  const PointCloud q = randomCloud(200, 32);
  NeighborGrid grid(c.xyz.data(), c.size(), 1.5);
  for (std::size_t i = 0; i < q.size(); ++i) {
    double best = 1e30;
    std::int64_t bi = -1;
    for (std::size_t j = 0; j < c.size(); ++j) {
      double d = 0;
      for (int a = 0; a < 3; ++a) d += std::pow(double(q.xyz[3 * i + a]) - c.xyz[3 * j + a], 2);
      if (d < best) best = d, bi = static_cast<std::int64_t>(j);
    }
    double dist = 0;
    const std::int64_t got = grid.nearest(&q.xyz[3 * i], 100.0, &dist);
    CHECK(got == bi);
    CHECK(dist == Approx(std::sqrt(best)));
  }
  CHECK(grid.nearest(q.xyz.data(), 1e-6) == -1);
  const CloudBatch b = collate({randomCloud(5, 1), randomCloud(7, 2)});
  CHECK(b.batchSize() == 2);
  CHECK(b.offsets == std::vector<std::int64_t>{0, 5, 12});
  CHECK(b.fieldNames == std::vector<std::string>{"id"});
  CHECK(b.fields[0][5] == 0.0f);
}

TEST_CASE("The prefetcher yields items in order and rethrows the producer's error", "[voxel]") {
  std::atomic<int> made{0};
  {
    Prefetcher<int> p(
        [&](std::int64_t i) {
          ++made;
          if (i == 13) throw DataError("item 13 is bad");
          return static_cast<int>(i * i);
        },
        10, 2);
    CHECK(p.nextIndex() == 10);
    CHECK(p.next() == 100);
    CHECK(p.next() == 121);
    CHECK(p.next() == 144);
    CHECK(p.nextIndex() == 13);
    CHECK_THROWS_WITH(p.next(), "item 13 is bad");
  }
  CHECK(made >= 4);
  // Destroyed while the worker waits for room: joins without hanging.
  Prefetcher<int> idle([](std::int64_t i) { return static_cast<int>(i); }, 0, 1);
}
