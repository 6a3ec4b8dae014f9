// The attention-sink experiment (experiment.kind = lm_sink, methods.md §2): a small
// decoder-only LM trained by next-token prediction, with the paper's sink metric
// (alpha_k, Sink_k^eps, proxy scores for unnormalised attention), massive-activation
// norms, q/k cosines, the function-token loss split (§4) and an optional Hutchinson
// trace-of-Hessian estimate, all on a fixed probe set.
#include <cmath>
#include <numeric>
#include <random>

#include "experiment.h"
#include "lm_data.h"
#include "lm_model.h"
#include "pretext/data/street_sim.h"  // mixSeed

namespace pretext::core {
namespace {

constexpr std::uint64_t kProbeSalt = 0x51A4C0DEull, kValSalt = 0x7A11DA7Aull, kFreqSalt = 0xF4E9ull;
constexpr std::int64_t kValSequences = 32;

lm::ModelOptions modelOptions(const Config& c, std::int64_t vocab) {
  lm::ModelOptions o;
  o.vocab = vocab;
  o.dModel = c.getInt("lm.d_model");
  o.layers = c.getInt("lm.layers");
  o.heads = c.getInt("lm.heads");
  o.ffn = c.getInt("lm.ffn");
  o.context = c.getInt("lm.context");
  o.rms = c.getString("lm.norm") == "rmsnorm";
  o.smallInit = c.getString("lm.init") == "small";
  o.attention.kind = c.getString("lm.attention");
  o.attention.sink = c.getString("lm.sink");
  o.attention.sinkPerHead = c.getBool("lm.sink_per_head");
  o.attention.position = c.getString("lm.position");
  o.attention.mask = c.getString("lm.mask");
  o.attention.prefixLen = static_cast<int>(c.getInt("lm.prefix_len"));
  o.attention.window = static_cast<int>(c.getInt("lm.window"));
  return o;
}

class LmSinkExperiment : public Experiment {
 public:
  explicit LmSinkExperiment(const Config& c) : config(c) {}

  void build() override {
    const auto seed = static_cast<std::uint64_t>(config.getInt("experiment.seed"));
    source = lm::makeTokenSource(config);
    T = config.getInt("lm.context");
    B = config.getInt("trainer.batch_size");
    torch::manual_seed(seed);
    model = lm::TransformerLM(modelOptions(config, source->vocabSize()));
    optimizer = std::make_unique<AdamW>(model->parameters(), config.getFloat("trainer.lr"),
                                        config.getFloat("trainer.weight_decay"), 0.9,
                                        config.getFloat("trainer.beta2"));
    valBatch = batch(kValSequences, mixSeed(seed, kValSalt), true);
    probe = batch(config.getInt("sink.probe_sequences"), mixSeed(seed, kProbeSalt), true)
                .narrow(1, 0, T);  // inputs only: T tokens
    // Function tokens: the most frequent tokens of a sample of the training stream.
    std::vector<std::int64_t> counts(static_cast<std::size_t>(source->vocabSize()), 0);
    auto sample = batch(256, mixSeed(seed, kFreqSalt), false);
    auto acc = sample.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < sample.size(0); ++i)
      for (std::int64_t j = 1; j < sample.size(1); ++j)
        ++counts[static_cast<std::size_t>(acc[i][j])];
    std::vector<std::int64_t> order(counts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return counts[a] > counts[b]; });
    isFunction = torch::zeros({source->vocabSize()}, torch::kBool);
    const auto k =
        std::min<std::int64_t>(config.getInt("sink.function_tokens"), source->vocabSize());
    for (std::int64_t i = 0; i < k; ++i) isFunction[order[static_cast<std::size_t>(i)]] = true;
    model->train();
  }

  // `n` sequences of T+1 tokens from a generator seeded with `seed`.
  torch::Tensor batch(std::int64_t n, std::uint64_t seed, bool validation) const {
    std::mt19937_64 rng(seed);
    auto out = torch::empty({n, T + 1}, torch::kLong);
    auto* p = out.data_ptr<std::int64_t>();
    const auto fixed = config.getInt("text.fixed_token_pos");
    for (std::int64_t i = 0; i < n; ++i) {
      auto s = source->sequence(rng, T + 1, validation);
      if (fixed > 0)
        s[static_cast<std::size_t>(source->withBos ? fixed : fixed - 1)] = source->pad();
      std::copy(s.begin(), s.end(), p + i * (T + 1));
    }
    return out;
  }

