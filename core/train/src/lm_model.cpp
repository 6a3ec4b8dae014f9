#include "lm_model.h"

#include <cmath>

namespace pretext::core::lm {

torch::Tensor visibilityMask(std::int64_t T, const AttentionOptions& o) {
  auto i = torch::arange(T, torch::kLong).unsqueeze(1);
  auto j = torch::arange(T, torch::kLong).unsqueeze(0);
  auto visible = j <= i;
  if (o.mask == "prefix") {
    // The first p tokens see each other both ways (prefix LM); the rest stay causal.
    visible = visible.logical_or((i < o.prefixLen).logical_and(j < o.prefixLen));
  } else if (o.mask == "sliding") {
    visible = visible.logical_and(j > i - o.window);
  }
  return visible;
}

torch::Tensor alibiBias(std::int64_t heads, std::int64_t T) {
  auto slopes = torch::pow(
      2.0, -8.0 * (torch::arange(1, heads + 1, torch::kFloat) / static_cast<double>(heads)));
  auto dist =
      (torch::arange(T, torch::kFloat).unsqueeze(1) - torch::arange(T, torch::kFloat).unsqueeze(0));
  return -slopes.view({heads, 1, 1}) * dist.clamp_min(0).unsqueeze(0);
}

torch::Tensor applyRope(const torch::Tensor& x) {
  const auto T = x.size(2), d = x.size(3);
  auto inv = torch::pow(10000.0,
                        -torch::arange(0, d, 2, torch::kFloat) / static_cast<double>(d));  // [d/2]
  auto ang = torch::arange(T, torch::kFloat).unsqueeze(1) * inv.unsqueeze(0);  // [T, d/2]
  auto c = torch::cos(ang), s = torch::sin(ang);
  auto pairs = x.reshape({x.size(0), x.size(1), T, d / 2, 2});
  auto xe = pairs.select(4, 0), xo = pairs.select(4, 1);
  return torch::stack({xe * c - xo * s, xe * s + xo * c}, 4).reshape(x.sizes());
}

std::pair<torch::Tensor, torch::Tensor> attend(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v, const torch::Tensor& visible,
                                               const std::string& kind, const torch::Tensor& bias) {
  auto s = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (bias.defined()) s = s + bias;
  torch::Tensor w;
  if (kind == "softmax") {
    w = torch::softmax(
        s.masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity()), -1);
  } else {
    auto m = visible.to(s.scalar_type());
    w = (kind.rfind("sigmoid", 0) == 0 ? torch::sigmoid(s) : torch::elu(s) + 1.0) * m;
    if (kind == "sigmoid_norm" || kind == "elu1_norm") w = w / (w.sum(-1, true) + 1e-8);
  }
  return {torch::matmul(w, v), w};
}

NormImpl::NormImpl(std::int64_t dim, bool r) : rms(r) {
  weight = register_parameter("weight", torch::ones({dim}));
  if (!rms) bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (rms) return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * weight;
  auto mu = x.mean(-1, true);
  auto var = (x - mu).pow(2).mean(-1, true);
  return (x - mu) * torch::rsqrt(var + 1e-5) * weight + bias;
}

