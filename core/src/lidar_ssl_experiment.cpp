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
#include "pretext/core/street_sim.h"

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

// ---- augmentation ------------------------------------------------------------------------

// A sampled similarity transform p' = s * R(angle) * F * p + t with its exact class label.
struct ViewTransform {
  double angle = 0;
  std::int64_t bin = 0;
  double scale = 1;
  bool flip = false;
  double t[3] = {0, 0, 0};

  void apply(const float* in, float* out, std::size_t n) const {
    const double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = in[3 * i], y = flip ? -in[3 * i + 1] : in[3 * i + 1], z = in[3 * i + 2];
      out[3 * i] = static_cast<float>(c * x - s * y + t[0]);
      out[3 * i + 1] = static_cast<float>(s * x + c * y + t[1]);
      out[3 * i + 2] = static_cast<float>(scale * z + t[2]);
    }
  }
};

struct AugmentSettings {
  bool rotation, translation, scale, flip;
  double rotRange, transMax, scaleMin, scaleMax, flipProb, jitter;
  std::int64_t bins;

  explicit AugmentSettings(const Config& c)
      : rotation(c.getBool("augment.rotation.enabled")),
        translation(c.getBool("augment.translation.enabled")),
        scale(c.getBool("augment.scale.enabled")),
        flip(c.getBool("augment.flip.enabled")),
        rotRange(c.getFloat("augment.rotation.range_deg") * kPi / 180.0),
        transMax(c.getFloat("augment.translation.max_m")),
        scaleMin(c.getFloat("augment.scale.min")),
        scaleMax(c.getFloat("augment.scale.max")),
        flipProb(c.getFloat("augment.flip.prob")),
        jitter(c.getFloat("augment.jitter_m")),
        bins(c.getInt("objective.ebc.bins")) {}

  // The rotation angle is the centre of a uniformly drawn bin, so the label is exact.
  ViewTransform sample(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    ViewTransform v;
    if (rotation) {
      v.bin = std::uniform_int_distribution<std::int64_t>(0, bins - 1)(rng);
      const double width = 2 * rotRange / static_cast<double>(bins);
      v.angle = -rotRange + (static_cast<double>(v.bin) + 0.5) * width;
    }
    if (translation)
      for (double& t : v.t) t = (2 * U(rng) - 1) * transMax;
    if (scale) v.scale = scaleMin + (scaleMax - scaleMin) * U(rng);
    if (flip) v.flip = U(rng) < flipProb;
    return v;
  }
};

// ---- data --------------------------------------------------------------------------------

class ScanSource {
 public:
  explicit ScanSource(const Config& c)
      : m_seed(static_cast<std::uint64_t>(c.getInt("experiment.seed"))) {
    m_sim.beams = static_cast<int>(c.getInt("data.sim.beams"));
    m_sim.azimuthSteps = static_cast<int>(c.getInt("data.sim.azimuth_steps"));
    m_sim.maxRange = c.getFloat("data.sim.max_range");
    m_sim.rangeNoise = c.getFloat("data.sim.range_noise");
    m_sim.objects = static_cast<int>(c.getInt("data.sim.objects"));
    if (c.getString("data.source") == "files") {
      const std::string dir = c.getString("data.path");
      std::error_code ec;
      if (fs::is_regular_file(dir, ec)) {
        m_files.push_back(dir);
      } else {
        for (const auto& e : fs::directory_iterator(dir, ec))
          if (e.path().extension() == ".bin") m_files.push_back(e.path().string());
      }
      std::sort(m_files.begin(), m_files.end());
      if (m_files.empty()) throw std::runtime_error("data.path: no .bin scans in " + dir);
    }
  }
  LidarScan scan(std::uint64_t key) const {
    if (m_files.empty()) return simulateStreetScan(m_sim, mixSeed(m_seed, key));
    const std::string& f = m_files[mixSeed(m_seed, key) % m_files.size()];
    LidarScan s;
    std::size_t dropped = 0;
    std::string err;
    if (!readKittiBin(f, s, dropped, err)) throw std::runtime_error(err);
    return s;
  }

 private:
  std::uint64_t m_seed;
  StreetSimOptions m_sim;
  std::vector<std::string> m_files;
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
  ProbeSet makeProbe(const ScanSource& src) const;

  Config config;
  PointEncoder model{nullptr};
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<ScanSource> source;
  ProbeSet probe;
};

Batch LidarSslExperiment::makeBatch(std::int64_t step) const {
  const auto B = config.getInt("trainer.batch_size");
  const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
  const auto P = static_cast<std::size_t>(config.getInt("objective.pnce.pairs"));
  const AugmentSettings aug(config);
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
    LidarScan scan =
        source->scan((static_cast<std::uint64_t>(step) << 16) | static_cast<std::uint64_t>(i));
    auto idx = samplePoints(scan.size(), N, rng);
    std::vector<float> base(N * 3);
    for (std::size_t k = 0; k < N; ++k)
      for (int d = 0; d < 3; ++d) base[3 * k + d] = scan.xyz[3 * idx[k] + d];
    const ViewTransform t1 = aug.sample(rng), t2 = aug.sample(rng);
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
    b.bin1[i] = t1.bin;
    b.bin2[i] = t2.bin;
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
  LidarScan scan = source.scan(kProbeSalt);
  auto idx = samplePoints(scan.size(), N, rng);
  ProbeSet p;
  p.xyz.resize(N * 3);
  for (std::size_t k = 0; k < N; ++k) {
    for (int d = 0; d < 3; ++d) p.xyz[3 * k + d] = scan.xyz[3 * idx[k] + d];
    p.height.push_back(scan.xyz[3 * idx[k] + 2]);
    p.intensity.push_back(scan.intensity[idx[k]]);
  }
  const AugmentSettings aug(config);
  const ViewTransform t1 = aug.sample(rng), t2 = aug.sample(rng);
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
  Batch batch = makeBatch(step);
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

std::unique_ptr<Experiment> makeLidarSslExperiment(const Config& config) {
  return std::make_unique<LidarSslExperiment>(config);
}

}  // namespace pretext::core