  torch::Tensor tokenLosses(const torch::Tensor& tokens, lm::Trace* trace = nullptr) {
    auto logits = model->forward(tokens.narrow(1, 0, T), trace);
    return torch::nn::functional::cross_entropy(
               logits.reshape({-1, logits.size(2)}), tokens.narrow(1, 1, T).reshape({-1}),
               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
        .view({tokens.size(0), T});
  }

  void trainStep(std::int64_t step, double lr, MetricWindow& window) override {
    // Every rank draws the step's whole global batch (token sampling costs microseconds)
    // and trains its shard, so the stream is the same for any world size.
    const auto [first, count] = shard(B);
    auto tokens = batch(B,
                        mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")),
                                static_cast<std::uint64_t>(step)),
                        false)
                      .narrow(0, first, count);
    optimizer->setLearningRate(lr);
    auto losses = tokenLosses(tokens);
    auto loss = losses.mean();
    const Update u = update(loss, step, *optimizer, config.getFloat("trainer.grad_clip"));
    window.add("loss/train", u.loss);
    window.add("loss/total", u.loss);
    window.add("train/grad_norm", u.gradNorm);
    // Function-token split (methods.md §4): share of the loss by (input -> target) class.
    torch::NoGradGuard ng;
    auto prevF = isFunction.index({tokens.narrow(1, 0, T)});
    auto nextF = isFunction.index({tokens.narrow(1, 1, T)});
    const double total = losses.sum().item<double>() + 1e-12;
    const std::pair<const char*, torch::Tensor> buckets[] = {{"FF", prevF & nextF},
                                                             {"FC", prevF & ~nextF},
                                                             {"CF", ~prevF & nextF},
                                                             {"CC", ~prevF & ~nextF}};
    for (const auto& [name, m] : buckets) {
      const double s = losses.masked_select(m).sum().item<double>();
      window.add(std::string("fn/share_") + name, 100.0 * s / total);
    }
  }

  Evaluation evaluate(std::int64_t step) override {
    Evaluation ev;
    model->eval();
    {
      torch::NoGradGuard ng;
      ev.metrics.push_back({"loss/val", tokenLosses(valBatch).mean().item<double>()});
      sinkDiagnostics(step, ev);
    }
    const auto every = config.getInt("sink.hessian_every");
    if (every > 0 && step > 0 && step % every == 0)
      ev.metrics.push_back({"diag/hessian_trace", hessianTrace(step)});
    model->train();
    return ev;
  }

  void sinkDiagnostics(std::int64_t step, Evaluation& ev) {
    lm::Trace trace;
    model->forward(probe, &trace);
    const auto& o = model->opt.attention;
    const bool slot = o.hasSlot();
    const double eps = config.getFloat("sink.epsilon");
    std::vector<torch::Tensor> alphas, slots;  // per layer: [N, H, T], [N, H]
    std::vector<torch::Tensor> used;           // the weights the metric sees, per layer
    for (auto& w : trace.weights) {
      auto m = o.normalized() ? w : lm::proxyNormalize(w);
      used.push_back(m);
      alphas.push_back(lm::alphaScores(m, slot));
      if (slot) slots.push_back(lm::slotScores(m));
    }
    auto alpha = torch::stack(alphas, 1);  // [N, L, H, T]
    auto rate = [&](const torch::Tensor& a /* [N, L, H] */) {
      return 100.0 * (a > eps).to(torch::kFloat).mean({1, 2}).mean().item<double>();
    };
    for (int k = 1; k <= 3 && k <= T; ++k)
      ev.metrics.push_back({"sink/sink" + std::to_string(k), rate(alpha.select(3, k - 1))});
    const auto fixed = config.getInt("text.fixed_token_pos");
    if (fixed > 0)
      ev.metrics.push_back(
          {"sink/sink_fixed", rate(alpha.select(3, source->withBos ? fixed : fixed - 1))});
    auto alpha1 = alpha.select(3, 0).mean(0);  // [L, H]
    ev.metrics.push_back({"sink/alpha1_mean", alpha1.mean().item<double>()});
    for (std::int64_t l = 0; l < alpha1.size(0); ++l)
      for (std::int64_t h = 0; h < alpha1.size(1); ++h)
        ev.metrics.push_back({"sink/alpha1/l" + std::to_string(l) + "h" + std::to_string(h),
                              alpha1[l][h].item<double>()});
    if (slot) {
      auto s = torch::stack(slots, 1);  // [N, L, H]
      ev.metrics.push_back({"sink/sink_slot", rate(s)});
      ev.metrics.push_back({"sink/alpha_slot_mean", s.mean().item<double>()});
    }
    // Massive activations: norms at the first position against the rest.
    auto hn = trace.hidden.norm(2, 2);  // [N, T]
    ev.metrics.push_back({"norm/h_first", hn.select(1, 0).mean().item<double>()});
    ev.metrics.push_back({"norm/h_rest", hn.narrow(1, 1, T - 1).mean().item<double>()});
    auto kn = trace.k.back().norm(2, 3), vn = trace.v.back().norm(2, 3);  // [N, H, T]
    ev.metrics.push_back({"norm/k_first", kn.select(2, 0).mean().item<double>()});
    ev.metrics.push_back({"norm/k_rest", kn.narrow(2, 1, T - 1).mean().item<double>()});
    ev.metrics.push_back({"norm/v_first", vn.select(2, 0).mean().item<double>()});
    ev.metrics.push_back({"norm/v_rest", vn.narrow(2, 1, T - 1).mean().item<double>()});
    // cos(q_t, k_1) against cos(q_t, k_j) for the other visible keys j, over all layers.
    double c1 = 0, cOther = 0;
    for (std::size_t l = 0; l < trace.q.size(); ++l) {
      namespace tf = torch::nn::functional;
      auto qn = tf::normalize(trace.q[l], tf::NormalizeFuncOptions().dim(3));
      auto knn = tf::normalize(trace.k[l], tf::NormalizeFuncOptions().dim(3));
      auto cos = torch::matmul(qn, knn.transpose(2, 3));  // [N, H, T, T]
      auto causal = (torch::arange(T).unsqueeze(0) <= torch::arange(T).unsqueeze(1));
      auto rows = cos.narrow(2, 1, T - 1);  // queries t >= 2 (1-indexed)
      auto vis = causal.narrow(0, 1, T - 1).to(torch::kFloat);
      c1 += rows.select(3, 0).mean().item<double>();
      auto others = vis.clone();
      others.select(1, 0).zero_();
      cOther += ((rows * others).sum({2, 3}) / others.sum()).mean().item<double>();
    }
    ev.metrics.push_back({"sink/cos_q_k1", c1 / static_cast<double>(trace.q.size())});
    ev.metrics.push_back({"sink/cos_q_kother", cOther / static_cast<double>(trace.q.size())});

    // Snapshot of the first probe sequence's attention maps.
    auto snap = std::make_shared<AttentionSnapshot>();
    snap->step = step;
    snap->layers = static_cast<int>(used.size());
    snap->heads = static_cast<int>(used[0].size(1));
    snap->queries = static_cast<int>(T);
    snap->keys = static_cast<int>(used[0].size(3));
    snap->hasSinkSlot = slot;
    auto maps = torch::stack(used, 0).select(1, 0).contiguous();  // [L, H, T, Tk]
    snap->maps.assign(maps.data_ptr<float>(), maps.data_ptr<float>() + maps.numel());
    auto a1 = alpha1.contiguous();
    snap->alpha1.assign(a1.data_ptr<float>(), a1.data_ptr<float>() + a1.numel());
    auto h0 = hn.select(0, 0).contiguous();
    snap->hiddenNorm.assign(h0.data_ptr<float>(), h0.data_ptr<float>() + h0.numel());
    auto toks = probe.select(0, 0);
    for (std::int64_t t = 0; t < T; ++t)
      snap->tokens.push_back(source->tokenText(toks[t].item<std::int64_t>()));
    ev.attention = snap;
  }

