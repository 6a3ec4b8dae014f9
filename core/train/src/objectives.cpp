// The objective zoo; formulas and defaults are documented in objectives.h.
#include "objectives.h"

#include <cmath>

namespace pretext::core::obj {
namespace {
namespace F = torch::nn::functional;

torch::Tensor l2n(const torch::Tensor& x) {
  return F::normalize(x, F::NormalizeFuncOptions().dim(-1).eps(1e-12));
}
// Off-diagonal entries of a square matrix, flattened.
torch::Tensor offDiagonal(const torch::Tensor& m) {
  const auto n = m.size(0);
  return m.flatten().slice(0, 0, n * n - 1).view({n - 1, n + 1}).slice(1, 1).flatten();
}
}  // namespace

torch::Tensor pointInfoNce(const torch::Tensor& a, const torch::Tensor& b, double tau) {
  const auto B = a.size(0), P = a.size(1);
  auto logits = torch::bmm(l2n(a), l2n(b).transpose(1, 2)) / tau;  // [B, P, P]
  auto target = torch::arange(P, torch::TensorOptions().dtype(torch::kLong)).repeat({B});
  return F::cross_entropy(logits.reshape({B * P, P}), target,
                          F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(B);
}

double matchTop1(const torch::Tensor& a, const torch::Tensor& b) {
  torch::NoGradGuard ng;
  auto sim = torch::bmm(l2n(a), l2n(b).transpose(1, 2));
  auto expect = torch::arange(a.size(1), torch::kLong).unsqueeze(0);
  return (sim.argmax(2) == expect).to(torch::kDouble).mean().item<double>();
}

torch::Tensor ntXent(const torch::Tensor& z1, const torch::Tensor& z2, double tau) {
  const auto N = z1.size(0);
  auto z = l2n(torch::cat({z1, z2}, 0));  // [2N, d]
  auto sim = torch::mm(z, z.t()) / tau;
  auto self = torch::eye(2 * N, torch::TensorOptions().dtype(torch::kBool));
  sim = sim.masked_fill(self, -std::numeric_limits<double>::infinity());
  auto idx = torch::arange(2 * N, torch::kLong);
  auto positive = torch::cat({idx.slice(0, N), idx.slice(0, 0, N)});  // i <-> i +- N
  return F::cross_entropy(sim, positive);
}

torch::Tensor byol(const torch::Tensor& p, const torch::Tensor& z) {
  return (2.0 - 2.0 * (l2n(p) * l2n(z)).sum(-1)).mean();
}

torch::Tensor standardize(const torch::Tensor& z, double eps) {
  auto mean = z.mean(0, true);
  auto var = (z - mean).pow(2).mean(0, true);
  return (z - mean) / torch::sqrt(var + eps);
}

torch::Tensor barlowTwins(const torch::Tensor& z1, const torch::Tensor& z2, double lambda) {
  const double N = static_cast<double>(z1.size(0));
  auto c = torch::mm(standardize(z1).t(), standardize(z2)) / N;
  return (1.0 - c.diagonal()).pow(2).sum() + lambda * offDiagonal(c).pow(2).sum();
}

torch::Tensor mixedBarlowReg(const torch::Tensor& zM, const torch::Tensor& zA,
                             const torch::Tensor& zB, double alpha, const torch::Tensor& perm,
                             double lambda, double s) {
  const double N = static_cast<double>(zA.size(0));
  auto a = standardize(zA), b = standardize(zB), m = standardize(zM);
  auto bPerm = b.index_select(0, perm);
  auto cMA = torch::mm(m.t(), a) / N;
  auto cMAgt = alpha * torch::mm(a.t(), a) / N + (1.0 - alpha) * torch::mm(bPerm.t(), a) / N;
  auto cMB = torch::mm(m.t(), b) / N;
  auto cMBgt = alpha * torch::mm(a.t(), b) / N + (1.0 - alpha) * torch::mm(bPerm.t(), b) / N;
  return s * lambda * ((cMA - cMAgt).pow(2).sum() + (cMB - cMBgt).pow(2).sum());
}

torch::Tensor vicreg(const torch::Tensor& z1, const torch::Tensor& z2, const VicregWeights& w) {
  const double N = static_cast<double>(z1.size(0)), d = static_cast<double>(z1.size(1));
  auto variance = [&](const torch::Tensor& z) {
    auto sd = torch::sqrt(z.var(0, /*unbiased=*/true) + w.eps);
    return torch::relu(w.gamma - sd).mean();
  };
  auto covariance = [&](const torch::Tensor& z) {
    auto c = z - z.mean(0, true);
    auto cov = torch::mm(c.t(), c) / (N - 1.0);
    return offDiagonal(cov).pow(2).sum() / d;
  };
  auto inv = (z1 - z2).pow(2).sum(1).mean();
  return w.sim * inv + w.var * (variance(z1) + variance(z2)) +
         w.cov * (covariance(z1) + covariance(z2));
}

torch::Tensor amcl(const torch::Tensor& z1, const torch::Tensor& z2,
                   const TemperatureFn& temperature, double beta) {
  const auto C = z1.size(0), N = z1.size(1);
  auto total = torch::zeros({}, z1.options());
  auto self = torch::eye(N, torch::TensorOptions().dtype(torch::kBool));
  for (std::int64_t c = 0; c < C; ++c) {
    auto a = l2n(z1[c]), b = l2n(z2[c]);
    auto sim = torch::mm(a, b.t());  // [N, N]
    auto pos = sim.diagonal();
    torch::Tensor hardest;
    {
      torch::NoGradGuard ng;
      hardest = sim.masked_fill(self, -2.0).argmax(1);
    }
    auto neg = sim.gather(1, hardest.unsqueeze(1)).squeeze(1);
    auto tPos = temperature(static_cast<int>(c), z1[c], z2[c]);
    auto tNeg = temperature(static_cast<int>(c), z1[c], z2[c].index_select(0, hardest));
    auto term =
        (1.0 - pos) / tPos + beta * torch::log(tPos) + (1.0 + neg) / tNeg + beta * torch::log(tNeg);
    total = total + term.mean();
  }
  return total;
}

torch::Tensor sphericalZLoss(const torch::Tensor& o, const torch::Tensor& target, double a,
                             double b) {
  auto mean = o.mean(1, true);
  auto sd = torch::sqrt((o - mean).pow(2).mean(1, true) + 1e-12);
  auto zc = ((o - mean) / sd).gather(1, target.unsqueeze(1)).squeeze(1);
  return (F::softplus(a * (b - zc)) / a).mean();
}

torch::Tensor logZSquaredPenalty(const torch::Tensor& logits, double alpha) {
  return alpha * torch::logsumexp(logits, -1).pow(2).mean();
}

torch::Tensor flowWarpLoss(const torch::Tensor& online, const torch::Tensor& target,
                           double locations) {
  return (l2n(online) - l2n(target)).pow(2).sum() / locations;
}

torch::Tensor featureMatchFlow(const torch::Tensor& xyz, const torch::Tensor& feats,
                               const torch::Tensor& nextXyz, const torch::Tensor& nextFeats,
                               double radius) {
  torch::NoGradGuard ng;
  auto a = l2n(feats), b = l2n(nextFeats);
  std::vector<torch::Tensor> out;
  const std::int64_t n = xyz.size(0), chunk = 1024;
  for (std::int64_t r = 0; r < n; r += chunk) {
    const auto len = std::min(chunk, n - r);
    auto p = xyz.narrow(0, r, len);
    auto dist = torch::cdist(p, nextXyz);              // [len, M]
    auto sim = torch::mm(a.narrow(0, r, len), b.t());  // [len, M]
    auto near = dist <= radius;
    auto best = sim.masked_fill(near.logical_not(), -3.0).argmax(1);
    auto nearest = dist.argmin(1);
    auto any = near.any(1);
    auto pick = torch::where(any, best, nearest);
    out.push_back(nextXyz.index_select(0, pick) - p);
  }
  return torch::cat(out);
}

std::pair<torch::Tensor, torch::Tensor> groupMean(const torch::Tensor& feats,
                                                  const torch::Tensor& group, std::int64_t groups) {
  auto keep = (group >= 0).nonzero().squeeze(1);
  auto g = group.index_select(0, keep);
  auto sums = torch::zeros({groups, feats.size(1)}, feats.options())
                  .index_add(0, g, feats.index_select(0, keep));
  auto counts =
      torch::zeros({groups}, feats.options()).index_add(0, g, torch::ones_like(g, feats.options()));
  return {sums / counts.clamp_min(1.0).unsqueeze(1), counts};
}

double averagePrecision(const torch::Tensor& scores, const torch::Tensor& labels) {
  torch::NoGradGuard ng;
  auto order = std::get<1>(scores.to(torch::kDouble).sort(0, /*descending=*/true));
  auto s = scores.to(torch::kDouble).index_select(0, order);
  auto y = labels.to(torch::kDouble).index_select(0, order);
  const double positives = y.sum().item<double>();
  if (positives == 0) return 0.0;
  auto tp = y.cumsum(0);
  auto rank = torch::arange(1, y.size(0) + 1, torch::kDouble);
  // The last index of every group of equal scores closes a threshold.
  auto last = torch::ones({s.size(0)}, torch::kBool);
  if (s.size(0) > 1)
    last.narrow(0, 0, s.size(0) - 1)
        .copy_(s.narrow(0, 1, s.size(0) - 1) != s.narrow(0, 0, s.size(0) - 1));
  auto idx = last.nonzero().squeeze(1);
  auto precision = tp.index_select(0, idx) / rank.index_select(0, idx);
  auto recall = tp.index_select(0, idx) / positives;
  auto prevRecall =
      torch::cat({torch::zeros({1}, torch::kDouble), recall.narrow(0, 0, recall.size(0) - 1)});
  return ((recall - prevRecall) * precision).sum().item<double>();
}

double normalizedStd(const torch::Tensor& f) {
  torch::NoGradGuard ng;
  auto n = l2n(f.to(torch::kDouble));
  return (n.std(0, false).mean() * std::sqrt(static_cast<double>(f.size(1)))).item<double>();
}

double effectiveRank(const torch::Tensor& f) {
  torch::NoGradGuard ng;
  auto c = f.to(torch::kDouble);
  c = c - c.mean(0, true);
  auto sv = std::get<1>(torch::svd(c));
  auto p = sv / sv.sum().clamp_min(1e-12);
  auto h = -(p * torch::log(p.clamp_min(1e-30))).sum();
  return std::exp(h.item<double>());
}

}  // namespace pretext::core::obj
