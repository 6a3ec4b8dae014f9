// The LiDAR self-supervised experiment (experiment.kind = lidar_ssl): a PointNet-style
// per-point encoder pre-trained with PointInfoNCE over matched points of two augmented
// views (translation/scale/flip/rotation) and rotation equivariance-by-classification
// (E-SSL3D's spatial branch, methods.md §1.3), on the built-in street-scene LiDAR or on
// KITTI .bin scans.
//
// Every random draw of step s comes from a generator seeded by mixSeed(seed, s), so data
// order and augmentations do not depend on where a run was resumed.
#include <filesystem>
#include <random>

#include "experiment.h"
#include "pretext/core/augment.h"
#include "pretext/core/datasets.h"
#include "pretext/core/street_sim.h"
#include "pretext/core/voxelize.h"

namespace fs = std::filesystem;

namespace pretext::core {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::uint64_t kProbeSalt = 0x5EEDBEEFCAFEull;

// ---- model -----------------------------------------------------------------------------

struct PointEncoderImpl : torch::nn::Module {
  PointEncoderImpl(int width, int featureDim, int bins) {
    l1 = register_module("l1", torch::nn::Linear(3, width));
    l2 = register_module("l2", torch::nn::Linear(width, width));
    l3 = register_module("l3", torch::nn::Linear(2 * width, width));
    l4 = register_module("l4", torch::nn::Linear(width, featureDim));
    c1 = register_module("cls1", torch::nn::Linear(2 * featureDim, width));
    c2 = register_module("cls2", torch::nn::Linear(width, bins));
  }
  // [B, N, 3] metres -> per-point features [B, N, F]. Each point's feature depends on its
  // own coordinates and on a max-pooled scene context (PointNet with a global feature).
  torch::Tensor forward(const torch::Tensor& xyz) {
    auto h = torch::relu(l2(torch::relu(l1(xyz * (1.0 / 20.0)))));
    auto g = std::get<0>(h.max(1, /*keepdim=*/true)).expand_as(h);
    return l4(torch::relu(l3(torch::cat({h, g}, 2))));
  }
  // Transform classifier on pooled features: [B, N, F] -> [B, bins].
  torch::Tensor classify(const torch::Tensor& feats) {
    auto pooled = torch::cat({std::get<0>(feats.max(1)), feats.mean(1)}, 1);
    return c2(torch::relu(c1(pooled)));
  }
  torch::nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr}, l4{nullptr}, c1{nullptr}, c2{nullptr};
};
TORCH_MODULE(PointEncoder);

// ---- augmentation and data -------------------------------------------------------------

AugmentOptions augmentOptions(const Config& c) {
  AugmentOptions o;
  o.rotation = c.getBool("augment.rotation.enabled");
  o.rotationRange = c.getFloat("augment.rotation.range_deg") * kPi / 180.0;
  o.rotationBins = static_cast<int>(c.getInt("objective.ebc.bins"));
  o.rotationAtBinCentres = true;
  o.translation = c.getBool("augment.translation.enabled");
  o.translationMax = c.getFloat("augment.translation.max_m");
  o.scaling = c.getBool("augment.scale.enabled");
  o.scaleMin = c.getFloat("augment.scale.min");
  o.scaleMax = c.getFloat("augment.scale.max");
  const bool flip = c.getBool("augment.flip.enabled");
  o.flipYProb = flip ? c.getFloat("augment.flip.prob") : 0.0;
  o.flipXProb = flip ? c.getFloat("augment.flip.prob_x") : 0.0;
  o.jitter = c.getFloat("augment.jitter_m");
  return o;
}

DatasetOptions datasetOptions(const Config& c) {
  DatasetOptions d;
  d.source = c.getString("data.source");
  d.path = c.getString("data.path");
  d.flowKeys = c.getString("data.flow_keys");
  d.odometryTr = c.getString("data.odometry_tr");
  d.seed = static_cast<std::uint64_t>(c.getInt("experiment.seed"));
  d.simBeams = static_cast<int>(c.getInt("data.sim.beams"));
  d.simAzimuthSteps = static_cast<int>(c.getInt("data.sim.azimuth_steps"));
  d.simMaxRange = c.getFloat("data.sim.max_range");
  d.simRangeNoise = c.getFloat("data.sim.range_noise");
  d.simObjects = static_cast<int>(c.getInt("data.sim.objects"));
  return d;
}

