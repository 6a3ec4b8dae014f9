// The objective zoo: values on hand-computed inputs, gradients against central finite
// differences in double precision, and the symmetry / invariance properties each loss has.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <functional>

#include "objectives.h"

using namespace pretext::core;
using Catch::Detail::Approx;

namespace {

torch::Tensor t2(std::vector<std::vector<double>> rows) {
  std::vector<torch::Tensor> r;
  for (auto& v : rows) r.push_back(torch::tensor(v, torch::kDouble));
  return torch::stack(r);
}

double val(const torch::Tensor& t) { return t.item<double>(); }

// Compares autograd's gradient of fn w.r.t. every input with central differences.
void checkGradients(const std::function<torch::Tensor(std::vector<torch::Tensor>&)>& fn,
                    std::vector<torch::Tensor> inputs, double tol = 1e-6) {
  for (auto& x : inputs) x = x.to(torch::kDouble).detach().clone().requires_grad_(true);
  auto loss = fn(inputs);
  auto grads = torch::autograd::grad({loss}, inputs);
  const double h = 1e-6;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto flat = inputs[i].detach().clone();
    auto g = grads[i].flatten();
    for (std::int64_t k = 0; k < flat.numel(); ++k) {
      auto probe = [&](double delta) {
        std::vector<torch::Tensor> moved;
        for (std::size_t j = 0; j < inputs.size(); ++j) moved.push_back(inputs[j].detach());
        auto x = flat.clone();
        x.view(-1)[k] += delta;
        moved[i] = x;
        torch::NoGradGuard ng;
        return fn(moved).item<double>();
      };
      const double numeric = (probe(h) - probe(-h)) / (2 * h);
      INFO("input " << i << " element " << k);
      CHECK(g[k].item<double>() == Approx(numeric).margin(tol).epsilon(1e-4));
    }
  }
}

}  // namespace

TEST_CASE("PointInfoNCE: value, gradient and invariances", "[objectives]") {
  // Orthonormal matched features, tau = 1: each row's CE is log(1 + e^-1).
  auto a = t2({{1, 0}, {0, 1}}).unsqueeze(0);
  CHECK(val(obj::pointInfoNce(a, a, 1.0)) == Approx(0.6265233750));
  // Summed over pairs, averaged over scans: two identical scans give the same value.
  CHECK(val(obj::pointInfoNce(torch::cat({a, a}), torch::cat({a, a}), 1.0)) ==
        Approx(0.6265233750));
  CHECK(obj::matchTop1(a, a) == 1.0);
  torch::manual_seed(1);
  auto x = torch::randn({2, 5, 4}, torch::kDouble), y = torch::randn({2, 5, 4}, torch::kDouble);
  const double base = val(obj::pointInfoNce(x, y, 0.4));
  // Invariant to per-row feature scaling (features are normalised) and to a rotation Q of
  // feature space applied to both views.
  CHECK(val(obj::pointInfoNce(3.0 * x, 0.5 * y, 0.4)) == Approx(base));
  auto q = std::get<0>(torch::linalg::qr(torch::randn({4, 4}, torch::kDouble)));
  CHECK(val(obj::pointInfoNce(torch::matmul(x, q), torch::matmul(y, q), 0.4)) == Approx(base));
  checkGradients([](auto& in) { return obj::pointInfoNce(in[0], in[1], 0.4); }, {x, y});
}

TEST_CASE("NT-Xent: value, symmetry, gradient", "[objectives]") {
  auto z = t2({{1, 0}, {0, 1}});
  CHECK(val(obj::ntXent(z, z, 1.0)) == Approx(0.5514447139));
  torch::manual_seed(2);
  auto a = torch::randn({4, 3}, torch::kDouble), b = torch::randn({4, 3}, torch::kDouble);
  CHECK(val(obj::ntXent(a, b, 0.5)) == Approx(val(obj::ntXent(b, a, 0.5))));
  // Lower when the views agree.
  CHECK(val(obj::ntXent(a, a + 0.01 * b, 0.5)) < val(obj::ntXent(a, b, 0.5)));
  checkGradients([](auto& in) { return obj::ntXent(in[0], in[1], 0.5); }, {a, b});
}

