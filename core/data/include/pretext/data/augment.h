#pragma once
// Spatial augmentations with recorded parameters (methods.md §1.3). A SpatialTransform is a
// value: apply it to points or to flow vectors, invert it, compose it, turn it into exact
// class labels. Views keep the index of every point's source point, so correspondences
// between two augmented views of one scan are exact. Plain C++; any thread.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "pretext/data/point_cloud.h"

namespace pretext::core {

// p' = s * R(angle) * F * p + t, with R a rotation about z and F = diag(fx, fy, 1),
// fx = -1 when flipX (x -> -x), fy = -1 when flipY (y -> -y, the usual LiDAR flip).
struct SpatialTransform {
  double angle = 0;
  double scale = 1;
  bool flipX = false, flipY = false;
  double t[3] = {0, 0, 0};

  Mat4 matrix() const;
  void apply(const float* in, float* out, std::size_t n) const;         // points
  void applyVectors(const float* in, float* out, std::size_t n) const;  // flow: s R F v
  void applyBox(Box3D& box) const;  // centre, size (scaled) and yaw (mirrored by flips)
  SpatialTransform inverse() const;
  // `next` after this: (next ∘ this)(p) = next(this(p)). Closed: the result is again
  // scale * rotation * flips + translation.
  SpatialTransform then(const SpatialTransform& next) const;
  double flipDeterminant() const { return (flipX != flipY) ? -1.0 : 1.0; }
};

struct AugmentOptions {
  bool rotation = true;
  double rotationRange = 1.5707963267948966;  // angle in (-range, range); pi = full circle
  int rotationBins = 10;                      // classes for equivariance-by-classification
  bool rotationAtBinCentres = true;  // draw the angle from bin centres so the label is exact
  bool translation = true;
  double translationMax = 0.2;           // per axis, uniform in (-max, max)
  int translationBins = 5;               // per horizontal axis; class = binX * bins + binY
  bool translationAtBinCentres = false;  // draw x and y from bin centres (exact labels)
  bool scaling = true;
  double scaleMin = 0.95, scaleMax = 1.05;
  int scaleBins = 5;
  bool scaleAtBinCentres = false;
  double flipYProb = 0.5, flipXProb = 0.0;
  double dropout = 0.0;  // fraction of points removed from a view
  double jitter = 0.0;   // per-point Gaussian noise std in metres, added after the transform
};

// Class labels of a transform and their inverse (the bin centre).
int rotationBin(double angle, const AugmentOptions& o);
double rotationBinCentre(int bin, const AugmentOptions& o);
int scaleBin(double scale, const AugmentOptions& o);
double scaleBinCentre(int bin, const AugmentOptions& o);
int translationBin(double offset, const AugmentOptions& o);  // one axis
double translationBinCentre(int bin, const AugmentOptions& o);
inline int translationClass(const SpatialTransform& t, const AugmentOptions& o) {
  return translationBin(t.t[0], o) * o.translationBins + translationBin(t.t[1], o);
}
inline int flipClass(const SpatialTransform& t) { return (t.flipX ? 1 : 0) + (t.flipY ? 2 : 0); }

SpatialTransform sampleTransform(const AugmentOptions& o, std::mt19937_64& rng);

struct AugmentedView {
  PointCloud cloud;                   // transformed (+ jitter), fields carried along
  std::vector<std::uint32_t> source;  // index of each point in the input cloud
  SpatialTransform transform;
};
AugmentedView augmentView(const PointCloud& in, const SpatialTransform& t, const AugmentOptions& o,
                          std::mt19937_64& rng);
// Pairs (i in a, j in b) showing the same source point, in order of a.
std::vector<std::pair<std::uint32_t, std::uint32_t>> matchViews(const AugmentedView& a,
                                                                const AugmentedView& b,
                                                                std::size_t sourceSize);

}  // namespace pretext::core