// Scans from the configured dataset, cropped; scan(key) picks one deterministically.
class ScanSource {
 public:
  explicit ScanSource(const Config& c)
      : m_seed(static_cast<std::uint64_t>(c.getInt("experiment.seed"))) {
    m_dataset = openDataset(datasetOptions(c));
    m_crop.maxRange = c.getFloat("data.crop.max_range");
    m_crop.frontFov = c.getBool("data.crop.front_fov");
    m_crop.fovDeg = c.getFloat("data.crop.fov_deg");
  }
  PointCloud scan(std::uint64_t key) const {
    const std::uint64_t h = mixSeed(m_seed, key);
    const std::size_t n = m_dataset->size();
    PointCloud s = m_dataset->scan(n ? h % n : h >> 8);
    if (m_crop.maxRange > 0 || m_crop.frontFov) s.select(cropIndices(s, m_crop));
    if (s.empty()) throw DataError(m_dataset->describe() + ": no points left after data.crop");
    return s;
  }

 private:
  std::uint64_t m_seed;
  std::unique_ptr<ScanDataset> m_dataset;
  CropOptions m_crop;
};

std::vector<std::size_t> samplePoints(std::size_t available, std::size_t wanted,
                                      std::mt19937_64& rng) {
  std::vector<std::size_t> idx(wanted);
  if (available >= wanted) {
    std::vector<std::size_t> all(available);
    for (std::size_t i = 0; i < available; ++i) all[i] = i;
    for (std::size_t i = 0; i < wanted; ++i) {
      std::uniform_int_distribution<std::size_t> d(i, available - 1);
      std::swap(all[i], all[d(rng)]);
      idx[i] = all[i];
    }
  } else {
    std::uniform_int_distribution<std::size_t> d(0, available - 1);
    for (auto& i : idx) i = d(rng);
  }
  return idx;
}

struct Batch {
  torch::Tensor view1, view2;  // [B, N, 3]
  torch::Tensor bin1, bin2;    // [B]
  torch::Tensor pairs;         // [B, P] indices of matched points
};

struct ProbeSet {
  std::vector<float> xyz, height, intensity;
  torch::Tensor view1, view2;
};

class LidarSslExperiment : public Experiment {
 public:
  explicit LidarSslExperiment(const Config& c) : config(c) {}

  void build() override {
    torch::manual_seed(static_cast<std::uint64_t>(config.getInt("experiment.seed")));
    model = PointEncoder(static_cast<int>(config.getInt("model.width")),
                         static_cast<int>(config.getInt("model.feature_dim")),
                         static_cast<int>(config.getInt("objective.ebc.bins")));
    optimizer = std::make_unique<AdamW>(model->parameters(), config.getFloat("trainer.lr"),
                                        config.getFloat("trainer.weight_decay"), 0.9,
                                        config.getFloat("trainer.beta2"));
    source = std::make_unique<ScanSource>(config);
    probe = makeProbe(*source);
    model->train();
  }

  void trainStep(std::int64_t step, double lr, MetricWindow& window) override;
  Evaluation evaluate(std::int64_t step) override;

  void save(const std::string& dir) override { saveModelAndOptimizer(dir, model, *optimizer); }
  void load(const std::string& dir) override { loadModelAndOptimizer(dir, model, *optimizer); }
  double itemsPerStep() const override {
    return static_cast<double>(config.getInt("trainer.batch_size") *
                               config.getInt("data.points_per_scan") * 2);
  }
  const char* itemName() const override { return "points"; }

 private:
  Batch makeBatch(std::int64_t step) const;
  // The batch of `step`, prepared ahead on a worker thread (data.prefetch batches deep).
  // Batches depend only on the step, so a restart at another step just re-seeds the queue.
  Batch nextBatch(std::int64_t step) {
    const auto depth = static_cast<std::size_t>(config.getInt("data.prefetch"));
    if (depth == 0) return makeBatch(step);
    if (!prefetch || prefetch->nextIndex() != step) {
      prefetch.reset();
      prefetch = std::make_unique<Prefetcher<Batch>>(
          [this](std::int64_t s) { return makeBatch(s); }, step, depth);
    }
    return prefetch->next();
  }
  ProbeSet makeProbe(const ScanSource& src) const;