TEST_CASE("BYOL regression: value and gradient", "[objectives]") {
  auto p = t2({{1, 0}, {1, 0}}), z = t2({{0, 1}, {2, 0}});
  CHECK(val(obj::byol(p, z)) == Approx(1.0));  // rows: 2 - 0 and 2 - 2
  CHECK(val(obj::byol(5.0 * p, z)) == Approx(1.0));
  torch::manual_seed(3);
  checkGradients([](auto& in) { return obj::byol(in[0], in[1]); },
                 {torch::randn({3, 4}, torch::kDouble), torch::randn({3, 4}, torch::kDouble)});
}

TEST_CASE("Barlow Twins and its mixed regulariser", "[objectives]") {
  // Standardised columns [1,-1] and [-1,1]: C = [[1,-1],[-1,1]] -> L = 2 * lambda.
  auto z = t2({{1, -1}, {-1, 1}});
  CHECK(val(obj::barlowTwins(z, z, 0.25)) == Approx(0.5).margin(1e-4));
  torch::manual_seed(4);
  auto a = torch::randn({6, 3}, torch::kDouble), b = torch::randn({6, 3}, torch::kDouble);
  CHECK(val(obj::barlowTwins(a, b, 0.1)) == Approx(val(obj::barlowTwins(b, a, 0.1))));
  // Invariant to per-dimension affine maps (standardisation).
  auto scale = torch::tensor({2.0, 0.5, 3.0}, torch::kDouble);
  CHECK(val(obj::barlowTwins(a * scale + 1.0, b, 0.1)) == Approx(val(obj::barlowTwins(a, b, 0.1))));
  checkGradients([](auto& in) { return obj::barlowTwins(in[0], in[1], 0.1); }, {a, b});

  auto perm = torch::tensor({0, 1}, torch::kLong);
  // N = 2, d = 1: zM = -zA, alpha = 1: C_MA = -1 vs C_MA_gt = 1 (and the same for B) -> 8 s λ.
  auto za = t2({{1}, {-1}});
  CHECK(val(obj::mixedBarlowReg(-za, za, za, 1.0, perm, 0.5, 2.0)) == Approx(8.0).margin(1e-3));
  // zM equal to zA with alpha = 1 matches its ground truth exactly.
  auto perm6 = torch::randperm(6, torch::kLong);
  CHECK(val(obj::mixedBarlowReg(a, a, b, 1.0, perm6, 0.1, 4.0)) == Approx(0.0).margin(1e-12));
  auto m = torch::randn({6, 3}, torch::kDouble);
  checkGradients(
      [&](auto& in) { return obj::mixedBarlowReg(in[0], in[1], in[2], 0.3, perm6, 0.1, 4.0); },
      {m, a, b});
}

TEST_CASE("VICReg: value, symmetry, gradient", "[objectives]") {
  // Column 0 has unbiased variance 2 (no hinge), column 1 is constant: v = (1 - 0.01) / 2.
  auto z = t2({{1, 0}, {-1, 0}});
  CHECK(val(obj::vicreg(z, z)) == Approx(25 * 2 * 0.495).epsilon(1e-6));
  obj::VicregWeights w;
  w.var = 0;
  w.cov = 0;
  auto z2 = t2({{1, 1}, {-1, 1}});
  CHECK(val(obj::vicreg(z, z2, w)) == Approx(25.0));  // mean ||z1 - z2||^2 = 1
  torch::manual_seed(5);
  auto a = torch::randn({5, 3}, torch::kDouble), b = torch::randn({5, 3}, torch::kDouble);
  CHECK(val(obj::vicreg(a, b)) == Approx(val(obj::vicreg(b, a))));
  checkGradients([](auto& in) { return obj::vicreg(in[0], in[1]); }, {a, b});
}

