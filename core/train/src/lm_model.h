#pragma once
// Private to core (LibTorch): a small pre-norm decoder-only transformer with explicit
// attention (LibTorch 1.13 has no fused attention, and the maps are needed anyway) and the
// variants of methods.md §2.2. Trainer thread only.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace pretext::core::lm {

struct AttentionOptions {
  std::string kind = "softmax";  // softmax | sigmoid | sigmoid_norm | elu1 | elu1_norm
  std::string sink = "none";     // none | k_bias | kv_bias
  bool sinkPerHead = false;
  std::string position = "learned";  // none | sinusoidal | learned | rope | alibi
  std::string mask = "causal";       // causal | prefix | sliding
  int prefixLen = 8;
  int window = 16;
  bool normalized() const {
    return kind == "softmax" || kind == "sigmoid_norm" || kind == "elu1_norm";
  }
  bool hasSlot() const { return sink != "none"; }
};

// [T, T] bool, true where query i may see key j.
torch::Tensor visibilityMask(std::int64_t T, const AttentionOptions& o);
// ALiBi bias [H, T, T]: -m_h * (i - j), slopes m_h = 2^(-8 (h+1) / H).
torch::Tensor alibiBias(std::int64_t heads, std::int64_t T);
// Rotates pairs (2i, 2i+1) of the last dimension by angle pos * 10000^(-2i/d).
torch::Tensor applyRope(const torch::Tensor& x /* [B, H, T, d] */);

// The attention operation on prepared inputs. q [B,H,T,d], k/v [B,H,Tk,d], visible [T,Tk]
// (bool), bias [H,T,Tk] or undefined. Returns the output [B,H,T,d] and the weights
// [B,H,T,Tk] as applied (unnormalised for sigmoid/elu1).
std::pair<torch::Tensor, torch::Tensor> attend(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v, const torch::Tensor& visible,
                                               const std::string& kind,
                                               const torch::Tensor& bias = {});

// What a forward pass exposes for diagnostics.
struct Trace {
  std::vector<torch::Tensor> weights;  // per layer [B, H, T, Tk] (Tk = T + 1 with a slot)
  std::vector<torch::Tensor> q, k, v;  // per layer [B, H, T, d] (after RoPE; real tokens only)
  torch::Tensor hidden;                // last block's output [B, T, d_model]
};

struct NormImpl : torch::nn::Module {
  NormImpl(std::int64_t dim, bool rms);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  bool rms;
};
TORCH_MODULE(Norm);

struct BlockImpl : torch::nn::Module {
  BlockImpl(std::int64_t d, std::int64_t heads, std::int64_t ffn, bool rms,
            const AttentionOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& visible,
                        const torch::Tensor& bias, Trace* trace);
  std::int64_t heads, dHead;
  AttentionOptions opt;
  Norm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::Tensor sinkK, sinkV;  // [1 or H, d_head]
};
TORCH_MODULE(Block);

struct ModelOptions {
  std::int64_t vocab = 66, dModel = 128, layers = 2, heads = 4, ffn = 512, context = 64;
  bool rms = true;
  bool smallInit = false;  // N(0, 0.02) weights (GPT-2 style) instead of PyTorch defaults
  AttentionOptions attention;
};

struct TransformerLMImpl : torch::nn::Module {
  explicit TransformerLMImpl(const ModelOptions& o);
  // tokens [B, T] (T <= context) -> logits [B, T, vocab]
  torch::Tensor forward(const torch::Tensor& tokens, Trace* trace = nullptr);
  ModelOptions opt;
  torch::nn::Embedding tok{nullptr}, pos{nullptr};
  torch::nn::ModuleList blocks;
  Norm normF{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(TransformerLM);

// ---- sink metrics (methods.md §2.1) ----------------------------------------------------

// Row-normalises unnormalised weights for the proxy score: A / (rowsum + 1e-8).
torch::Tensor proxyNormalize(const torch::Tensor& w);
// alpha_k for every key k of the real tokens: (1/(T-k+1)) sum_{i>=k} A[i,k] (1-indexed),
// i.e. column k summed over the queries that can see it, divided by their count.
// w [..., T, Tk]; with a slot, key 0 is the slot and is skipped. Returns [..., T].
torch::Tensor alphaScores(const torch::Tensor& w, bool hasSlot);
// Mean attention to the sink slot over all queries: [..., T, T+1] -> [...].
torch::Tensor slotScores(const torch::Tensor& w);

}  // namespace pretext::core::lm
