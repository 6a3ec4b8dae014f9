// Street-scene LiDAR simulator. The world is fixed by the seed; frame k places the ego and
// every moving object at time k / frameRate and casts one ray per (beam, azimuth) step.
// Objects are unions of boxes, vertical cylinders and spheres in their own frame, so the
// same surface point can be followed exactly from frame to frame (the scene flow).
// Scans are instantaneous (no rolling shutter within a revolution).
#include "pretext/data/street_sim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace pretext::core {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kRoadHalfWidth = 6.5;
constexpr double kCurbHeight = 0.15;
constexpr double kEgoLane = -1.75;
constexpr int kSectors = 256;

struct Shape {
  enum Kind { Box, Cylinder, Sphere } kind;
  double a[6];  // Box: lo xyz, hi xyz. Cylinder: cx, cy, r, z0, z1. Sphere: cx, cy, cz, r.
};

struct Object {
  SimClass cls;
  double refl;
  std::vector<Shape> shapes;  // object frame: x forward, z up, origin on the ground
  double x0, y0, yaw, speed;  // straight-line motion along the heading
  double radius;              // bounding radius in xy about the origin
  bool labelled;              // has a Box3D (cars, pedestrians, cyclists)
  Box3D box;                  // in the object frame
};

struct Hit {
  double t;
  double n[3];
  SimClass cls;
  double refl;
  int object;  // -1: ground, curb, buildings
};

double groundHeight(double x, double slope) { return slope * x; }

// Ray o + t d against an axis-aligned box [lo, hi]; updates `best` when nearer.
bool hitBox(const double o[3], const double d[3], const double* lo, const double* hi, double& best,
            double n[3]) {
  double tmin = 0, tmax = best;
  int axis = -1;
  double sign = 0;
  for (int a = 0; a < 3; ++a) {
    if (std::fabs(d[a]) < 1e-12) {
      if (o[a] < lo[a] || o[a] > hi[a]) return false;
      continue;
    }
    double t1 = (lo[a] - o[a]) / d[a], t2 = (hi[a] - o[a]) / d[a], s = -1;
    if (t1 > t2) {
      std::swap(t1, t2);
      s = 1;
    }
    if (t1 > tmin) {
      tmin = t1;
      axis = a;
      sign = s;
    }
    tmax = std::min(tmax, t2);
    if (tmin > tmax) return false;
  }
  if (axis < 0 || tmin <= 0 || tmin >= best) return false;
  best = tmin;
  n[0] = n[1] = n[2] = 0;
  n[axis] = sign;
  return true;
}

bool hitCylinder(const double o[3], const double d[3], const double* c, double& best, double n[3]) {
  const double ox = o[0] - c[0], oy = o[1] - c[1];
  const double a = d[0] * d[0] + d[1] * d[1];
  if (a < 1e-12) return false;
  const double b = 2 * (ox * d[0] + oy * d[1]), cc = ox * ox + oy * oy - c[2] * c[2];
  const double disc = b * b - 4 * a * cc;
  if (disc < 0) return false;
  const double t = (-b - std::sqrt(disc)) / (2 * a);
  if (t <= 0 || t >= best) return false;
  const double z = o[2] + t * d[2];
  if (z < c[3] || z > c[4]) return false;
  best = t;
  n[0] = (ox + t * d[0]) / c[2];
  n[1] = (oy + t * d[1]) / c[2];
  n[2] = 0;
  return true;
}

bool hitSphere(const double o[3], const double d[3], const double* c, double& best, double n[3]) {
  const double ox = o[0] - c[0], oy = o[1] - c[1], oz = o[2] - c[2];
  const double b = ox * d[0] + oy * d[1] + oz * d[2];
  const double cc = ox * ox + oy * oy + oz * oz - c[3] * c[3];
  const double disc = b * b - cc;
  if (disc < 0) return false;
  const double t = -b - std::sqrt(disc);
  if (t <= 0 || t >= best) return false;
  best = t;
  n[0] = (ox + t * d[0]) / c[3];
  n[1] = (oy + t * d[1]) / c[3];
  n[2] = (oz + t * d[2]) / c[3];
  return true;
}

