// E-SSL3D's pillar encoder and heads; see essl_model.h.
#include "essl_model.h"

#include <cmath>
#include <mutex>

namespace pretext::core::essl {
namespace {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

// LibTorch 1.13 marks scatter_reduce as beta and says so once per process on stderr; the
// op is what we want (a differentiable per-pillar max), so that one notice is dropped.
struct BetaNoticeFilter : c10::WarningHandler {
  explicit BetaNoticeFilter(c10::WarningHandler* next) : next(next) {}
  void process(const c10::SourceLocation& where, const std::string& msg, bool verbatim) override {
    if (msg.find("scatter_reduce() is in beta") != std::string::npos) return;
    next->process(where, msg, verbatim);
  }
  c10::WarningHandler* next;
};
// Installed once, before the first encoder exists (the handler is process-global).
void installBetaNoticeFilter() {
  static std::once_flag once;
  std::call_once(once, [] {
    static BetaNoticeFilter filter(c10::Warning::get_warning_handler());
    c10::Warning::set_warning_handler(&filter);
  });
}

constexpr int kDecorations = 8;  // x/R, y/R, z/3, centroid offsets (3), centre offsets (2)

nn::Sequential convStage(int in, int out, int layers, int firstStride) {
  nn::Sequential s;
  for (int i = 0; i < layers; ++i) {
    s->push_back(nn::Conv2d(nn::Conv2dOptions(i == 0 ? in : out, out, 3)
                                .stride(i == 0 ? firstStride : 1)
                                .padding(1)
                                .bias(false)));
    s->push_back(nn::GroupNorm(nn::GroupNormOptions(std::min(8, out), out)));
    s->push_back(nn::ReLU());
  }
  return s;
}
}  // namespace

PillarEncoderImpl::PillarEncoderImpl(const EncoderOptions& o) : opt(o) {
  installBetaNoticeFilter();
  const int w = o.width;
  pn1 = register_module("pn1", nn::Linear(kDecorations, w));
  pn2 = register_module("pn2", nn::Linear(w, w));
  stage1 = register_module("stage1", convStage(w, w, o.depth, 1));
  stage2 = register_module("stage2", convStage(w, 2 * w, o.depth, 2));
  fuse = register_module("fuse", nn::Conv2d(nn::Conv2dOptions(3 * w, 2 * w, 1)));
  head = register_module("head", nn::Linear(w + 2 * w, o.featureDim));
}

torch::Tensor PillarEncoderImpl::cellIndex(const torch::Tensor& xyz) const {
  torch::NoGradGuard ng;
  const auto B = xyz.size(0), N = xyz.size(1);
  const std::int64_t H = opt.cells();
  auto ij = torch::floor((xyz.narrow(2, 0, 2) + opt.range) / opt.pillar).to(torch::kLong);
  auto ix = ij.select(2, 0), iy = ij.select(2, 1);
  auto inside = (ix >= 0) & (ix < H) & (iy >= 0) & (iy < H);
  auto batch = torch::arange(B, torch::kLong).unsqueeze(1).expand({B, N});
  auto flat = batch * (H * H) + iy * H + ix;
  return torch::where(inside, flat, torch::full_like(flat, -1));
}

torch::Tensor PillarEncoderImpl::bevFeatures(const torch::Tensor& xyz, EncoderOutput* out) {
  const auto B = xyz.size(0), N = xyz.size(1);
  const std::int64_t H = opt.cells();
  const double R = opt.range, s = opt.pillar;
  auto cell = cellIndex(xyz);
  auto flatCell = cell.reshape({B * N});
  auto pts = xyz.reshape({B * N, 3});
  auto keep = (flatCell >= 0).nonzero().squeeze(1);
  auto kc = flatCell.index_select(0, keep);

  // Decorations: pillar centroid (mean of its points) and pillar centre offsets.
  torch::Tensor deco;
  {
    torch::NoGradGuard ng;
    auto sums =
        torch::zeros({B * H * H, 3}, xyz.options()).index_add(0, kc, pts.index_select(0, keep));
    auto counts = torch::zeros({B * H * H}, xyz.options())
                      .index_add(0, kc, torch::ones({kc.size(0)}, xyz.options()));
    auto centroid =
        (sums / counts.clamp_min(1).unsqueeze(1)).index_select(0, flatCell.clamp_min(0));
    auto local = flatCell.clamp_min(0) % (H * H);
    auto cx = (local % H).to(xyz.scalar_type()) * s + (s * 0.5 - R);
    auto cy = (local / H).to(xyz.scalar_type()) * s + (s * 0.5 - R);
    auto x = pts.select(1, 0), y = pts.select(1, 1), z = pts.select(1, 2);
    deco = torch::stack(
        {x / R, y / R, z / 3.0, (x - centroid.select(1, 0)) / s, (y - centroid.select(1, 1)) / s,
         (z - centroid.select(1, 2)) / s, (x - cx) / s, (y - cy) / s},
        1);
  }
  auto h = torch::relu(pn2(torch::relu(pn1(deco))));  // [B*N, w]
  const auto w = h.size(1);
  auto bev = torch::zeros({B * H * H, w}, h.options())
                 .scatter_reduce(0, kc.unsqueeze(1).expand({kc.size(0), w}),
                                 h.index_select(0, keep), "amax", /*include_self=*/false);
  auto img = bev.view({B, H, H, w}).permute({0, 3, 1, 2});  // [B, w, H(y), W(x)]
  auto s1 = stage1->forward(img);
  auto s2 = stage2->forward(s1);
  auto up = F::interpolate(s2, F::InterpolateFuncOptions()
                                   .size(std::vector<std::int64_t>{H, H})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
  auto map = torch::relu(fuse(torch::cat({s1, up}, 1)));  // [B, 2w, H, W]
  if (out) {
    // grid_sample: x indexes W, y indexes H; align_corners=false puts -1/+1 on the edges.
    auto grid = (xyz.narrow(2, 0, 2) / R).unsqueeze(1);  // [B, 1, N, 2]
    auto sampled = F::grid_sample(map, grid,
                                  F::GridSampleFuncOptions()
                                      .mode(torch::kBilinear)
                                      .padding_mode(torch::kBorder)
                                      .align_corners(false));  // [B, 2w, 1, N]
    auto perPoint = sampled.squeeze(2).transpose(1, 2);        // [B, N, 2w]
    out->points = head(torch::cat({h.view({B, N, w}), perPoint}, 2));
    out->cell = cell;
  }
  return map;
}

EncoderOutput PillarEncoderImpl::forward(const torch::Tensor& xyz) {
  EncoderOutput out;
  bevFeatures(xyz, &out);
  return out;
}

MlpImpl::MlpImpl(int in, int hidden, int out) {
  l1 = register_module("l1", nn::Linear(in, hidden));
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({hidden})));
  l2 = register_module("l2", nn::Linear(hidden, out));
}
torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return l2(torch::relu(norm(l1(x)))); }

