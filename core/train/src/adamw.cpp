#include "adamw.h"

#include <cmath>
#include <stdexcept>

#include "checkpoint_io.h"

namespace pretext::core {

AdamW::AdamW(std::vector<torch::Tensor> params, double lr, double wd, double b1, double b2,
             double eps)
    : m_params(std::move(params)), m_lr(lr), m_wd(wd), m_b1(b1), m_b2(b2), m_eps(eps) {
  for (const auto& p : m_params) {
    m_expAvg.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    m_expAvgSq.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void AdamW::zeroGrad() {
  for (auto& p : m_params)
    if (p.grad().defined()) {
      p.mutable_grad().detach_();
      p.mutable_grad().zero_();
    }
}

double AdamW::clipGradNorm(double maxNorm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> norms;
  norms.reserve(m_params.size());
  for (const auto& p : m_params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return 0.0;
  const float total = (norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2)).item<float>();
  // LibTorch 1.13 computes the coefficient as a float32 tensor, max / (norm + 1e-6), which
  // ATen evaluates as reciprocal(norm + 1e-6) * max, clamps it to 1 and always multiplies.
  // The same float arithmetic here keeps the results bit-identical; a factor of exactly 1
  // is skipped.
  const float coef = (1.0f / (total + 1e-6f)) * static_cast<float>(maxNorm);
  if (coef < 1.0f)
    for (auto& p : m_params)
      if (p.grad().defined()) p.mutable_grad().mul_(coef);
  return static_cast<double>(total);
}

void AdamW::step() {
  torch::NoGradGuard ng;
  ++m_step;
  const double bc1 = 1 - std::pow(m_b1, static_cast<double>(m_step));
  const double bc2 = 1 - std::pow(m_b2, static_cast<double>(m_step));
  for (std::size_t i = 0; i < m_params.size(); ++i) {
    auto& p = m_params[i];
    if (!p.grad().defined()) continue;
    const auto& grad = p.grad();
    if (m_wd != 0) p.mul_(1 - m_lr * m_wd);
    m_expAvg[i].mul_(m_b1).add_(grad, 1 - m_b1);
    m_expAvgSq[i].mul_(m_b2).addcmul_(grad, grad, 1 - m_b2);
    auto denom = (m_expAvgSq[i].sqrt() / std::sqrt(bc2)).add_(m_eps);
    p.addcdiv_(m_expAvg[i], denom, -m_lr / bc1);
  }
}

void AdamW::save(const std::string& file) const {
  torch::serialize::OutputArchive ar;
  ar.write("step", torch::tensor(m_step, torch::kLong));
  ar.write("count", torch::tensor(static_cast<std::int64_t>(m_params.size()), torch::kLong));
  for (std::size_t i = 0; i < m_params.size(); ++i) {
    ar.write("exp_avg." + std::to_string(i), m_expAvg[i], /*is_buffer=*/true);
    ar.write("exp_avg_sq." + std::to_string(i), m_expAvgSq[i], /*is_buffer=*/true);
  }
  writeArchive(ar, file);
}

void AdamW::load(const std::string& file) {
  torch::serialize::InputArchive ar;
  readArchive(ar, file);
  torch::Tensor step, count;
  if (!ar.try_read("step", step) || !ar.try_read("count", count))
    throw std::runtime_error(file + ": not a Pretext AdamW state (no step/count)");
  if (count.item<std::int64_t>() != static_cast<std::int64_t>(m_params.size()))
    throw std::runtime_error(file + ": optimizer state holds " +
                             std::to_string(count.item<std::int64_t>()) +
                             " parameters, the model has " + std::to_string(m_params.size()));
  for (std::size_t i = 0; i < m_params.size(); ++i) {
    torch::Tensor a, b;
    if (!ar.try_read("exp_avg." + std::to_string(i), a, true) ||
        !ar.try_read("exp_avg_sq." + std::to_string(i), b, true) ||
        !a.sizes().equals(m_params[i].sizes()))
      throw std::runtime_error(file + ": optimizer state for parameter " + std::to_string(i) +
                               " is missing or has the wrong shape");
    m_expAvg[i].copy_(a);
    m_expAvgSq[i].copy_(b);
  }
  m_step = step.item<std::int64_t>();
}

}  // namespace pretext::core
