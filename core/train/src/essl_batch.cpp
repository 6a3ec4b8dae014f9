// Training plan and batches of the lidar_ssl experiment; see essl_batch.h.
#include "essl_batch.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "pretext/data/street_sim.h"

namespace pretext::core::essl {

const char* const kFamilies[] = {"rotation", "translation", "scale", "flip"};

Plan makePlan(const Config& c) {
  Plan p;
  const AugmentOptions aug = lidarAugmentOptions(c);
  const bool enabled[kFamilyCount] = {aug.rotation, aug.translation, aug.scaling,
                                      c.getBool("augment.flip.enabled")};
  const int absClasses[kFamilyCount] = {aug.rotationBins, aug.translationBins * aug.translationBins,
                                        aug.scaleBins, 4};
  p.relative = c.getString("objective.ebc.target") == "relative";
  for (int f = 0; f < kFamilyCount; ++f) {
    p.objective[f] =
        enabled[f] ? c.getString(std::string("augment.") + kFamilies[f] + ".objective") : "off";
    if (p.objective[f] == "contrastive") p.contrastive = true;
    if (p.objective[f] == "invariance") p.invariance = true;
    if (p.objective[f] == "classification") {
      p.classification = true;
      // Relative: the difference of the two views' bins (2K-1 classes); flips: XOR.
      const int k = f == kTranslation ? aug.translationBins : absClasses[f];
      p.classes[f] = !p.relative         ? absClasses[f]
                     : f == kFlip        ? 4
                     : f == kTranslation ? (2 * k - 1) * (2 * k - 1)
                                         : 2 * k - 1;
    }
  }
  if (c.getFloat("objective.pnce.weight") <= 0) p.contrastive = false;
  if (c.getFloat("objective.ebc.weight") <= 0) {
    p.classification = false;
    for (int& k : p.classes) k = 0;
  }
  p.global = c.getString("objective.global.kind");
  if (p.global == "none" && p.invariance) p.global = "byol";
  if (c.getFloat("objective.global.weight") <= 0) p.global = "none";
  p.temporal = c.getFloat("objective.flow.weight") > 0;
  return p;
}

// Class label of a family's parameter in one view.
int familyLabel(int f, const SpatialTransform& t, const AugmentOptions& o) {
  switch (f) {
    case kRotation:
      return rotationBin(t.angle, o);
    case kTranslation:
      return translationClass(t, o);
    case kScale:
      return scaleBin(t.scale, o);
    default:
      return flipClass(t);
  }
}
int relativeLabel(int f, const SpatialTransform& a, const SpatialTransform& b,
                  const AugmentOptions& o) {
  if (f == kFlip) return flipClass(a) ^ flipClass(b);
  if (f == kTranslation) {
    const int k = o.translationBins;
    const int dx = translationBin(b.t[0], o) - translationBin(a.t[0], o) + k - 1;
    const int dy = translationBin(b.t[1], o) - translationBin(a.t[1], o) + k - 1;
    return dx * (2 * k - 1) + dy;
  }
  const int k = f == kRotation ? o.rotationBins : o.scaleBins;
  return familyLabel(f, b, o) - familyLabel(f, a, o) + k - 1;
}

namespace {
// Only the families for which `pick` holds are enabled.
template <class Pick>
AugmentOptions subset(AugmentOptions o, const Plan& plan, Pick pick) {
  o.rotation = o.rotation && pick(plan.objective[kRotation]);
  o.translation = o.translation && pick(plan.objective[kTranslation]);
  o.scaling = o.scaling && pick(plan.objective[kScale]);
  if (!pick(plan.objective[kFlip])) o.flipXProb = o.flipYProb = 0;
  return o;
}

// Fills `out` [N, 3] with `base` transformed by t, plus jitter.
void writeView(const std::vector<float>& base, const SpatialTransform& t, double jitter,
               std::mt19937_64& rng, float* out) {
  const std::size_t n = base.size() / 3;
  t.apply(base.data(), out, n);
  if (jitter > 0) {
    std::normal_distribution<float> noise(0.0f, static_cast<float>(jitter));
    for (std::size_t k = 0; k < 3 * n; ++k) out[k] += noise(rng);
  }
}

}  // namespace

Batch makeBatch(const Config& config, const Plan& plan, const LidarScanSource& source,
                std::int64_t step, std::int64_t first, std::int64_t count) {
  const auto B = count < 0 ? config.getInt("trainer.batch_size") : count;
  const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
  const auto P = static_cast<std::size_t>(config.getInt("objective.pnce.pairs"));
  const AugmentOptions aug = lidarAugmentOptions(config);
  const double jitter = config.getFloat("augment.jitter_m");
  // Per view: contrastive and invariance families; classification families are shared by
  // both views in absolute mode (so only the classifier sees them) and per view in relative.
  const AugmentOptions perView = subset(aug, plan, [&](const std::string& o) {
    return o == "contrastive" || o == "invariance" || (plan.relative && o == "classification");
  });
  const AugmentOptions shared = subset(
      aug, plan, [&](const std::string& o) { return !plan.relative && o == "classification"; });
  const std::uint64_t stepSeed =
      mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")),
              static_cast<std::uint64_t>(step));
  const long n = static_cast<long>(N);
  Batch b;
  b.view1 = torch::empty({B, n, 3});
  b.view2 = torch::empty({B, n, 3});
  b.pairs = torch::empty({B, static_cast<long>(P)}, torch::kLong);
  for (int f = 0; f < kFamilyCount; ++f)
    if (plan.classes[f] > 0) {
      b.labels[f] = torch::empty({B}, torch::kLong);
    }
  if (plan.temporal) {
    b.current = torch::empty({B, n, 3});
    b.previous = torch::empty({B, n, 3});
    b.warped = torch::empty({B, n, 3});
  }
  for (std::int64_t i = 0; i < B; ++i) {
    const auto global = static_cast<std::uint64_t>(first + i);
    std::mt19937_64 rng(mixSeed(stepSeed, global));
    const std::uint64_t key = (static_cast<std::uint64_t>(step) << 16) | global;
    std::vector<float> base;
    if (plan.temporal) {
      ScenePair pair = source.pair(key);
      base = sampleXyz(pair.second.xyz, N, rng);
      std::memcpy(b.current[i].data_ptr<float>(), base.data(), base.size() * sizeof(float));
      auto idx = samplePoints(pair.first.size(), N, rng);
      float* prev = b.previous[i].data_ptr<float>();
      float* warp = b.warped[i].data_ptr<float>();
      for (std::size_t k = 0; k < N; ++k)
        for (int d = 0; d < 3; ++d) {
          prev[3 * k + d] = pair.first.xyz[3 * idx[k] + d];
          warp[3 * k + d] = prev[3 * k + d] + pair.flow[3 * idx[k] + d];
        }
    } else {
      base = sampleXyz(source.scan(key).xyz, N, rng);
    }
    const SpatialTransform c = sampleTransform(shared, rng);
    const SpatialTransform x1 = sampleTransform(perView, rng), x2 = sampleTransform(perView, rng);
    // Contrastive families first, then the classified one, so the classified parameter is
    // what the view shows (a flip applied after a rotation would mirror its angle).
    const SpatialTransform t1 = x1.then(c), t2 = x2.then(c);
    b.t1.push_back(t1);
    b.t2.push_back(t2);
    writeView(base, t1, jitter, rng, b.view1[i].data_ptr<float>());
    writeView(base, t2, jitter, rng, b.view2[i].data_ptr<float>());
    for (int f = 0; f < kFamilyCount; ++f) {
      if (plan.classes[f] == 0) continue;
      b.labels[f][i] = static_cast<std::int64_t>(plan.relative ? relativeLabel(f, x1, x2, aug)
                                                               : familyLabel(f, c, aug));
    }
    auto pairIdx = samplePoints(N, P, rng);
    auto* pp = b.pairs[i].data_ptr<std::int64_t>();
    for (std::size_t k = 0; k < P; ++k) pp[k] = static_cast<std::int64_t>(pairIdx[k]);
  }
  if (plan.global == "mixbt") {
    // Mixed Barlow Twins on point clouds [U]: x_M keeps the first round(alpha N) points of
    // view 1 and fills the rest with points of view 2 of scan perm[b] (points are in random
    // order, so these are random subsets). A data-parallel rank mixes within its shard.
    std::mt19937_64 rng(mixSeed(stepSeed, ~static_cast<std::uint64_t>(first)));
    std::gamma_distribution<double> g(1.0, 1.0);
    const double u = g(rng), v = g(rng);
    b.mixAlpha = u / (u + v);  // Beta(1, 1)
    std::vector<std::int64_t> perm(static_cast<std::size_t>(B));
    for (std::int64_t i = 0; i < B; ++i) perm[static_cast<std::size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    b.mixPerm = torch::tensor(perm, torch::kLong);
    const long keepA = std::lround(b.mixAlpha * static_cast<double>(N));
    b.mixed = torch::cat({b.view1.narrow(1, 0, keepA),
                          b.view2.index_select(0, b.mixPerm).narrow(1, keepA, n - keepA)},
                         1);
  }
  return b;
}

}  // namespace pretext::core::essl
