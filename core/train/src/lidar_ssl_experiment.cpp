// The LiDAR self-supervised experiment (experiment.kind = lidar_ssl): E-SSL3D at CPU scale
// (methods.md §1, docs/objectives.md). A pillar/BEV encoder is pre-trained with
//  - PointInfoNCE over matched points of two augmented views (contrastive transforms),
//  - equivariance-by-classification heads (classification transforms),
//  - the scene-flow warp loss between frame t-1 (EMA target) and frame t (online),
//  - optionally one objective of the zoo on pooled embeddings (BYOL for 'invariance').
// Every random draw of step s comes from a generator seeded by mixSeed(seed, s), so data
// order and augmentations do not depend on where a run was resumed.
#include <chrono>
#include <filesystem>
#include <random>

#include "essl_batch.h"
#include "essl_model.h"
#include "experiment.h"
#include "lidar_common.h"
#include "objectives.h"
#include "pretext/data/augment.h"
#include "pretext/data/street_sim.h"
#include "pretext/data/voxelize.h"

namespace pretext::core {
namespace {

namespace F = torch::nn::functional;
using namespace essl;  // Plan, Batch, family constants
constexpr std::uint64_t kProbeSalt = 0x5EEDBEEFCAFEull;
constexpr int kProbeScans = 4;

// ---- networks ----------------------------------------------------------------------------

struct EsslNetsImpl : torch::nn::Module {
  EsslNetsImpl(const Config& c, const Plan& plan) {
    const essl::EncoderOptions eo = lidarEncoderOptions(c);
    const int F = eo.featureDim;
    const int P = static_cast<int>(c.getInt("model.proj_dim"));
    const int Hd = static_cast<int>(c.getInt("model.hidden"));
    encoder = register_module("encoder", essl::PillarEncoder(eo));
    projector = register_module("projector", essl::Mlp(F, Hd, P));
    predictor = register_module("predictor", essl::Mlp(P, Hd, P));
    for (int f = 0; f < kFamilyCount; ++f)
      if (plan.classes[f] > 0)
        classifier[f] =
            register_module(std::string("cls_") + kFamilies[f],
                            essl::Mlp((plan.relative ? 4 : 2) * F, Hd, plan.classes[f]));
    const int heads = plan.global == "amcl"   ? static_cast<int>(c.getInt("objective.global.heads"))
                      : plan.global != "none" ? 1
                                              : 0;
    for (int h = 0; h < heads; ++h) {
      global.push_back(register_module("global" + std::to_string(h), essl::Mlp(2 * F, Hd, P)));
      if (plan.global == "amcl")
        temperature.push_back(register_module("temp" + std::to_string(h), essl::Mlp(2 * P, Hd, 1)));
    }
    if (plan.global == "byol")
      globalPredictor = register_module("global_pred", essl::Mlp(P, Hd, P));
    // The EMA target branch (f', m' and, for BYOL, the global projector).
    targetEncoder = register_module("target_encoder", essl::PillarEncoder(eo));
    targetProjector = register_module("target_projector", essl::Mlp(F, Hd, P));
    essl::copyWeights(*targetEncoder, *encoder);
    essl::copyWeights(*targetProjector, *projector);
    if (plan.global == "byol") {
      targetGlobal = register_module("target_global", essl::Mlp(2 * F, Hd, P));
      essl::copyWeights(*targetGlobal, *global[0]);
    }
    for (auto& p : targetParameters()) p.set_requires_grad(false);
  }
  std::vector<torch::Tensor> onlineParameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& item : named_parameters())
      if (item.key().rfind("target_", 0) != 0) out.push_back(item.value());
    return out;
  }
  std::vector<torch::Tensor> targetParameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& item : named_parameters())
      if (item.key().rfind("target_", 0) == 0) out.push_back(item.value());
    return out;
  }
  void updateTarget(double m) {
    essl::emaUpdate(*targetEncoder, *encoder, m);
    essl::emaUpdate(*targetProjector, *projector, m);
    if (targetGlobal) essl::emaUpdate(*targetGlobal, *global[0], m);
  }

  essl::PillarEncoder encoder{nullptr}, targetEncoder{nullptr};
  essl::Mlp projector{nullptr}, predictor{nullptr}, targetProjector{nullptr};
  essl::Mlp classifier[kFamilyCount] = {nullptr, nullptr, nullptr, nullptr};
  std::vector<essl::Mlp> global, temperature;
  essl::Mlp globalPredictor{nullptr}, targetGlobal{nullptr};
};
TORCH_MODULE(EsslNets);

