// EncoderProbe: the inspector's own copy of a run's point encoder (pretext/train/encoder_probe.h).
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "essl_model.h"
#include "lidar_common.h"
#include "pretext/runs/config.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/encoder_probe.h"

namespace pretext::core {

namespace fs = std::filesystem;

struct EncoderProbe::Impl {
  essl::PillarEncoder encoder{nullptr};
  std::int64_t step = -1;
};

EncoderProbe::EncoderProbe() : d(std::make_unique<Impl>()) {}
EncoderProbe::~EncoderProbe() = default;
std::int64_t EncoderProbe::step() const { return d->step; }

std::unique_ptr<EncoderProbe> EncoderProbe::open(const std::string& runDir, std::int64_t step) {
  std::vector<ConfigIssue> issues;
  auto config = Config::load((fs::path(runDir) / "config.yaml").string(), {}, issues);
  if (!config)
    throw std::runtime_error(runDir + ": not a run directory (cannot read config.yaml" +
                             (issues.empty() ? "" : ": " + issues.front().toString()) + ")");
  if (config->getString("experiment.kind") != "lidar_ssl")
    throw std::runtime_error(runDir + ": a " + config->getString("experiment.kind") +
                             " run has no point encoder to inspect");
  std::unique_ptr<EncoderProbe> probe(new EncoderProbe());
  // The same seed and the same first module as the trainer: its untrained encoder.
  torch::manual_seed(static_cast<std::uint64_t>(config->getInt("experiment.seed")));
  probe->d->encoder = essl::PillarEncoder(lidarEncoderOptions(*config));
  probe->d->step = step < 0 ? -1 : step;
  if (step >= 0) {
    const fs::path model = fs::path(runDir) / "checkpoints" / checkpointDirName(step) / "model.pt";
    if (!fs::exists(model))
      throw std::runtime_error(runDir + ": no checkpoint at step " + std::to_string(step));
    loadEncoderWeights(probe->d->encoder, model.string());
  }
  probe->d->encoder->eval();
  return probe;
}

std::vector<float> EncoderProbe::equivarianceError(const std::vector<float>& xyz,
                                                   const SpatialTransform& t) const {
  torch::NoGradGuard ng;
  const auto n = static_cast<std::int64_t>(xyz.size() / 3);
  if (n == 0) return {};
  auto x = torch::empty({1, n, 3});
  auto tx = torch::empty({1, n, 3});
  std::copy(xyz.begin(), xyz.begin() + 3 * n, x.data_ptr<float>());
  t.apply(xyz.data(), tx.data_ptr<float>(), static_cast<std::size_t>(n));
  auto normed = [&](const torch::Tensor& in) {
    return torch::nn::functional::normalize(d->encoder->forward(in).points[0],
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  };
  auto err = (normed(x) - normed(tx)).norm(2, 1).contiguous();
  return std::vector<float>(err.data_ptr<float>(), err.data_ptr<float>() + n);
}

std::vector<std::int64_t> checkpointSteps(const std::string& runDir) {
  std::vector<std::int64_t> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(runDir) / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step_", 0) != 0) continue;
    if (!fs::exists(e.path() / "model.pt")) continue;
    try {
      steps.push_back(std::stoll(name.substr(5)));
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

}  // namespace pretext::core
