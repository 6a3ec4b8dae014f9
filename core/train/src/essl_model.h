#pragma once
// Private to core (LibTorch): E-SSL3D's networks at CPU scale (methods.md §1.2, §1.6).
//
// PillarEncoder f: every point is decorated with its coordinates and its offsets from the
// centroid and the centre of its BEV pillar, passed through a shared point MLP, max-pooled
// per pillar into a BEV pseudo-image [B, W, H, H], run through a two-scale 2D CNN (GroupNorm,
// so no running statistics to keep consistent between branches or ranks), and read back
// per point by bilinear sampling; the per-point feature is a linear map of the point's own
// MLP feature and the sampled map. Points outside the square grid get the map's border.
//
// Heads: projector m and predictor q (MLP, LayerNorm), transform classifiers s on pooled
// features, a global projector for the objective zoo, and AMCL's temperature nets.
// Trainer thread only.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace pretext::core::essl {

struct EncoderOptions {
  int width = 32;       // point-MLP and first CNN stage channels
  int depth = 2;        // conv layers per CNN stage
  int featureDim = 32;  // per-point feature F
  double range = 32.0;  // the grid covers [-range, range)^2 metres
  double pillar = 1.0;  // pillar size in metres
  int cells() const { return static_cast<int>(2.0 * range / pillar + 0.5); }
};

struct EncoderOutput {
  torch::Tensor points;  // [B, N, F] per-point features
  torch::Tensor cell;    // [B, N] long: b * H * W + iy * W + ix, -1 outside the grid
};

struct PillarEncoderImpl : torch::nn::Module {
  explicit PillarEncoderImpl(const EncoderOptions& o);
  EncoderOutput forward(const torch::Tensor& xyz /* [B, N, 3] metres */);
  // The BEV feature map of the last forward pass' CNN [B, D, H, W] (for downstream heads).
  torch::Tensor bevFeatures(const torch::Tensor& xyz, EncoderOutput* out = nullptr);
  // Flat BEV cell of every point (-1 outside). No gradient.
  torch::Tensor cellIndex(const torch::Tensor& xyz) const;

  EncoderOptions opt;
  torch::nn::Linear pn1{nullptr}, pn2{nullptr}, head{nullptr};
  torch::nn::Sequential stage1{nullptr}, stage2{nullptr};
  torch::nn::Conv2d fuse{nullptr};
  int mapChannels() const { return 2 * opt.width; }
};
TORCH_MODULE(PillarEncoder);

// Linear -> LayerNorm -> ReLU -> Linear.
struct MlpImpl : torch::nn::Module {
  MlpImpl(int in, int hidden, int out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear l1{nullptr}, l2{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Mlp);

// [B, N, F] -> [B, 2F]: max and mean over points.
torch::Tensor poolPoints(const torch::Tensor& feats);

// Parameters of `target` <- m * target + (1 - m) * online, matched by name (no gradient).
void emaUpdate(torch::nn::Module& target, const torch::nn::Module& online, double momentum);
// Copies all parameters and buffers of `from` into `to` (same architecture).
void copyWeights(torch::nn::Module& to, const torch::nn::Module& from);
// BYOL's schedule γ_k = 1 − (1 − γ_base)(cos(πk/K) + 1)/2 when cosine, else γ_base.
double emaMomentum(double base, bool cosine, std::int64_t step, std::int64_t maxSteps);

}  // namespace pretext::core::essl