  Config config;
  PointEncoder model{nullptr};
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<ScanSource> source;
  ProbeSet probe;
  std::unique_ptr<Prefetcher<Batch>> prefetch;  // last member: joined before the rest goes
};

Batch LidarSslExperiment::makeBatch(std::int64_t step) const {
  const auto B = config.getInt("trainer.batch_size");
  const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
  const auto P = static_cast<std::size_t>(config.getInt("objective.pnce.pairs"));
  const AugmentOptions aug = augmentOptions(config);
  std::mt19937_64 rng(mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")),
                              static_cast<std::uint64_t>(step)));
  Batch b;
  b.view1 = torch::empty({B, static_cast<long>(N), 3});
  b.view2 = torch::empty({B, static_cast<long>(N), 3});
  b.bin1 = torch::empty({B}, torch::kLong);
  b.bin2 = torch::empty({B}, torch::kLong);
  b.pairs = torch::empty({B, static_cast<long>(P)}, torch::kLong);
  std::normal_distribution<float> jitter(0.0f, static_cast<float>(aug.jitter));
  for (std::int64_t i = 0; i < B; ++i) {
    PointCloud scan =
        source->scan((static_cast<std::uint64_t>(step) << 16) | static_cast<std::uint64_t>(i));
    auto idx = samplePoints(scan.size(), N, rng);
    std::vector<float> base(N * 3);
    for (std::size_t k = 0; k < N; ++k)
      for (int d = 0; d < 3; ++d) base[3 * k + d] = scan.xyz[3 * idx[k] + d];
    const SpatialTransform t1 = sampleTransform(aug, rng), t2 = sampleTransform(aug, rng);
    t1.apply(base.data(), b.view1[i].data_ptr<float>(), N);
    t2.apply(base.data(), b.view2[i].data_ptr<float>(), N);
    if (aug.jitter > 0) {
      float* v1 = b.view1[i].data_ptr<float>();
      float* v2 = b.view2[i].data_ptr<float>();
      for (std::size_t k = 0; k < 3 * N; ++k) {
        v1[k] += jitter(rng);
        v2[k] += jitter(rng);
      }
    }
    b.bin1[i] = static_cast<std::int64_t>(rotationBin(t1.angle, aug));
    b.bin2[i] = static_cast<std::int64_t>(rotationBin(t2.angle, aug));
    auto pairIdx = samplePoints(N, P, rng);
    auto* pp = b.pairs[i].data_ptr<std::int64_t>();
    for (std::size_t k = 0; k < P; ++k) pp[k] = static_cast<std::int64_t>(pairIdx[k]);
  }
  return b;
}

