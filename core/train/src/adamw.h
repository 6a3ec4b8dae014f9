#pragma once
// Private to core: AdamW with per-parameter state kept in vectors aligned with the
// parameter list. Same update, op for op, as torch::optim::AdamW in LibTorch 1.13 (so the
// numbers are identical), without that optimizer's per-step state lookups keyed by
// formatted pointers, which cost ~4 % of a small model's step (docs/benchmarks.md).
// Trainer thread only.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace pretext::core {

class AdamW {
 public:
  AdamW(std::vector<torch::Tensor> params, double lr, double weightDecay, double beta1,
        double beta2, double eps = 1e-8);
  void setLearningRate(double lr) { m_lr = lr; }
  const std::vector<torch::Tensor>& params() const { return m_params; }
  void zeroGrad();
  // Scales all gradients so their global L2 norm is at most maxNorm; returns the norm.
  double clipGradNorm(double maxNorm);
  void step();
  void save(const std::string& file) const;
  void load(const std::string& file);  // throws with the file named on a mismatch

 private:
  std::vector<torch::Tensor> m_params, m_expAvg, m_expAvgSq;
  double m_lr, m_wd, m_b1, m_b2, m_eps;
  std::int64_t m_step = 0;
};

}  // namespace pretext::core
