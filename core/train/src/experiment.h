#pragma once
// Private to core (includes LibTorch): what a trainable experiment provides to the generic
// training loop in training_job.cpp. One implementation per `experiment.kind`.
// Used on the trainer thread only.
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adamw.h"
#include "checkpoint_io.h"
#include "pretext/runs/config.h"
#include "pretext/runs/run_types.h"

namespace pretext::core {

// Averages metric values over a logging window.
class MetricWindow {
 public:
  void add(const std::string& key, double v) {
    auto& e = m_sums[key];
    e.first += v;
    e.second += 1;
  }
  // Running sums and counts per key (the data-parallel trainer adds up the ranks' windows).
  std::map<std::string, std::pair<double, int>>& sums() { return m_sums; }
  std::vector<MetricRow> flush(int segment, std::int64_t step, double wall) {
    std::vector<MetricRow> rows;
    for (auto& [k, e] : m_sums)
      if (e.second > 0) rows.push_back({segment, step, wall, k, e.first / e.second});
    m_sums.clear();
    return rows;
  }

 private:
  std::map<std::string, std::pair<double, int>> m_sums;
};

// What a periodic evaluation produced: metric values and optional snapshots.
struct Evaluation {
  std::vector<std::pair<std::string, double>> metrics;
  PointSnapshotPtr points;
  AttentionSnapshotPtr attention;
};

class Experiment {
 public:
  virtual ~Experiment() = default;
  // Builds model, optimizer and fixed probe data. Deterministic for the config's seed.
  virtual void build() = 0;
  // One optimisation step at learning rate `lr`: data of step `step`, forward, backward,
  // clip, update. Adds its metrics to `window`. Throws on a non-finite loss.
  virtual void trainStep(std::int64_t step, double lr, MetricWindow& window) = 0;
  // Diagnostics on the fixed probe set (and snapshots for the views).
  virtual Evaluation evaluate(std::int64_t step) = 0;
  virtual void save(const std::string& dir) = 0;
  virtual void load(const std::string& dir) = 0;
  // For throughput metrics: items (points, tokens) processed per step.
  virtual double itemsPerStep() const = 0;
  virtual const char* itemName() const = 0;
  // Parameters and buffers: what must be equal on every rank of a data-parallel run.
  virtual std::vector<torch::Tensor> stateTensors() = 0;
  // Changes a live objective weight (liveConfigKeys; the learning rate is the trainer's)
  // from the next step on. Returns "" or why it cannot change (not used by this
  // experiment, or its branch was not built because the weight started at 0).
  virtual std::string setLiveValue(const std::string& key, double) {
    return key + " is not used by this experiment";
  }

  // Data parallelism (set before build()): this process trains its shard of each step's
  // global batch of B = trainer.batch_size examples, and `sync` averages the gradients over
  // the ranks between backward and clipping. One process: rank 0 of 1, no sync.
  using GradientSync = std::function<void(const std::vector<torch::Tensor>&)>;
  void setShard(int rank, int world, GradientSync sync) {
    m_rank = rank;
    m_world = world;
    m_sync = std::move(sync);
  }

 protected:
  void syncGradients(const std::vector<torch::Tensor>& params) {
    if (m_sync) m_sync(params);
  }
  // The update every experiment ends its step with: refuse a non-finite loss, zero the
  // gradients, backpropagate, average them over the data-parallel ranks, clip to
  // `clip` (0: no clipping), step. Returns the loss and the gradient norm before clipping.
  struct Update {
    double loss;
    double gradNorm;
  };
  Update update(const torch::Tensor& loss, std::int64_t step, AdamW& optimizer, double clip) {
    const double value = loss.item<double>();
    if (!std::isfinite(value))
      throw std::runtime_error("loss became non-finite at step " + std::to_string(step) +
                               " (try a smaller trainer.lr)");
    optimizer.zeroGrad();
    loss.backward();
    syncGradients(optimizer.params());
    const double gradNorm = optimizer.clipGradNorm(clip > 0 ? clip : 1e30);
    optimizer.step();
    return {value, gradNorm};
  }
  // First example and count of this rank's shard of a global batch of `total` examples
  // (the trainer checks that the world size divides it).
  std::pair<std::int64_t, std::int64_t> shard(std::int64_t total) const {
    const std::int64_t n = total / m_world;
    return {n * m_rank, n};
  }
  int m_rank = 0, m_world = 1;

 private:
  GradientSync m_sync;
};

std::unique_ptr<Experiment> makeLidarSslExperiment(const Config& config);
// Opens the configured LiDAR dataset (a folder listing, no scan is read) so a missing or
// malformed folder is reported as a config issue before any run directory exists.
// Also checks that the objectives fit the data and that downstream.init has a checkpoint.
// nullopt when fine (or for other experiment kinds).
std::optional<ConfigIssue> checkLidarDataSource(const Config& config);
std::unique_ptr<Experiment> makeLmSinkExperiment(const Config& config);
std::unique_ptr<Experiment> makeLidarDownstreamExperiment(const Config& config);

// Parameters then buffers of a module, in registration order.
template <class Module>
std::vector<torch::Tensor> parametersAndBuffers(Module& m) {
  auto out = m->parameters();
  for (auto& b : m->buffers()) out.push_back(b);
  return out;
}

// Checkpoint files shared by the experiments: model.pt and optimizer.pt in `dir`.
template <class Module>
void saveModelAndOptimizer(const std::string& dir, Module& model, const AdamW& opt) {
  saveModule(model, dir + "/model.pt");
  opt.save(dir + "/optimizer.pt");
}
template <class Module>
void loadModelAndOptimizer(const std::string& dir, Module& model, AdamW& opt) {
  loadModule(model, dir + "/model.pt");
  opt.load(dir + "/optimizer.pt");
}

}  // namespace pretext::core