Shape box(double x0, double y0, double z0, double x1, double y1, double z1) {
  return {Shape::Box, {x0, y0, z0, x1, y1, z1}};
}

}  // namespace

const char* simClassName(SimClass c) {
  static const char* kNames[] = {"road", "sidewalk",   "curb",       "building", "car",
                                 "pole", "vegetation", "pedestrian", "cyclist"};
  const auto i = static_cast<std::size_t>(c);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "unknown";
}

struct StreetSequence::World {
  StreetSimOptions o;
  std::uint64_t seed;
  std::vector<Object> objects;  // buildings first (static stuff), then things
  std::size_t firstThing = 0;
  std::vector<double> elevation;

  // Object frame -> world at time t.
  Mat4 objectPose(const Object& ob, double t) const {
    const double x = ob.x0 + ob.speed * t * std::cos(ob.yaw);
    const double y = ob.y0 + ob.speed * t * std::sin(ob.yaw);
    const double onSidewalk = std::fabs(ob.y0) > kRoadHalfWidth ? kCurbHeight : 0.0;
    return poseFromYaw(ob.yaw, x, y, groundHeight(x, o.roadSlope) + onSidewalk);
  }
  Mat4 egoPose(double t) const {
    const double w = o.egoYawRate, v = o.egoSpeed;
    double x, y;
    if (std::fabs(w) < 1e-9) {
      x = v * t;
      y = kEgoLane;
    } else {
      x = v / w * std::sin(w * t);
      y = kEgoLane + v / w * (1 - std::cos(w * t));
    }
    return poseFromYaw(w * t, x, y, groundHeight(x, o.roadSlope) + o.sensorHeight);
  }