class LidarSslExperiment : public Experiment {
 public:
  explicit LidarSslExperiment(const Config& c) : config(c), plan(essl::makePlan(c)) {
    for (const char* k : {"objective.pnce.weight", "objective.ebc.weight",
                          "objective.global.weight", "objective.flow.weight"})
      weights[k] = config.getFloat(k);
  }
  std::string setLiveValue(const std::string& key, double value) override {
    const bool built = key == "objective.pnce.weight"     ? plan.contrastive
                       : key == "objective.ebc.weight"    ? plan.classification
                       : key == "objective.global.weight" ? plan.global != "none"
                       : key == "objective.flow.weight"   ? plan.temporal
                                                          : false;
    if (!weights.count(key)) return key + " is not used by lidar_ssl";
    if (!built)
      return key +
             ": this objective was not built (its weight or transforms were off when "
             "the run started); start a new run to use it";
    weights[key] = value;
    return {};
  }

  void build() override {
    torch::manual_seed(static_cast<std::uint64_t>(config.getInt("experiment.seed")));
    nets = EsslNets(config, plan);
    optimizer = std::make_unique<AdamW>(nets->onlineParameters(), config.getFloat("trainer.lr"),
                                        config.getFloat("trainer.weight_decay"), 0.9,
                                        config.getFloat("trainer.beta2"));
    source = std::make_unique<LidarScanSource>(config);
    if (plan.temporal && !source->hasPairs())
      throw std::runtime_error("objective.flow.weight: " + source->describe() +
                               " has no consecutive scans; set it to 0");
    makeProbe();
    nets->train();
  }

  void trainStep(std::int64_t step, double lr, MetricWindow& window) override {
    trainOn(nextBatch(step), step, lr, window);
  }
  // One optimisation step on a given batch (also used by bench/essl_train_bench).
  void trainOn(const Batch& batch, std::int64_t step, double lr, MetricWindow& window);
  Evaluation evaluate(std::int64_t step) override;

  void save(const std::string& dir) override { saveModelAndOptimizer(dir, nets, *optimizer); }
  void load(const std::string& dir) override { loadModelAndOptimizer(dir, nets, *optimizer); }
  std::vector<torch::Tensor> stateTensors() override { return parametersAndBuffers(nets); }
  double itemsPerStep() const override {
    return static_cast<double>(config.getInt("trainer.batch_size") *
                               config.getInt("data.points_per_scan") * (plan.temporal ? 3 : 2));
  }
  const char* itemName() const override { return "points"; }

 private:
  Batch nextBatch(std::int64_t step) {
    const auto depth = static_cast<std::size_t>(config.getInt("data.prefetch"));
    const auto [first, count] = shard(config.getInt("trainer.batch_size"));
    if (depth == 0) return essl::makeBatch(config, plan, *source, step, first, count);
    if (!prefetch || prefetch->nextIndex() != step) {
      prefetch.reset();
      prefetch = std::make_unique<Prefetcher<Batch>>(
          [this, first = first, count = count](std::int64_t s) {
            return essl::makeBatch(config, plan, *source, s, first, count);
          },
          step, depth);
    }
    return prefetch->next();
  }
  void makeProbe();
  torch::Tensor classify(int f, const torch::Tensor& pooled1, const torch::Tensor& pooled2,
                         const torch::Tensor& labels, double* accuracy);
  torch::Tensor globalLoss(const torch::Tensor& pooled1, const torch::Tensor& pooled2,
                           const Batch& batch);
  torch::Tensor flowLoss(const torch::Tensor& currentFeats, const torch::Tensor& currentCells,
                         const Batch& batch);