torch::Tensor poolPoints(const torch::Tensor& feats) {
  return torch::cat({std::get<0>(feats.max(1)), feats.mean(1)}, 1);
}

void emaUpdate(torch::nn::Module& target, const torch::nn::Module& online, double momentum) {
  torch::NoGradGuard ng;
  auto src = online.named_parameters();
  for (auto& p : target.named_parameters()) {
    const auto* o = src.find(p.key());
    TORCH_CHECK(o, "EMA: online network has no parameter ", p.key());
    p.value().mul_(momentum).add_(*o, 1.0 - momentum);
  }
}

void copyWeights(torch::nn::Module& to, const torch::nn::Module& from) {
  torch::NoGradGuard ng;
  auto src = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src[p.key()]);
  auto bufs = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(bufs[b.key()]);
}

double emaMomentum(double base, bool cosine, std::int64_t step, std::int64_t maxSteps) {
  if (!cosine || maxSteps <= 0) return base;
  constexpr double kPi = 3.14159265358979323846;
  const double k = std::min<double>(static_cast<double>(step), static_cast<double>(maxSteps));
  return 1.0 - (1.0 - base) * (std::cos(kPi * k / static_cast<double>(maxSteps)) + 1.0) / 2.0;
}

}  // namespace pretext::core::essl