  void build() {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    auto uni = [&](double a, double b) { return a + (b - a) * U(rng); };
    // Buildings: static stuff along both sides, from behind the start to past where the ego
    // can drive in a long sequence.
    const double x0 = -o.maxRange - 20, x1 = o.maxRange + 200;
    for (int side : {-1, 1}) {
      double x = x0;
      while (x < x1) {
        const double len = uni(8, 25), gap = uni(1, 7);
        const double setback = uni(9.5, 13), depth = uni(6, 12), height = uni(5, 18);
        Object b{SimClass::Building,
                 uni(0.3, 0.55),
                 {},
                 x + len / 2,
                 side * (setback + depth / 2),
                 0.0,
                 0.0,
                 0,
                 false,
                 {}};
        b.shapes.push_back(box(-len / 2, -depth / 2, 0, len / 2, depth / 2, height));
        b.radius = std::hypot(len / 2, depth / 2);
        objects.push_back(b);
        x += len + gap;
      }
    }
    firstThing = objects.size();
    std::vector<std::pair<double, double>> taken;  // (x, y) of placed things
    auto clear = [&](double x, double y, double r) {
      for (auto& [tx, ty] : taken)
        if (std::hypot(tx - x, ty - y) < r) return false;
      return true;
    };
    for (int i = 0, tries = 0; i < o.objects && tries < o.objects * 20; ++tries) {
      const double kind = U(rng);
      const bool moving = U(rng) < o.movingFraction;
      const double x = uni(-50, 130);
      Object ob{};
      ob.x0 = x;
      if (kind < 0.4) {  // car: body and cabin
        const double l = uni(3.9, 4.7), w = uni(1.7, 1.95), h = uni(1.4, 1.7);
        ob.cls = SimClass::Car;
        ob.refl = uni(0.5, 0.9);
        ob.shapes.push_back(box(-l / 2, -w / 2, 0.25, l / 2, w / 2, h * 0.6));
        ob.shapes.push_back(box(-l * 0.3, -w / 2 + 0.08, h * 0.6, l * 0.2, w / 2 - 0.08, h));
        ob.box = {0, 0, h / 2, l, w, h, 0, "Car", 0};
        if (moving && U(rng) < 0.5) {  // oncoming lane
          ob.y0 = 1.75;
          ob.yaw = kPi + uni(-0.02, 0.02);
          ob.speed = uni(6, 12);
        } else if (moving) {  // ahead of the ego in its lane, faster, so never closer
          ob.x0 = uni(18, 60);
          ob.y0 = kEgoLane;
          ob.yaw = uni(-0.01, 0.01);
          ob.speed = o.egoSpeed + uni(0.5, 3);
        } else {  // parked at the kerb
          ob.y0 = (U(rng) < 0.5 ? -1 : 1) * uni(4.8, 5.2);
          ob.yaw = (U(rng) < 0.5 ? 0 : kPi) + uni(-0.12, 0.12);
        }
        ob.radius = std::hypot(l / 2, w / 2);
      } else if (kind < 0.6) {  // pedestrian on the sidewalk: body and head
        ob.cls = SimClass::Pedestrian;
        ob.refl = uni(0.25, 0.45);
        const double h = uni(1.55, 1.9);
        ob.shapes.push_back({Shape::Cylinder, {0, 0, 0.2, 0, h - 0.24, 0}});
        ob.shapes.push_back({Shape::Sphere, {0, 0, h - 0.12, 0.12, 0, 0}});
        ob.box = {0, 0, h / 2, 0.5, 0.5, h, 0, "Pedestrian", 0};
        ob.y0 = (U(rng) < 0.5 ? -1 : 1) * uni(7.2, 9.0);
        ob.yaw = U(rng) < 0.5 ? 0 : kPi;
        ob.speed = moving ? uni(1.0, 1.7) : 0.0;
        ob.radius = 0.3;
      } else if (kind < 0.7) {  // cyclist near the kerb: bike and rider
        ob.cls = SimClass::Cyclist;
        ob.refl = uni(0.4, 0.7);
        ob.shapes.push_back(box(-0.85, -0.08, 0.0, 0.85, 0.08, 1.0));
        ob.shapes.push_back({Shape::Cylinder, {-0.1, 0, 0.22, 0.9, 1.55, 0}});
        ob.shapes.push_back({Shape::Sphere, {-0.05, 0, 1.68, 0.12, 0, 0}});
        ob.box = {0, 0, 0.9, 1.8, 0.6, 1.8, 0, "Cyclist", 0};
        const bool oncoming = U(rng) < 0.5;
        ob.y0 = oncoming ? 4.0 : -4.0;
        ob.yaw = oncoming ? kPi : 0;
        ob.speed = moving ? uni(3, 6) : 0.0;
        ob.radius = 0.95;
      } else if (kind < 0.85) {  // pole with a sign
        ob.cls = SimClass::Pole;
        ob.refl = 0.6;
        const double h = uni(4, 8);
        ob.shapes.push_back({Shape::Cylinder, {0, 0, 0.1, 0, h, 0}});
        ob.shapes.push_back(box(-0.05, -0.35, h - 0.9, 0.05, 0.35, h - 0.2));
        ob.y0 = (U(rng) < 0.5 ? -1 : 1) * uni(6.8, 7.4);
        ob.radius = 0.4;
      } else {  // tree: trunk and crown
        ob.cls = SimClass::Vegetation;
        ob.refl = 0.22;
        const double trunk = uni(2, 3.5), crown = uni(1.2, 2.2);
        ob.shapes.push_back({Shape::Cylinder, {0, 0, 0.2, 0, trunk, 0}});
        ob.shapes.push_back({Shape::Sphere, {0, 0, trunk + crown * 0.8, crown, 0, 0}});
        ob.y0 = (U(rng) < 0.5 ? -1 : 1) * uni(7.0, 8.8);
        ob.radius = crown;
      }
      ob.labelled =
          ob.cls == SimClass::Car || ob.cls == SimClass::Pedestrian || ob.cls == SimClass::Cyclist;
      const bool dynamic = ob.speed > 0;
      // Parked and standing things keep apart; moving ones may pass them.
      if (!dynamic && !clear(ob.x0, ob.y0, ob.radius + 1.0)) continue;
      if (!dynamic) taken.emplace_back(ob.x0, ob.y0);
      objects.push_back(ob);
      ++i;
    }
    // Elevation table. 64 beams: two blocks like the HDL-64E (upper +2..-8.33 deg, lower
    // -8.83..-24.33 deg); otherwise evenly spaced from +2 to -24.8 deg.
    const int B = o.beams;
    if (B == 64) {
      for (int b = 0; b < 32; ++b) elevation.push_back(2.0 + (-8.33 - 2.0) * b / 31.0);
      for (int b = 0; b < 32; ++b) elevation.push_back(-8.83 + (-24.33 + 8.83) * b / 31.0);
    } else {
      for (int b = 0; b < B; ++b) elevation.push_back(B == 1 ? 0 : 2.0 - 26.8 * b / (B - 1));
    }
    for (auto& e : elevation) e *= kPi / 180;
  }

