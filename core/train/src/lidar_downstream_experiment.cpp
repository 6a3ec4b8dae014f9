// The downstream test of pre-training (experiment.kind = lidar_downstream): BEV object
// segmentation on the simulator's labels — every BEV cell whose centre lies inside the
// footprint of a car, pedestrian or cyclist box is positive. The pillar encoder starts from
// scratch or from a pre-training run (downstream.init) and is fine-tuned with a small head,
// or frozen under a linear head (downstream.mode = linear). Only a fraction of a fixed
// labelled pool is used for training; IoU and AP are measured on held-out scans.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "essl_model.h"
#include "experiment.h"
#include "lidar_common.h"
#include "objectives.h"
#include "pretext/data/street_sim.h"
#include "pretext/runs/run_dir.h"

namespace pretext::core {
namespace {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
// Dataset keys of the labelled pool and of the evaluation scans: disjoint from each other
// and from the pre-training keys (step << 16 | i, probe salts).
constexpr std::uint64_t kPoolKey = 0xD0D0000000000000ull;
constexpr std::uint64_t kEvalKey = 0xE7A1000000000000ull;

struct LabelledScan {
  std::vector<float> xyz;  // cropped to the grid
  std::vector<Box3D> boxes;
};

class LidarDownstreamExperiment : public Experiment {
 public:
  explicit LidarDownstreamExperiment(const Config& c) : config(c), enc(lidarEncoderOptions(c)) {}

