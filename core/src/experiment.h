#pragma once
// Private to core (includes LibTorch): what a trainable experiment provides to the generic
// training loop in training_job.cpp. One implementation per `experiment.kind`.
// Used on the trainer thread only.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adamw.h"
#include "pretext/core/config.h"
#include "pretext/core/run_types.h"

namespace pretext::core {

// Averages metric values over a logging window.
class MetricWindow {
 public:
  void add(const std::string& key, double v) {
    auto& e = m_sums[key];
    e.first += v;
    e.second += 1;
  }
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
};

std::unique_ptr<Experiment> makeLidarSslExperiment(const Config& config);
// Opens the configured LiDAR dataset (a folder listing, no scan is read) so a missing or
// malformed folder is reported as a config issue before any run directory exists.
// Also checks that the objectives fit the data and that downstream.init has a checkpoint.
// nullopt when fine (or for other experiment kinds).
std::optional<ConfigIssue> checkLidarDataSource(const Config& config);
std::unique_ptr<Experiment> makeLmSinkExperiment(const Config& config);
std::unique_ptr<Experiment> makeLidarDownstreamExperiment(const Config& config);

// Checkpoint files shared by the experiments: model.pt and optimizer.pt in `dir`.
template <class Module>
void saveModelAndOptimizer(const std::string& dir, Module& model, const AdamW& opt) {
  torch::save(model, dir + "/model.pt");
  opt.save(dir + "/optimizer.pt");
}
template <class Module>
void loadModelAndOptimizer(const std::string& dir, Module& model, AdamW& opt) {
  torch::load(model, dir + "/model.pt");
  opt.load(dir + "/optimizer.pt");
}

}  // namespace pretext::core