TEST_CASE("AMCL: value with fixed temperatures, gradient through learned ones", "[objectives]") {
  auto z = t2({{1, 0}, {0, 1}}).unsqueeze(0);  // one head
  auto fixed = [](double tau) {
    return [tau](int, const torch::Tensor& a, const torch::Tensor&) {
      return torch::full({a.size(0)}, tau, a.options());
    };
  };
  // Positives sim 1, hardest negatives sim 0: (0)/τ + β log τ + 1/τ + β log τ.
  CHECK(val(obj::amcl(z, z, fixed(1.0), 0.1)) == Approx(1.0));
  CHECK(val(obj::amcl(z, z, fixed(2.0), 0.1)) == Approx(0.6386294361));
  // Heads add up.
  CHECK(val(obj::amcl(torch::cat({z, z}), torch::cat({z, z}), fixed(2.0), 0.1)) ==
        Approx(2 * 0.6386294361));
  torch::manual_seed(6);
  auto a = torch::randn({2, 4, 3}, torch::kDouble), b = torch::randn({2, 4, 3}, torch::kDouble);
  auto w = torch::randn({6}, torch::kDouble);
  checkGradients(
      [](auto& in) {
        // A temperature that depends on both embeddings and a weight vector.
        auto temp = [&](int, const torch::Tensor& x, const torch::Tensor& y) {
          return 0.05 + torch::sigmoid(torch::matmul(torch::cat({x, y}, 1), in[2]));
        };
        return obj::amcl(in[0], in[1], temp, 0.1);
      },
      {a, b, w});
}

TEST_CASE("spherical Z-loss and the logZ^2 penalty are different things", "[objectives]") {
  auto o = t2({{1, 2, 3}});
  auto target = torch::tensor({2}, torch::kLong);
  CHECK(val(obj::sphericalZLoss(o, target)) == Approx(0.2576088646));
  // Spherical family: invariant to shifting and scaling the outputs.
  CHECK(val(obj::sphericalZLoss(3.0 * o + 7.0, target)) == Approx(0.2576088646));
  CHECK(val(obj::logZSquaredPenalty(t2({{0, 0}}), 1.0)) == Approx(0.4804530139));
  // The penalty is not shift invariant: it pulls log Z towards 0.
  CHECK(val(obj::logZSquaredPenalty(t2({{5, 5}}), 1.0)) > 30.0);
  CHECK(val(obj::logZSquaredPenalty(t2({{0, 0}}))) == Approx(1e-4 * 0.4804530139));
  torch::manual_seed(7);
  auto x = torch::randn({3, 5}, torch::kDouble);
  auto y = torch::tensor({0, 3, 4}, torch::kLong);
  checkGradients([&](auto& in) { return obj::sphericalZLoss(in[0], y, 2.0, 0.5); }, {x});
  checkGradients([](auto& in) { return obj::logZSquaredPenalty(in[0], 1e-2); }, {x});
}

TEST_CASE("flow warp loss sums occupied cells over all H*W locations", "[objectives]") {
  auto online = t2({{1, 0}, {0, 1}});
  auto target = t2({{2, 0}, {1, 0}});
  CHECK(val(obj::flowWarpLoss(online, target, 2)) == Approx(1.0));  // (0 + 2) / 2
  CHECK(val(obj::flowWarpLoss(online, target, 4)) == Approx(0.5));  // empty cells count in HW
  CHECK(val(obj::flowWarpLoss(online.narrow(0, 0, 1), target.narrow(0, 0, 1), 2)) == Approx(0.0));
  torch::manual_seed(8);
  checkGradients([&](auto& in) { return obj::flowWarpLoss(in[0], in[1], 5); },
                 {torch::randn({3, 4}, torch::kDouble), torch::randn({3, 4}, torch::kDouble)});
}