  Config config;
  Plan plan;
  EsslNets nets{nullptr};
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<LidarScanSource> source;
  // Probe: kProbeScans scans, a fixed transform per family, a fixed view pair and a pair of
  // consecutive frames (when the data has them).
  std::vector<std::vector<float>> probeXyz;
  std::vector<float> probeHeight, probeIntensity;
  std::map<std::string, std::vector<float>> probeLabels;  // class, instance (when known)
  SpatialTransform probeFamily[kFamilyCount];
  SpatialTransform probeT1, probeT2;
  Batch probeTemporal;
  std::string probeFlowKind;
  // Objective weights: read every step, changeable mid-run (setLiveValue).
  std::map<std::string, double> weights;
  std::unique_ptr<Prefetcher<Batch>> prefetch;  // last member: joined before the rest goes
};

torch::Tensor LidarSslExperiment::classify(int f, const torch::Tensor& pooled1,
                                           const torch::Tensor& pooled2,
                                           const torch::Tensor& labels, double* accuracy) {
  auto lossOf = [&](const torch::Tensor& logits, const torch::Tensor& labels) {
    auto l = config.getString("objective.ebc.loss") == "spherical_z"
                 ? obj::sphericalZLoss(logits, labels)
                 : F::cross_entropy(logits, labels);
    const double a = config.getFloat("objective.ebc.logz2");
    return a > 0 ? l + obj::logZSquaredPenalty(logits, a) : l;
  };
  auto& head = nets->classifier[f];
  if (plan.relative) {
    auto logits = head(torch::cat({pooled1, pooled2}, 1));
    if (accuracy) *accuracy = (logits.argmax(1) == labels).to(torch::kDouble).mean().item<double>();
    return lossOf(logits, labels);
  }
  auto l1 = head(pooled1), l2 = head(pooled2);
  if (accuracy)
    *accuracy = 0.5 * ((l1.argmax(1) == labels).to(torch::kDouble).mean().item<double>() +
                       (l2.argmax(1) == labels).to(torch::kDouble).mean().item<double>());
  return 0.5 * (lossOf(l1, labels) + lossOf(l2, labels));
}

torch::Tensor LidarSslExperiment::globalLoss(const torch::Tensor& pooled1,
                                             const torch::Tensor& pooled2, const Batch& batch) {
  const std::string& kind = plan.global;
  if (kind == "byol") {
    torch::Tensor t1, t2;
    {
      torch::NoGradGuard ng;
      t1 = nets->targetGlobal(essl::poolPoints(nets->targetEncoder(batch.view1).points));
      t2 = nets->targetGlobal(essl::poolPoints(nets->targetEncoder(batch.view2).points));
    }
    auto p1 = nets->globalPredictor(nets->global[0](pooled1));
    auto p2 = nets->globalPredictor(nets->global[0](pooled2));
    return 0.5 * (obj::byol(p1, t2) + obj::byol(p2, t1));
  }
  if (kind == "amcl") {
    std::vector<torch::Tensor> z1, z2;
    for (auto& g : nets->global) {
      z1.push_back(g(pooled1));
      z2.push_back(g(pooled2));
    }
    auto temps = [this](int head, const torch::Tensor& a, const torch::Tensor& b) {
      // tau in [1e-5, 2] (the official code's range)
      return 1e-5 + (2.0 - 1e-5) * torch::sigmoid(nets->temperature[static_cast<std::size_t>(head)](
                                                      torch::cat({a, b}, 1)))
                                       .squeeze(1);
    };
    return obj::amcl(torch::stack(z1), torch::stack(z2), temps,
                     config.getFloat("objective.global.beta"));
  }
  auto z1 = nets->global[0](pooled1), z2 = nets->global[0](pooled2);
  if (kind == "simclr") return obj::ntXent(z1, z2, config.getFloat("objective.global.temperature"));
  if (kind == "vicreg") return obj::vicreg(z1, z2);
  const double lambda = config.getFloat("objective.global.lambda");
  auto bt = obj::barlowTwins(z1, z2, lambda);
  if (kind == "barlow") return bt;
  auto zm = nets->global[0](essl::poolPoints(nets->encoder(batch.mixed).points));
  return bt + obj::mixedBarlowReg(zm, z1, z2, batch.mixAlpha, batch.mixPerm, lambda,
                                  config.getFloat("objective.global.mix_scale"));
}