  // One frame; `objectOf` receives the object index of each point (-1 for stuff).
  SimFrame render(int k, std::vector<int>* objectOf) const {
    SimFrame f;
    f.time = k / o.frameRate;
    f.egoPose = egoPose(f.time);
    const Mat4& E = f.egoPose;
    const double eyaw = std::atan2(E[4], E[0]);
    const double ce = std::cos(eyaw), se = std::sin(eyaw);
    const double org[3] = {E[3], E[7], E[11]};
    // Per-object pose at this time, and azimuth sectors (sensor frame) it can occupy.
    struct Placed {
      double px, py, pz, c, s;  // object frame -> world
      double near;              // lower bound of the horizontal distance from the sensor
    };
    std::vector<Placed> placed(objects.size());
    std::vector<std::vector<int>> sectors(kSectors);
    for (std::size_t i = 0; i < objects.size(); ++i) {
      const Mat4 P = objectPose(objects[i], f.time);
      Placed& p = placed[i];
      p = {P[3], P[7], P[11], P[0], P[4], 0};
      const double dx = p.px - org[0], dy = p.py - org[1];
      const double dist = std::hypot(dx, dy), r = objects[i].radius;
      p.near = std::max(0.0, dist - r);
      if (p.near > o.maxRange) continue;
      if (dist <= r) {
        for (auto& s : sectors) s.push_back(static_cast<int>(i));
        continue;
      }
      const double az = std::atan2(-se * dx + ce * dy, ce * dx + se * dy);  // sensor frame
      const double half = std::asin(std::min(1.0, r / dist));
      const int a0 = static_cast<int>(std::floor((az - half) / (2 * kPi) * kSectors));
      const int a1 = static_cast<int>(std::floor((az + half) / (2 * kPi) * kSectors));
      for (int a = a0; a <= a1; ++a)
        sectors[static_cast<std::size_t>(((a % kSectors) + kSectors) % kSectors)].push_back(
            static_cast<int>(i));
    }
    for (auto& s : sectors)
      std::sort(s.begin(), s.end(), [&](int a, int b) {
        return placed[static_cast<std::size_t>(a)].near < placed[static_cast<std::size_t>(b)].near;
      });

    std::mt19937_64 rng(mixSeed(seed, 0x51A7E000ull + static_cast<std::uint64_t>(k)));
    std::normal_distribution<double> noise(0.0, 1.0);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    PointCloud& c = f.cloud;
    const std::size_t rays = elevation.size() * static_cast<std::size_t>(o.azimuthSteps);
    c.xyz.reserve(rays * 3);
    std::vector<float> inten, ring, cls, inst;
    inten.reserve(rays);
    ring.reserve(rays);
    cls.reserve(rays);
    inst.reserve(rays);
    if (objectOf) objectOf->clear();
    for (std::size_t b = 0; b < elevation.size(); ++b) {
      const double cel = std::cos(elevation[b]), sel = std::sin(elevation[b]);
      for (int a = 0; a < o.azimuthSteps; ++a) {
        const double az = 2 * kPi * a / o.azimuthSteps;
        const double ds[3] = {cel * std::cos(az), cel * std::sin(az), sel};  // sensor frame
        const double d[3] = {ce * ds[0] - se * ds[1], se * ds[0] + ce * ds[1], ds[2]};  // world
        Hit h{o.maxRange, {0, 0, 1}, SimClass::Road, 0.15, -1};
        // Road and sidewalks: z = slope * x (+ curb height beyond the kerb).
        for (int level = 0; level < 2; ++level) {
          const double lift = level ? kCurbHeight : 0.0;
          const double den = d[2] - o.roadSlope * d[0];
          if (den >= -1e-9) continue;
          const double t = (o.roadSlope * org[0] + lift - org[2]) / den;
          if (t <= 0 || t >= h.t) continue;
          const double y = org[1] + t * d[1];
          if ((std::fabs(y) > kRoadHalfWidth) != (level == 1)) continue;
          const double inv = 1 / std::sqrt(1 + o.roadSlope * o.roadSlope);
          h = {t,
               {-o.roadSlope * inv, 0, inv},
               level ? SimClass::Sidewalk : SimClass::Road,
               level ? 0.32 : 0.14,
               -1};
        }
        // Curb faces at |y| = kRoadHalfWidth.
        if (std::fabs(d[1]) > 1e-9)
          for (int side : {-1, 1}) {
            const double t = (side * kRoadHalfWidth - org[1]) / d[1];
            if (t <= 0 || t >= h.t) continue;
            const double x = org[0] + t * d[0], z = org[2] + t * d[2];
            const double g = groundHeight(x, o.roadSlope);
            if (z >= g && z <= g + kCurbHeight)
              h = {t, {0, -static_cast<double>(side), 0}, SimClass::Curb, 0.4, -1};
          }
        const int sector = static_cast<int>(az / (2 * kPi) * kSectors) % kSectors;
        for (int oi : sectors[static_cast<std::size_t>(sector)]) {
          const Placed& p = placed[static_cast<std::size_t>(oi)];
          if (p.near >= h.t) break;
          const Object& ob = objects[static_cast<std::size_t>(oi)];
          // Ray in the object frame.
          const double rx = org[0] - p.px, ry = org[1] - p.py;
          const double ol[3] = {p.c * rx + p.s * ry, -p.s * rx + p.c * ry, org[2] - p.pz};
          const double dl[3] = {p.c * d[0] + p.s * d[1], -p.s * d[0] + p.c * d[1], d[2]};
          double n[3];
          for (const Shape& s : ob.shapes) {
            bool hit = false;
            double t = h.t;
            if (s.kind == Shape::Box)
              hit = hitBox(ol, dl, s.a, s.a + 3, t, n);
            else if (s.kind == Shape::Cylinder)
              hit = hitCylinder(ol, dl, s.a, t, n);
            else
              hit = hitSphere(ol, dl, s.a, t, n);
            if (!hit) continue;
            h = {t,
                 {p.c * n[0] - p.s * n[1], p.s * n[0] + p.c * n[1], n[2]},
                 ob.cls,
                 ob.refl,
                 oi >= static_cast<int>(firstThing) ? oi : -1};
          }
        }
        if (!(h.t < o.maxRange) || h.t < o.minRange) continue;
        if (U(rng) < o.dropout) continue;
        const double r = h.t + o.rangeNoise * noise(rng);
        const double cosInc = std::fabs(d[0] * h.n[0] + d[1] * h.n[1] + d[2] * h.n[2]);
        const double value = h.refl * (0.35 + 0.65 * cosInc) * (1.0 + 0.05 * noise(rng));
        c.xyz.push_back(static_cast<float>(r * ds[0]));
        c.xyz.push_back(static_cast<float>(r * ds[1]));
        c.xyz.push_back(static_cast<float>(r * ds[2]));
        inten.push_back(static_cast<float>(std::clamp(value, 0.0, 1.0)));
        ring.push_back(static_cast<float>(b));
        cls.push_back(static_cast<float>(h.cls));
        const int thing = h.object >= static_cast<int>(firstThing) ? h.object : -1;
        inst.push_back(
            static_cast<float>(thing >= 0 ? thing - static_cast<int>(firstThing) + 1 : 0));
        if (objectOf) objectOf->push_back(thing);
      }
    }
    c.fieldNames = {"intensity", "ring", "class", "instance"};
    c.fields = {std::move(inten), std::move(ring), std::move(cls), std::move(inst)};
    // Boxes of labelled things, in the sensor frame.
    const Mat4 toSensor = inverseRigid(E);
    for (std::size_t i = firstThing; i < objects.size(); ++i) {
      const Object& ob = objects[i];
      if (!ob.labelled) continue;
      const Mat4 M = multiply(toSensor, objectPose(ob, f.time));
      Box3D b = ob.box;
      const double cx = M[0] * b.cx + M[1] * b.cy + M[2] * b.cz + M[3];
      const double cy = M[4] * b.cx + M[5] * b.cy + M[6] * b.cz + M[7];
      const double cz = M[8] * b.cx + M[9] * b.cy + M[10] * b.cz + M[11];
      if (std::hypot(cx, cy) > o.maxRange + b.length) continue;
      b.cx = cx;
      b.cy = cy;
      b.cz = cz;
      b.yaw = std::atan2(M[4], M[0]);
      b.instance = static_cast<int>(i - firstThing) + 1;
      f.boxes.push_back(b);
    }
    return f;
  }
};