TEST_CASE("group means and collapse indicators", "[objectives]") {
  auto f = t2({{1, 2}, {3, 4}, {5, 6}, {7, 8}});
  auto g = torch::tensor({1, 1, -1, 0}, torch::kLong);
  auto [mean, counts] = obj::groupMean(f, g, 3);
  CHECK(mean[1][0].item<double>() == Approx(2.0));
  CHECK(mean[1][1].item<double>() == Approx(3.0));
  CHECK(mean[0][1].item<double>() == Approx(8.0));
  CHECK(counts[2].item<double>() == 0.0);
  CHECK(mean[2].abs().sum().item<double>() == 0.0);
  // Rows e_1..e_4 repeated: 4 equal singular values -> effective rank 3 after centring
  // (centring removes one direction), normalised std > 0; identical rows: rank ~1, std 0.
  auto eye = torch::eye(4, torch::kDouble).repeat({5, 1});
  CHECK(obj::effectiveRank(eye) == Approx(3.0).epsilon(1e-6));
  CHECK(obj::normalizedStd(eye) > 0.8);
  auto same = torch::ones({10, 4}, torch::kDouble);
  CHECK(obj::normalizedStd(same) == Approx(0.0).margin(1e-9));
  CHECK(obj::effectiveRank(same + 1e-3 * torch::arange(10, torch::kDouble).unsqueeze(1)) ==
        Approx(1.0).epsilon(1e-6));
}

TEST_CASE("average precision treats tied scores as one threshold", "[objectives]") {
  auto ap = [](std::vector<double> s, std::vector<double> y) {
    return obj::averagePrecision(torch::tensor(s), torch::tensor(y));
  };
  CHECK(ap({0.9, 0.8, 0.8, 0.1}, {1, 0, 1, 0}) == Approx(0.5 * 1.0 + 0.5 * 2.0 / 3.0));
  CHECK(ap({0.9, 0.8, 0.8, 0.1}, {1, 1, 0, 0}) == Approx(0.5 * 1.0 + 0.5 * 2.0 / 3.0));
  // All tied: the prevalence, whatever the order.
  CHECK(ap({0.5, 0.5, 0.5, 0.5}, {0, 0, 0, 1}) == Approx(0.25));
  CHECK(ap({0.5, 0.5, 0.5, 0.5}, {1, 0, 0, 0}) == Approx(0.25));
  // Perfect and reversed rankings without ties.
  CHECK(ap({0.9, 0.7, 0.2, 0.1}, {1, 1, 0, 0}) == Approx(1.0));
  CHECK(ap({0.9, 0.7, 0.2, 0.1}, {0, 0, 1, 1}) == Approx(0.5 * (1.0 / 3.0) + 0.5 * 0.5));
  CHECK(ap({0.3, 0.2}, {0, 0}) == 0.0);
}

TEST_CASE("feature-matching flow follows the features, within the radius", "[objectives]") {
  // Frame t+1 is frame t moved by (1, 0, 0), shuffled; features are one-hot point ids.
  const std::int64_t n = 40;
  auto xyz = torch::rand({n, 3}) * 10;
  auto feats = torch::eye(n);
  auto perm = torch::randperm(n);
  auto shift = torch::tensor({1.0f, 0.0f, 0.0f});
  auto nextXyz = xyz.index_select(0, perm) + shift;
  auto nextFeats = feats.index_select(0, perm);
  auto flow = obj::featureMatchFlow(xyz, feats, nextXyz, nextFeats, 2.0);
  REQUIRE(flow.sizes() == torch::IntArrayRef({n, 3}));
  CHECK(torch::allclose(flow, shift.expand({n, 3}), 1e-5, 1e-5));
  // Out of reach (radius 0.5 < 1 m), each point falls back to its nearest next point.
  auto near = obj::featureMatchFlow(xyz, feats, nextXyz, nextFeats, 0.5);
  auto nearest = std::get<1>(torch::cdist(xyz, nextXyz).min(1));
  CHECK(torch::allclose(near, nextXyz.index_select(0, nearest) - xyz, 1e-5, 1e-5));
  // Chunked rows (more than 1024 points) give the same answer as the whole.
  const std::int64_t big = 2500;
  auto bx = torch::rand({big, 3}) * 50;
  auto bf = torch::randn({big, 8});
  auto by = bx + shift;
  auto bflow = obj::featureMatchFlow(bx, bf, by, bf, 3.0);
  CHECK(torch::allclose(bflow, shift.expand({big, 3}), 1e-4, 1e-4));
}