// E-SSL3D's warp loss on BEV cells: the online branch's features of frame t averaged per
// cell, projected and predicted; the target branch's features of frame t-1 carried to the
// cell each point flows into, averaged and projected. Cells holding both are compared.
torch::Tensor LidarSslExperiment::flowLoss(const torch::Tensor& currentFeats,
                                           const torch::Tensor& currentCells, const Batch& batch) {
  const auto B = currentFeats.size(0), N = currentFeats.size(1), D = currentFeats.size(2);
  const std::int64_t H = nets->encoder->opt.cells();
  const std::int64_t cells = B * H * H;
  torch::Tensor target, warpCounts;
  {
    torch::NoGradGuard ng;
    auto prev = nets->targetEncoder(batch.previous).points.reshape({B * N, D});
    auto warpCells = nets->targetEncoder->cellIndex(batch.warped).reshape({B * N});
    auto [mean, counts] = obj::groupMean(prev, warpCells, cells);
    target = mean;
    warpCounts = counts;
  }
  auto [online, counts] =
      obj::groupMean(currentFeats.reshape({B * N, D}), currentCells.reshape({B * N}), cells);
  auto occupied = ((counts > 0) & (warpCounts > 0)).nonzero().squeeze(1);
  auto y = nets->predictor(nets->projector(online.index_select(0, occupied)));
  torch::Tensor z;
  {
    torch::NoGradGuard ng;
    z = nets->targetProjector(target.index_select(0, occupied));
  }
  return obj::flowWarpLoss(y, z, static_cast<double>(B * H * H));
}

void LidarSslExperiment::trainOn(const Batch& batch, std::int64_t step, double lr,
                                 MetricWindow& window) {
  const auto B = batch.view1.size(0);
  const double clip = config.getFloat("trainer.grad_clip");
  optimizer->setLearningRate(lr);

  // One encoder pass over both views and (temporal) the current frame.
  std::vector<torch::Tensor> inputs{batch.view1, batch.view2};
  if (plan.temporal) inputs.push_back(batch.current);
  auto out = nets->encoder(torch::cat(inputs, 0));
  auto f1 = out.points.narrow(0, 0, B), f2 = out.points.narrow(0, B, B);
  auto pooled1 = essl::poolPoints(f1), pooled2 = essl::poolPoints(f2);

  auto total = torch::zeros({});
  if (plan.contrastive) {
    const auto Pn = batch.pairs.size(1), Fd = f1.size(2);
    auto gidx = batch.pairs.unsqueeze(2).expand({B, Pn, Fd});
    auto a = f1.gather(1, gidx), b = f2.gather(1, gidx);
    auto pnce = obj::pointInfoNce(a, b, config.getFloat("objective.pnce.temperature"));
    total = total + weights.at("objective.pnce.weight") * pnce;
    window.add("loss/pnce", pnce.item<double>());
    window.add("train/match_top1", obj::matchTop1(a, b));
  }
  if (plan.classification) {
    auto ebc = torch::zeros({});
    for (int f = 0; f < kFamilyCount; ++f) {
      if (plan.classes[f] == 0) continue;
      double acc = 0;
      ebc = ebc + classify(f, pooled1, pooled2, batch.labels[f], &acc);
      window.add(std::string("train/") + kFamilies[f] + "_cls_acc", acc);
    }
    total = total + weights.at("objective.ebc.weight") * ebc;
    window.add("loss/ebc", ebc.item<double>());
  }
  if (plan.global != "none") {
    auto g = globalLoss(pooled1, pooled2, batch);
    total = total + weights.at("objective.global.weight") * g;
    window.add("loss/global", g.item<double>());
  }
  if (plan.temporal) {
    // Cell ids of the third block start at 2B * H * H: shift them to start at 0.
    const std::int64_t H = nets->encoder->opt.cells();
    auto cells = out.cell.narrow(0, 2 * B, B);
    cells = torch::where(cells >= 0, cells - 2 * B * H * H, cells);
    auto flow = flowLoss(out.points.narrow(0, 2 * B, B), cells, batch);
    total = total + weights.at("objective.flow.weight") * flow;
    window.add("loss/flow", flow.item<double>());
  }
  const Update u = update(total, step, *optimizer, clip);
  const double m = essl::emaMomentum(config.getFloat("objective.ema.momentum"),
                                     config.getBool("objective.ema.cosine"), step,
                                     config.getInt("trainer.max_steps"));
  nets->updateTarget(m);

  window.add("loss/total", u.loss);
  window.add("train/grad_norm", u.gradNorm);
  window.add("train/ema_momentum", m);
}