ProbeSet LidarSslExperiment::makeProbe(const ScanSource& source) const {
  const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
  std::mt19937_64 rng(
      mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")), kProbeSalt));
  PointCloud scan = source.scan(kProbeSalt);
  const auto* intensity = scan.field("intensity");
  auto idx = samplePoints(scan.size(), N, rng);
  ProbeSet p;
  p.xyz.resize(N * 3);
  for (std::size_t k = 0; k < N; ++k) {
    for (int d = 0; d < 3; ++d) p.xyz[3 * k + d] = scan.xyz[3 * idx[k] + d];
    p.height.push_back(scan.xyz[3 * idx[k] + 2]);
    p.intensity.push_back(intensity ? (*intensity)[idx[k]] : 0.0f);
  }
  const AugmentOptions aug = augmentOptions(config);
  const SpatialTransform t1 = sampleTransform(aug, rng), t2 = sampleTransform(aug, rng);
  p.view1 = torch::empty({1, static_cast<long>(N), 3});
  p.view2 = torch::empty({1, static_cast<long>(N), 3});
  t1.apply(p.xyz.data(), p.view1.data_ptr<float>(), N);
  t2.apply(p.xyz.data(), p.view2.data_ptr<float>(), N);
  return p;
}

void LidarSslExperiment::trainStep(std::int64_t step, double lr, MetricWindow& window) {
  const double tau = config.getFloat("objective.pnce.temperature");
  const double wP = config.getFloat("objective.pnce.weight");
  const double wC = (config.getBool("augment.rotation.enabled") ? 1.0 : 0.0) *
                    config.getFloat("objective.ebc.weight");
  const double clip = config.getFloat("trainer.grad_clip");
  const auto B = config.getInt("trainer.batch_size");
  Batch batch = nextBatch(step);
  optimizer->setLearningRate(lr);

  auto f1 = model->forward(batch.view1);
  auto f2 = model->forward(batch.view2);
  const auto F = f1.size(2);
  auto gidx = batch.pairs.unsqueeze(2).expand({B, batch.pairs.size(1), F});
  namespace tf = torch::nn::functional;
  auto a = tf::normalize(f1.gather(1, gidx), tf::NormalizeFuncOptions().dim(2));
  auto b = tf::normalize(f2.gather(1, gidx), tf::NormalizeFuncOptions().dim(2));
  auto logits = torch::bmm(a, b.transpose(1, 2)) / tau;  // [B, P, P]
  const auto P = logits.size(1);
  auto target = torch::arange(P, torch::kLong).repeat({B});
  // PointInfoNCE as in E-SSL3D: summed over matched pairs, averaged over scans.
  auto pnce = tf::cross_entropy(logits.reshape({B * P, P}), target,
                                tf::CrossEntropyFuncOptions().reduction(torch::kSum)) /
              static_cast<double>(B);
  auto cls1 = model->classify(f1), cls2 = model->classify(f2);
  auto ebc = 0.5 * (tf::cross_entropy(cls1, batch.bin1) + tf::cross_entropy(cls2, batch.bin2));
  auto total = wP * pnce + wC * ebc;
  if (!std::isfinite(total.item<double>()))
    throw std::runtime_error("loss became non-finite at step " + std::to_string(step) +
                             " (try a smaller trainer.lr)");
  optimizer->zeroGrad();
  total.backward();
  const double gradNorm = optimizer->clipGradNorm(clip > 0 ? clip : 1e30);
  optimizer->step();

  torch::NoGradGuard ng;
  window.add("loss/total", total.item<double>());
  window.add("loss/pnce", pnce.item<double>());
  window.add("loss/ebc", ebc.item<double>());
  window.add(
      "equiv/match_top1",
      (logits.argmax(2) == torch::arange(P, torch::kLong)).to(torch::kFloat).mean().item<double>());
  window.add("equiv/rot_cls_acc",
             0.5 * ((cls1.argmax(1) == batch.bin1).to(torch::kFloat).mean().item<double>() +
                    (cls2.argmax(1) == batch.bin2).to(torch::kFloat).mean().item<double>()));
  window.add("train/grad_norm", gradNorm);
}

// Per-point relative discrepancy between the features of corresponding points of the two
// probe views: |f1 - f2| / mean(|f1|, |f2|). Zero for a perfectly equivariant map.
Evaluation LidarSslExperiment::evaluate(std::int64_t step) {
  torch::NoGradGuard ng;
  auto f1 = model->forward(probe.view1)[0];
  auto f2 = model->forward(probe.view2)[0];
  auto err = ((f1 - f2).norm(2, 1) / ((f1.norm(2, 1) + f2.norm(2, 1)) * 0.5 + 1e-8)).contiguous();
  auto snap = std::make_shared<PointSnapshot>();
  snap->step = step;
  snap->xyz = probe.xyz;
  snap->fields["equiv_error"] =
      std::vector<float>(err.data_ptr<float>(), err.data_ptr<float>() + err.numel());
  snap->fields["height"] = probe.height;
  snap->fields["intensity"] = probe.intensity;
  Evaluation ev;
  ev.metrics.push_back({"equiv/probe_err", err.mean().item<double>()});
  ev.points = snap;
  return ev;
}

}  // namespace

std::string checkLidarDataSource(const Config& config) {
  if (config.getString("experiment.kind") != "lidar_ssl") return "";
  try {
    openDataset(datasetOptions(config));
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

std::unique_ptr<Experiment> makeLidarSslExperiment(const Config& config) {
  return std::make_unique<LidarSslExperiment>(config);
}

}  // namespace pretext::core