  void build() override {
    torch::manual_seed(static_cast<std::uint64_t>(config.getInt("experiment.seed")));
    encoder = essl::PillarEncoder(enc);
    const std::string init = config.getString("downstream.init");
    if (!init.empty()) loadEncoder(initCheckpoint(init));
    linear = config.getString("downstream.mode") == "linear";
    const int C = encoder->mapChannels();
    if (linear) {
      head = torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(C, 1, 1)));
    } else {
      head = torch::nn::Sequential(
          torch::nn::Conv2d(torch::nn::Conv2dOptions(C, enc.width, 3).padding(1)),
          torch::nn::ReLU(), torch::nn::Conv2d(torch::nn::Conv2dOptions(enc.width, 1, 1)));
    }
    std::vector<torch::Tensor> params = head->parameters();
    if (linear) {
      for (auto& p : encoder->parameters()) p.set_requires_grad(false);
    } else {
      for (auto& p : encoder->parameters()) params.push_back(p);
    }
    optimizer = std::make_unique<AdamW>(params, config.getFloat("trainer.lr"),
                                        config.getFloat("trainer.weight_decay"), 0.9,
                                        config.getFloat("trainer.beta2"));
    source = std::make_unique<LidarScanSource>(config);
    // The labelled subset: a seed-dependent choice of round(fraction * pool) pool scans.
    const auto pool = static_cast<std::size_t>(config.getInt("downstream.pool"));
    const auto used = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::lround(config.getFloat("downstream.label_fraction") *
                                                static_cast<double>(pool))));
    std::vector<std::size_t> order(pool);
    for (std::size_t i = 0; i < pool; ++i) order[i] = i;
    std::mt19937_64 rng(
        mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")), 0x5AB5E7));
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < used; ++i) train.push_back(labelled(kPoolKey + order[i]));
    for (std::int64_t i = 0; i < config.getInt("downstream.eval_scans"); ++i)
      evalSet.push_back(labelled(kEvalKey + static_cast<std::uint64_t>(i)));
  }

  void trainStep(std::int64_t step, double lr, MetricWindow& window) override {
    // This rank's examples of the step's global batch; each example draws from its own
    // generator, so the shard a rank trains does not depend on the world size.
    const auto [first, B] = shard(config.getInt("trainer.batch_size"));
    const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
    const int H = enc.cells();
    const std::uint64_t stepSeed =
        mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")),
                static_cast<std::uint64_t>(step));
    // Augment with a random rotation about z (+-45 deg) and a flip, moving the boxes along.
    std::uniform_real_distribution<double> U(0.0, 1.0);
    auto xyz = torch::empty({B, static_cast<long>(N), 3});
    auto target = torch::empty({B, 1, H, H});
    for (std::int64_t b = 0; b < B; ++b) {
      std::mt19937_64 rng(mixSeed(stepSeed, static_cast<std::uint64_t>(first + b)));
      const auto& s = train[std::uniform_int_distribution<std::size_t>(0, train.size() - 1)(rng)];
      SpatialTransform t;
      t.angle = (2 * U(rng) - 1) * 0.25 * 3.14159265358979323846;  // +-45 deg, as PointPillars
      t.flipY = U(rng) < 0.5;
      const auto pts = sampleXyz(s.xyz, N, rng);
      t.apply(pts.data(), xyz[b].data_ptr<float>(), N);
      auto boxes = s.boxes;
      for (auto& box : boxes) t.applyBox(box);
      auto lab = bevObjectLabels(boxes, enc);
      std::memcpy(target[b].data_ptr<float>(), lab.data(), lab.size() * sizeof(float));
    }
    optimizer->setLearningRate(lr);
    auto logits = forward(xyz);
    auto loss = F::binary_cross_entropy_with_logits(
        logits, target,
        F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(
            torch::full({1}, config.getFloat("downstream.pos_weight"))));
    const Update u = update(loss, step, *optimizer, config.getFloat("trainer.grad_clip"));
    window.add("train/grad_norm", u.gradNorm);
    window.add("loss/total", u.loss);
  }

  Evaluation evaluate(std::int64_t) override {
    torch::NoGradGuard ng;
    const auto N = static_cast<std::size_t>(config.getInt("data.points_per_scan"));
    std::mt19937_64 rng(0xE7A1);  // the same points of each eval scan at every evaluation
    std::vector<torch::Tensor> scores, labels;
    for (const auto& s : evalSet) {
      auto xyz = torch::empty({1, static_cast<long>(N), 3});
      auto pts = sampleXyz(s.xyz, N, rng);
      std::memcpy(xyz.data_ptr<float>(), pts.data(), pts.size() * sizeof(float));
      scores.push_back(torch::sigmoid(forward(xyz)).flatten());
      auto lab = bevObjectLabels(s.boxes, enc);
      labels.push_back(torch::tensor(lab));
    }
    auto sc = torch::cat(scores), lb = torch::cat(labels);
    auto pred = sc > 0.5, truth = lb > 0.5;
    const double inter = (pred & truth).sum().item<double>();
    const double uni = (pred | truth).sum().item<double>();
    Evaluation ev;
    ev.metrics.push_back({"down/iou", uni > 0 ? inter / uni : 0.0});
    ev.metrics.push_back({"down/ap", obj::averagePrecision(sc, lb)});
    ev.metrics.push_back({"down/train_scans", static_cast<double>(train.size())});
    return ev;
  }

  void save(const std::string& dir) override {
    torch::serialize::OutputArchive ar, e, h;
    encoder->save(e);
    head->save(h);
    ar.write("encoder", e);
    ar.write("head", h);
    writeArchive(ar, dir + "/model.pt");
    optimizer->save(dir + "/optimizer.pt");
  }
  void load(const std::string& dir) override {
    torch::serialize::InputArchive ar, e, h;
    readArchive(ar, dir + "/model.pt");
    ar.read("encoder", e);
    ar.read("head", h);
    encoder->load(e);
    head->load(h);
    optimizer->load(dir + "/optimizer.pt");
  }
  std::vector<torch::Tensor> stateTensors() override {
    auto out = parametersAndBuffers(encoder);
    for (auto& t : parametersAndBuffers(head)) out.push_back(t);
    return out;
  }
  double itemsPerStep() const override {
    return static_cast<double>(config.getInt("trainer.batch_size") *
                               config.getInt("data.points_per_scan"));
  }
  const char* itemName() const override { return "points"; }

 private:
  torch::Tensor forward(const torch::Tensor& xyz) {
    auto map = encoder->bevFeatures(xyz);
    if (linear) map = map.detach();
    return head->forward(map);
  }
  void loadEncoder(const std::string& file) {
    try {
      loadEncoderWeights(encoder, file);
    } catch (const std::exception& ex) {
      throw std::runtime_error("downstream.init: " + std::string(ex.what()));
    }
  }
  LabelledScan labelled(std::uint64_t key) const {
    auto [cloud, boxes] = source->labelledScan(key);
    return {std::move(cloud.xyz), std::move(boxes)};
  }

  Config config;
  essl::EncoderOptions enc;
  essl::PillarEncoder encoder{nullptr};
  torch::nn::Sequential head{nullptr};
  bool linear = false;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<LidarScanSource> source;
  std::vector<LabelledScan> train, evalSet;
};

}  // namespace

std::unique_ptr<Experiment> makeLidarDownstreamExperiment(const Config& config) {
  return std::make_unique<LidarDownstreamExperiment>(config);
}

}  // namespace pretext::core