StreetSequence::StreetSequence(const StreetSimOptions& options, std::uint64_t seed)
    : m_world(new World{options, seed, {}, 0, {}}) {
  if (options.beams < 1 || options.azimuthSteps < 8 || !(options.maxRange > options.minRange) ||
      !(options.frameRate > 0))
    throw DataError(
        "simulator: invalid options (beams >= 1, azimuth steps >= 8, max range > "
        "min range, frame rate > 0)");
  m_world->build();
}

StreetSequence::~StreetSequence() { delete m_world; }

const StreetSimOptions& StreetSequence::options() const { return m_world->o; }

SimFrame StreetSequence::frame(int k) const { return m_world->render(k, nullptr); }

Mat4 StreetSequence::egoPose(int k) const { return m_world->egoPose(k / m_world->o.frameRate); }

ScenePair StreetSequence::pair(int k) const {
  const World& w = *m_world;
  std::vector<int> objectOf;
  SimFrame a = w.render(k, &objectOf);
  SimFrame b = w.render(k + 1, nullptr);
  ScenePair p;
  const Mat4 toNext = multiply(inverseRigid(b.egoPose), a.egoPose);
  p.egoMotion = toNext;
  p.flowKind = "exact";
  const std::size_t n = a.cloud.size();
  p.flow.resize(3 * n);
  // Per moving object: frame-k sensor coordinates -> frame-(k+1) sensor coordinates.
  std::vector<Mat4> motion(w.objects.size());
  std::vector<char> have(w.objects.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const int oi = objectOf[i];
    const Mat4* M = &toNext;
    if (oi >= 0 && w.objects[static_cast<std::size_t>(oi)].speed > 0) {
      const auto u = static_cast<std::size_t>(oi);
      if (!have[u]) {
        const Object& ob = w.objects[u];
        motion[u] = multiply(inverseRigid(b.egoPose),
                             multiply(w.objectPose(ob, b.time),
                                      multiply(inverseRigid(w.objectPose(ob, a.time)), a.egoPose)));
        have[u] = 1;
      }
      M = &motion[u];
    }
    float q[3];
    transformPoints(*M, &a.cloud.xyz[3 * i], q, 1);
    for (int d = 0; d < 3; ++d) p.flow[3 * i + d] = q[d] - a.cloud.xyz[3 * i + d];
  }
  p.boxesFirst = std::move(a.boxes);
  p.boxesSecond = std::move(b.boxes);
  p.first = std::move(a.cloud);
  p.second = std::move(b.cloud);
  return p;
}

PointCloud simulateStreetScan(const StreetSimOptions& options, std::uint64_t seed) {
  return StreetSequence(options, seed).frame(0).cloud;
}

}  // namespace pretext::core
