#pragma once
// Private to core (LibTorch): the self-supervised objective zoo (methods.md §1.3-1.4, §3).
// Every function is pure: tensors in, a scalar loss tensor out, differentiable with respect
// to every floating-point input. Formulas and defaults sit next to each declaration; the
// choices made where the papers are silent are marked [U] and repeated in docs/objectives.md.
// Trainer thread only.
#include <torch/torch.h>

#include <functional>

namespace pretext::core::obj {

// PointInfoNCE (PointContrast / E-SSL3D §1.3) over P matched points of two views.
//   a, b: [B, P, D] features of matched points (row i of a and b show the same point);
//   L = (1/B) Σ_b Σ_i −log softmax_j(â_i · b̂_j / τ)[i], â, b̂ L2-normalised.
// Summed over pairs and averaged over scans, as in the paper (hence λ_pnce = 0.01).
// Default τ = 0.4 [U, PointContrast's usual value].
torch::Tensor pointInfoNce(const torch::Tensor& a, const torch::Tensor& b, double tau);
// Share of rows whose most similar column is its own match: the contrastive top-1 rate.
double matchTop1(const torch::Tensor& a, const torch::Tensor& b);

// SimCLR NT-Xent over 2N views: anchor i's positive is its other view, the other 2N−2
// views are negatives; ℓ_i = −log[exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ)], s = cosine; mean over
// all 2N anchors. z1, z2: [N, d]. Defaults: τ = 0.1 (ImageNet) / 0.5 (CIFAR) [U].
torch::Tensor ntXent(const torch::Tensor& z1, const torch::Tensor& z2, double tau);

// BYOL regression: mean over rows of ‖p̄ − z̄‖² = 2 − 2 cos(p, z). The caller passes the
// target projection detached (stop-gradient) and symmetrises by swapping the views.
torch::Tensor byol(const torch::Tensor& p, const torch::Tensor& z);

// Per-dimension standardisation over the batch (biased std, as BatchNorm without affine).
torch::Tensor standardize(const torch::Tensor& z, double eps = 1e-5);

// Barlow Twins: C = ẑ1ᵀ ẑ2 / N (d x d) with ẑ standardised per dimension;
//   L = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij².  λ = 0.0051 at d = 8192 (ImageNet), 1/128 at
// d = 1024 (mix-bt CIFAR); objective.global.lambda sets it.
torch::Tensor barlowTwins(const torch::Tensor& z1, const torch::Tensor& z2, double lambda);

// Mixed Barlow Twins regulariser (mix-bt main.py): with ZA, ZB, ZM standardised, α the
// mixing weight and perm the permutation used to build x_M = α x_A + (1−α) x_B[perm]:
//   C_MA = ZMᵀ ZA / N,  C_MA_gt = α ZAᵀ ZA / N + (1−α) ZB[perm]ᵀ ZA / N  (same with B),
//   L_mix = s · λ · (‖C_MA − C_MA_gt‖²_F + ‖C_MB − C_MB_gt‖²_F).
// Defaults s = 4 (2 for STL-10), λ = 1/128 at d = 1024. The total is L_BT + L_mix.
torch::Tensor mixedBarlowReg(const torch::Tensor& zM, const torch::Tensor& zA,
                             const torch::Tensor& zB, double alpha, const torch::Tensor& perm,
                             double lambda, double s);

// VICReg: λ·mean‖z1_i − z2_i‖² + μ·[v(z1) + v(z2)] + ν·[c(z1) + c(z2)], with
//   v(Z) = (1/d) Σ_j max(0, γ − sqrt(Var(Z_j) + ε)) (unbiased variance),
//   c(Z) = (1/d) Σ_{i≠j} Cov(Z)_ij².  Defaults λ = 25, μ = 25, ν = 1, γ = 1, ε = 1e-4.
struct VicregWeights {
  double sim = 25, var = 25, cov = 1, gamma = 1, eps = 1e-4;
};
torch::Tensor vicreg(const torch::Tensor& z1, const torch::Tensor& z2, const VicregWeights& w = {});

// AMCL (Adaptive Multi-head Contrastive Learning), SimCLR form, summed over heads c and
// averaged over anchors i; s = cosine between views, n* the hardest negative of i:
//   ℓ_i^c = (1 − s_ii)/τ⁺ + β log τ⁺  +  (1 + s_in*)/τ⁻ + β log τ⁻,
//   τ⁺ = temperature(z1_i, z2_i), τ⁻ = temperature(z1_i, z2_n*).
// [U] The paper's Ω is not published; we use the Gaussian-MLE form Ω(τ) = log τ with the
// positive written as the distance 1 − s and the hardest negative as 1 + s (its distance to
// the antipode), so each term is bounded below and its optimal temperature, (1 ∓ s)/β, is
// the per-pair uncertainty. β = 0.1. z1, z2: [C, N, d]; temperature(c, a, b) -> [N] for head c.
using TemperatureFn =
    std::function<torch::Tensor(int head, const torch::Tensor& a, const torch::Tensor& b)>;
torch::Tensor amcl(const torch::Tensor& z1, const torch::Tensor& z2,
                   const TemperatureFn& temperature, double beta);

// Spherical Z-loss (de Brébisson & Vincent 2016), NOT the PaLM penalty below:
//   z_c = (o_c − mean(o)) / std(o) (population std),  L = (1/a) softplus(a (b − z_c)),
// averaged over rows. o: [N, D] pre-activations, target: [N] long. Defaults a = 1, b = 0
// (the authors' example code); invariant to shifting and scaling o.
torch::Tensor sphericalZLoss(const torch::Tensor& o, const torch::Tensor& target, double a = 1.0,
                             double b = 0.0);

// PaLM's log-Z² penalty, added to a cross-entropy: α · mean_rows (logsumexp(logits))².
// Default α = 1e-4.
torch::Tensor logZSquaredPenalty(const torch::Tensor& logits, double alpha = 1e-4);

// E-SSL3D's scene-flow warp loss (§1.4) on BEV grids of H·W locations:
//   L = (1/B) Σ_b (1/HW) Σ_{occupied c} ‖ẑ_c − ŷ_c‖² = Σ_rows ‖ẑ − ŷ‖² / `locations`,
// with one row per occupied cell (holding both warped previous-frame points and
// current-frame points) of all B grids, and `locations` = B·H·W. ŷ (online, [M, P]) and ẑ
// (target, detached by the caller) are L2-normalised here.
torch::Tensor flowWarpLoss(const torch::Tensor& online, const torch::Tensor& target,
                           double locations);

// Scene flow predicted by feature matching: every point i of frame t (xyz [N, 3], features
// [N, D]) moves to the frame-t+1 point (nextXyz [M, 3], nextFeats [M, D]) whose feature has
// the highest cosine similarity among those within `radius` of it; with none in reach, to
// the nearest one. Returns [N, 3] (next point − point). Computed in chunks of rows.
torch::Tensor featureMatchFlow(const torch::Tensor& xyz, const torch::Tensor& feats,
                               const torch::Tensor& nextXyz, const torch::Tensor& nextFeats,
                               double radius);

// Mean over rows of per-group sums: the cell averages of row features. feats [M, D],
// group [M] long in [0, groups) or −1 (skipped). Returns the means [groups, D] and the
// counts [groups]. Differentiable in feats.
std::pair<torch::Tensor, torch::Tensor> groupMean(const torch::Tensor& feats,
                                                  const torch::Tensor& group, std::int64_t groups);

// Average precision of `scores` [M] against binary `labels` [M] (0/1), with tied scores
// treated as one threshold (as scikit-learn does): AP = Σ_k (R_k − R_{k−1}) P_k over the
// distinct score values in decreasing order. 0 when there is no positive.
double averagePrecision(const torch::Tensor& scores, const torch::Tensor& labels);

// Collapse indicators of features [N, D]: std of the L2-normalised features averaged over
// dimensions, times sqrt(D) (1 for well-spread features, 0 at collapse), and the effective
// rank exp(H(σ/Σσ)) of the centred features (Roy & Vetterli).
double normalizedStd(const torch::Tensor& f);
double effectiveRank(const torch::Tensor& f);

}  // namespace pretext::core::obj