void LidarSslExperiment::makeProbe() {
  const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
  std::mt19937_64 rng(
      mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")), kProbeSalt));
  for (int s = 0; s < kProbeScans; ++s) {
    PointCloud scan = source->scan(kProbeSalt + static_cast<std::uint64_t>(s) * 977);
    auto idx = samplePoints(scan.size(), N, rng);
    std::vector<float> xyz(N * 3);
    for (std::size_t k = 0; k < N; ++k)
      for (int d = 0; d < 3; ++d) xyz[3 * k + d] = scan.xyz[3 * idx[k] + d];
    if (s == 0) {
      const auto* intensity = scan.field("intensity");
      for (std::size_t k = 0; k < N; ++k) {
        probeHeight.push_back(scan.xyz[3 * idx[k] + 2]);
        probeIntensity.push_back(intensity ? (*intensity)[idx[k]] : 0.0f);
      }
      // Labels, where the data has them (the simulator: semantic class and object id).
      for (const char* name : {"class", "instance"})
        if (const auto* f = scan.field(name))
          for (std::size_t k = 0; k < N; ++k) probeLabels[name].push_back((*f)[idx[k]]);
    }
    probeXyz.push_back(std::move(xyz));
  }
  // One transform per family, drawn from the configured range but away from identity.
  const AugmentOptions aug = lidarAugmentOptions(config);
  probeFamily[kRotation].angle = rotationBinCentre(aug.rotationBins - 1, aug);
  probeFamily[kTranslation].t[0] = 0.7 * aug.translationMax;
  probeFamily[kTranslation].t[1] = -0.5 * aug.translationMax;
  probeFamily[kTranslation].t[2] = 0.3 * aug.translationMax;
  probeFamily[kScale].scale = aug.scaleMax;
  probeFamily[kFlip].flipY = true;
  probeT1 = sampleTransform(aug, rng);
  probeT2 = sampleTransform(aug, rng);
  if (source->hasPairs()) {
    ScenePair pair = source->pair(kProbeSalt);
    probeFlowKind = pair.flowKind;
    const long n = static_cast<long>(N);
    probeTemporal.current = torch::empty({1, n, 3});
    probeTemporal.previous = torch::empty({1, n, 3});
    probeTemporal.warped = torch::empty({1, n, 3});
    auto cur = sampleXyz(pair.second.xyz, N, rng);
    std::memcpy(probeTemporal.current.data_ptr<float>(), cur.data(), cur.size() * sizeof(float));
    auto idx = samplePoints(pair.first.size(), N, rng);
    for (std::size_t k = 0; k < N; ++k)
      for (int d = 0; d < 3; ++d) {
        probeTemporal.previous.data_ptr<float>()[3 * k + d] = pair.first.xyz[3 * idx[k] + d];
        probeTemporal.warped.data_ptr<float>()[3 * k + d] =
            pair.first.xyz[3 * idx[k] + d] + pair.flow[3 * idx[k] + d];
      }
  }
}

Evaluation LidarSslExperiment::evaluate(std::int64_t step) {
  torch::NoGradGuard ng;
  nets->eval();
  const auto N = static_cast<long>(config.getInt("data.points_per_scan"));
  const AugmentOptions aug = lidarAugmentOptions(config);
  auto tensorOf = [&](const std::vector<float>& xyz, const SpatialTransform& t) {
    auto out = torch::empty({1, N, 3});
    t.apply(xyz.data(), out.data_ptr<float>(), static_cast<std::size_t>(N));
    return out;
  };
  // Discrepancy of corresponding features: |â − b̂| of the L2-normalised vectors (the
  // direction is what the contrastive and projection heads use), in [0, 2].
  auto relErr = [](const torch::Tensor& a, const torch::Tensor& b) {
    auto na = F::normalize(a, F::NormalizeFuncOptions().dim(1));
    auto nb = F::normalize(b, F::NormalizeFuncOptions().dim(1));
    return (na - nb).norm(2, 1);
  };
  Evaluation ev;
  auto snap = std::make_shared<PointSnapshot>();
  snap->step = step;
  snap->xyz = probeXyz[0];
  snap->fields["height"] = probeHeight;
  snap->fields["intensity"] = probeIntensity;
  for (const auto& [name, values] : probeLabels) snap->fields[name] = values;
  auto toVec = [](const torch::Tensor& t) {
    auto c = t.contiguous().to(torch::kFloat);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };

  // Per-family discrepancy f(T x) vs f(x) at corresponding points, over all probe scans.
  std::vector<torch::Tensor> identityFeats;
  for (const auto& xyz : probeXyz)
    identityFeats.push_back(nets->encoder(tensorOf(xyz, {})).points[0]);
  for (int f = 0; f < kFamilyCount; ++f) {
    std::vector<torch::Tensor> errs;
    for (std::size_t s = 0; s < probeXyz.size(); ++s) {
      auto ft = nets->encoder(tensorOf(probeXyz[s], probeFamily[f])).points[0];
      errs.push_back(relErr(identityFeats[s], ft));
    }
    ev.metrics.push_back(
        {std::string("equiv/") + kFamilies[f] + "_err", torch::cat(errs).mean().item<double>()});
    snap->fields[std::string(kFamilies[f]) + "_err"] = toVec(errs[0]);
  }
  // The composed view pair of training: discrepancy, contrastive top-1 and per-point loss.
  auto f1 = nets->encoder(tensorOf(probeXyz[0], probeT1)).points[0];
  auto f2 = nets->encoder(tensorOf(probeXyz[0], probeT2)).points[0];
  auto err = relErr(f1, f2);
  ev.metrics.push_back({"equiv/probe_err", err.mean().item<double>()});
  snap->fields["equiv_error"] = toVec(err);
  {
    const double tau = config.getFloat("objective.pnce.temperature");
    auto a = F::normalize(f1, F::NormalizeFuncOptions().dim(1));
    auto b = F::normalize(f2, F::NormalizeFuncOptions().dim(1));
    auto logits = torch::mm(a, b.t()) / tau;
    snap->fields["pnce_loss"] = toVec(-torch::log_softmax(logits, 1).diagonal());
    const auto P = std::min<long>(N, config.getInt("objective.pnce.pairs"));
    ev.metrics.push_back({"equiv/match_top1", obj::matchTop1(f1.narrow(0, 0, P).unsqueeze(0),
                                                             f2.narrow(0, 0, P).unsqueeze(0))});
  }
  // Collapse indicators and feature PCA colours.
  auto all = torch::cat(identityFeats);
  ev.metrics.push_back({"equiv/feat_std", obj::normalizedStd(all)});
  ev.metrics.push_back({"equiv/eff_rank", obj::effectiveRank(all)});
  {
    auto c = identityFeats[0] - identityFeats[0].mean(0, true);
    auto v = std::get<2>(torch::svd(c));  // [F, F], principal directions in columns
    auto proj = torch::mm(c, v.narrow(1, 0, std::min<long>(3, v.size(1))));
    const char* names[] = {"pca_r", "pca_g", "pca_b"};
    for (long k = 0; k < proj.size(1); ++k) {
      auto col = proj.select(1, k);
      auto lo = col.min(), hi = col.max();
      snap->fields[names[k]] = toVec((col - lo) / (hi - lo).clamp_min(1e-12));
    }
  }
  // Classification accuracy on held-out probe scans: every class of each classified family.
  for (int f = 0; f < kFamilyCount; ++f) {
    if (plan.classes[f] == 0 || plan.relative) continue;
    int correct = 0, total = 0;
    for (const auto& xyz : probeXyz) {
      // All K classes of this scan in one batch.
      std::vector<torch::Tensor> views;
      for (int k = 0; k < plan.classes[f]; ++k) {
        SpatialTransform t;
        if (f == kRotation) t.angle = rotationBinCentre(k, aug);
        if (f == kScale) t.scale = scaleBinCentre(k, aug);
        if (f == kFlip) {
          t.flipX = (k & 1) != 0;
          t.flipY = (k & 2) != 0;
        }
        if (f == kTranslation) {
          t.t[0] = translationBinCentre(k / aug.translationBins, aug);
          t.t[1] = translationBinCentre(k % aug.translationBins, aug);
        }
        views.push_back(tensorOf(xyz, t));
      }
      auto logits =
          nets->classifier[f](essl::poolPoints(nets->encoder(torch::cat(views, 0)).points));
      auto expected = torch::arange(plan.classes[f], torch::kLong);
      correct += static_cast<int>((logits.argmax(1) == expected).sum().item<std::int64_t>());
      total += plan.classes[f];
    }
    const std::string key =
        f == kRotation ? "equiv/rot_cls_acc" : std::string("equiv/") + kFamilies[f] + "_cls_acc";
    ev.metrics.push_back({key, static_cast<double>(correct) / total});
  }
  // Scene flow: per-cell features of frame t vs frame t-1 carried along the flow.
  if (probeTemporal.current.defined()) {
    auto cur = nets->encoder(probeTemporal.current);
    auto prev = nets->encoder(probeTemporal.previous).points[0];
    const std::int64_t H = nets->encoder->opt.cells();
    auto warpCells = nets->encoder->cellIndex(probeTemporal.warped)[0];
    auto [a, ca] = obj::groupMean(cur.points[0], cur.cell[0], H * H);
    auto [b, cb] = obj::groupMean(prev, warpCells, H * H);
    auto both = ((ca > 0) & (cb > 0)).nonzero().squeeze(1);
    if (both.size(0) > 0)
      ev.metrics.push_back(
          {"equiv/flow_err",
           relErr(a.index_select(0, both), b.index_select(0, both)).mean().item<double>()});
    // Flow predicted by matching point features across the frames, its end-point error,
    // the floor that matching to a sampled point can reach (the next frame's point nearest
    // to where the flow truly goes) and the error of predicting no motion at all.
    auto p0 = probeTemporal.previous[0], p1 = probeTemporal.current[0];
    auto truth = probeTemporal.warped[0] - p0;
    auto pred = obj::featureMatchFlow(p0, prev, p1, cur.points[0],
                                      config.getFloat("objective.flow.match_radius"));
    auto epe = (pred - truth).norm(2, 1);
    auto floor = std::get<0>(torch::cdist(probeTemporal.warped[0], p1).min(1));
    ev.metrics.push_back({"equiv/flow_epe", epe.mean().item<double>()});
    ev.metrics.push_back({"equiv/flow_epe_floor", floor.mean().item<double>()});
    ev.metrics.push_back({"equiv/flow_epe_zero", truth.norm(2, 1).mean().item<double>()});
    auto flow = std::make_shared<FlowSample>();
    flow->first = toVec(p0);
    flow->second = toVec(p1);
    flow->truth = toVec(truth);
    flow->predicted = toVec(pred);
    flow->kind = probeFlowKind;
    flow->source = "probe pair";
    snap->flow = flow;
  }
  nets->train();
  ev.points = snap;
  return ev;
}

}  // namespace

double essl::timeTrainingSteps(const Config& config, const std::vector<Batch>& batches, int warmup,
                               int steps) {
  LidarSslExperiment e(config);
  e.build();
  MetricWindow window;
  const double lr = config.getFloat("trainer.lr");
  for (int i = 0; i < warmup; ++i) e.trainOn(batches[i % batches.size()], i, lr, window);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i)
    e.trainOn(batches[(warmup + i) % batches.size()], warmup + i, lr, window);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<Experiment> makeLidarSslExperiment(const Config& config) {
  return std::make_unique<LidarSslExperiment>(config);
}

}  // namespace pretext::core