  // Hutchinson: tr(H) ~ mean over Rademacher v of v^T H v, with H v by double backward.
  double hessianTrace(std::int64_t step) {
    auto params = model->parameters();
    auto loss = tokenLosses(valBatch).mean();
    auto grads =
        torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, /*create_graph=*/true);
    std::mt19937_64 rng(
        mixSeed(static_cast<std::uint64_t>(config.getInt("experiment.seed")) ^ 0x4E55ull,
                static_cast<std::uint64_t>(step)));
    std::bernoulli_distribution coin(0.5);
    const auto samples = config.getInt("sink.hessian_samples");
    double sum = 0;
    for (std::int64_t s = 0; s < samples; ++s) {
      std::vector<torch::Tensor> vs;
      auto gv = torch::zeros({});
      for (std::size_t i = 0; i < params.size(); ++i) {
        auto v = torch::empty_like(params[i]);
        auto* p = v.data_ptr<float>();
        for (std::int64_t j = 0; j < v.numel(); ++j) p[j] = coin(rng) ? 1.0f : -1.0f;
        gv = gv + (grads[i] * v).sum();
        vs.push_back(v);
      }
      auto hv = torch::autograd::grad({gv}, params, {}, /*retain_graph=*/true);
      double vhv = 0;
      for (std::size_t i = 0; i < params.size(); ++i) vhv += (hv[i] * vs[i]).sum().item<double>();
      sum += vhv;
    }
    return sum / static_cast<double>(samples);
  }

  void save(const std::string& dir) override { saveModelAndOptimizer(dir, model, *optimizer); }
  void load(const std::string& dir) override { loadModelAndOptimizer(dir, model, *optimizer); }
  std::vector<torch::Tensor> stateTensors() override { return parametersAndBuffers(model); }
  double itemsPerStep() const override { return static_cast<double>(B * T); }
  const char* itemName() const override { return "tokens"; }

 private:
  Config config;
  std::unique_ptr<lm::TokenSource> source;
  std::int64_t T = 64, B = 32;
  lm::TransformerLM model{nullptr};
  std::unique_ptr<AdamW> optimizer;
  torch::Tensor valBatch, probe, isFunction;
};

}  // namespace

std::unique_ptr<Experiment> makeLmSinkExperiment(const Config& config) {
  return std::make_unique<LmSinkExperiment>(config);
}

}  // namespace pretext::core