BlockImpl::BlockImpl(std::int64_t d, std::int64_t h, std::int64_t ffn, bool rms,
                     const AttentionOptions& o)
    : heads(h), dHead(d / h), opt(o) {
  norm1 = register_module("norm1", Norm(d, rms));
  norm2 = register_module("norm2", Norm(d, rms));
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(false)));
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  fc1 = register_module("fc1", torch::nn::Linear(d, ffn));
  fc2 = register_module("fc2", torch::nn::Linear(ffn, d));
  if (o.hasSlot()) {
    const std::int64_t n = o.sinkPerHead ? h : 1;
    sinkK = register_parameter("sink_k", torch::randn({n, dHead}) * 0.02);
    // K bias: the slot's value is fixed at zero (a buffer, not trained); KV bias learns it.
    if (o.sink == "kv_bias")
      sinkV = register_parameter("sink_v", torch::zeros({n, dHead}));
    else
      sinkV = register_buffer("sink_v", torch::zeros({n, dHead}));
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& visible,
                                 const torch::Tensor& bias, Trace* trace) {
  const auto B = x.size(0), T = x.size(1), D = x.size(2);
  auto parts = qkv(norm1(x)).view({B, T, 3, heads, dHead}).permute({2, 0, 3, 1, 4});  // 3,B,H,T,d
  auto q = parts[0], k = parts[1], v = parts[2];
  if (opt.position == "rope") {
    q = applyRope(q);
    k = applyRope(k);
  }
  if (trace) {
    trace->q.push_back(q.detach());
    trace->k.push_back(k.detach());
    trace->v.push_back(v.detach());
  }
  torch::Tensor vis = visible, b = bias;
  if (opt.hasSlot()) {
    // The slot is key 0, visible to every query, with no positional term.
    k = torch::cat({sinkK.view({1, -1, 1, dHead}).expand({B, heads, 1, dHead}), k}, 2);
    v = torch::cat({sinkV.view({1, -1, 1, dHead}).expand({B, heads, 1, dHead}), v}, 2);
    vis = torch::cat({torch::ones({T, 1}, torch::kBool), visible}, 1);
    if (b.defined()) b = torch::cat({torch::zeros({b.size(0), T, 1}), b}, 2);
  }
  auto [out, w] = attend(q, k, v, vis, opt.kind, b);
  if (trace) trace->weights.push_back(w.detach());
  auto h = x + proj(out.transpose(1, 2).reshape({B, T, D}));
  return h + fc2(torch::gelu(fc1(norm2(h))));
}

TransformerLMImpl::TransformerLMImpl(const ModelOptions& o) : opt(o) {
  tok = register_module("tok", torch::nn::Embedding(o.vocab, o.dModel));
  if (o.attention.position == "learned")
    pos = register_module("pos", torch::nn::Embedding(o.context, o.dModel));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t l = 0; l < o.layers; ++l)
    blocks->push_back(Block(o.dModel, o.heads, o.ffn, o.rms, o.attention));
  normF = register_module("norm_f", Norm(o.dModel, o.rms));
  head = register_module(
      "head", torch::nn::Linear(torch::nn::LinearOptions(o.dModel, o.vocab).bias(false)));
  if (o.smallInit) {
    torch::NoGradGuard ng;
    for (auto& p : named_parameters())
      if (p.key().find("weight") != std::string::npos && p.value().dim() == 2)
        torch::nn::init::normal_(p.value(), 0.0, 0.02);
  }
}

torch::Tensor TransformerLMImpl::forward(const torch::Tensor& tokens, Trace* trace) {
  const auto T = tokens.size(1);
  auto x = tok(tokens);
  const auto& a = opt.attention;
  if (a.position == "learned") {
    x = x + pos(torch::arange(T, torch::kLong)).unsqueeze(0);
  } else if (a.position == "sinusoidal") {
    auto p = torch::arange(T, torch::kFloat).unsqueeze(1);
    auto div = torch::pow(
        10000.0, -torch::arange(0, opt.dModel, 2, torch::kFloat) / static_cast<double>(opt.dModel));
    auto pe = torch::zeros({T, opt.dModel});
    pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)},
                  torch::sin(p * div));
    pe.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)},
                  torch::cos(p * div).narrow(1, 0, opt.dModel / 2));
    x = x + pe.unsqueeze(0);
  }
  const auto visible = visibilityMask(T, a);
  const auto bias = a.position == "alibi" ? alibiBias(opt.heads, T) : torch::Tensor();
  for (auto& m : *blocks) x = m->as<Block>()->forward(x, visible, bias, trace);
  if (trace) trace->hidden = x.detach();
  return head(normF(x));
}

torch::Tensor proxyNormalize(const torch::Tensor& w) { return w / (w.sum(-1, true) + 1e-8); }

torch::Tensor alphaScores(const torch::Tensor& w, bool hasSlot) {
  auto real = hasSlot ? w.narrow(-1, 1, w.size(-1) - 1) : w;  // [..., T, T]
  const auto T = real.size(-2);
  // Queries i >= k see key k: T - k of them (0-indexed k), i.e. T - k + 1 for 1-indexed k.
  auto counts = (T - torch::arange(T, torch::kFloat));
  auto causal = (torch::arange(T).unsqueeze(0) <= torch::arange(T).unsqueeze(1)).to(torch::kFloat);
  return (real * causal).sum(-2) / counts;
}

torch::Tensor slotScores(const torch::Tensor& w) { return w.select(-1, 0).mean(-1); }

}  // namespace pretext::core::lm
