// Attention variants, masks, positional encodings and the sink metric on hand-computed
// inputs (methods.md §2.1-2.2).
// LibTorch's headers bring glog, whose CHECK macro would replace Catch's: include them
// first so catch.hpp defines CHECK last.
#include "adamw.h"
#include "lm_data.h"
#include "lm_model.h"
// clang-format off
#include <catch2/catch.hpp>
// clang-format on
#include <cmath>

using namespace pretext::core;
using namespace pretext::core::lm;

namespace {
AttentionOptions causal() { return AttentionOptions{}; }
double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

TEST_CASE("every attention variant matches a hand-computed 1-head example", "[lm]") {
  // d = 1: q = [1, 2], k = [1, -1], v = [10, 20]; scores s_ij = q_i k_j (sqrt(d) = 1).
  auto q = torch::tensor({1.0f, 2.0f}).view({1, 1, 2, 1});
  auto k = torch::tensor({1.0f, -1.0f}).view({1, 1, 2, 1});
  auto v = torch::tensor({10.0f, 20.0f}).view({1, 1, 2, 1});
  auto vis = visibilityMask(2, causal());
  // Row 0 sees key 0 only (s = 1); row 1 sees both (s = 2, -2).
  const double e2 = std::exp(2.0), em2 = std::exp(-2.0);
  SECTION("softmax") {
    auto [out, w] = attend(q, k, v, vis, "softmax");
    CHECK(w[0][0][0][0].item<double>() == Approx(1.0));
    CHECK(w[0][0][0][1].item<double>() == Approx(0.0));
    CHECK(w[0][0][1][0].item<double>() == Approx(e2 / (e2 + em2)));
    CHECK(out[0][0][1][0].item<double>() == Approx((10 * e2 + 20 * em2) / (e2 + em2)));
  }
  SECTION("sigmoid without normalisation: no bias, no division, masked entries zero") {
    auto [out, w] = attend(q, k, v, vis, "sigmoid");
    CHECK(w[0][0][0][0].item<double>() == Approx(sig(1)));
    CHECK(w[0][0][0][1].item<double>() == 0.0);
    CHECK(out[0][0][1][0].item<double>() == Approx(10 * sig(2) + 20 * sig(-2)));
  }
  SECTION("sigmoid normalised") {
    auto [out, w] = attend(q, k, v, vis, "sigmoid_norm");
    CHECK(w[0][0][1][0].item<double>() == Approx(sig(2) / (sig(2) + sig(-2) + 1e-8)));
    CHECK(w[0][0][0][0].item<double>() == Approx(1.0).epsilon(1e-6));
  }
  SECTION("elu+1, with and without normalisation") {
    auto elu1 = [](double x) { return x > 0 ? x + 1 : std::exp(x); };
    auto [o1, w1] = attend(q, k, v, vis, "elu1");
    CHECK(w1[0][0][1][1].item<double>() == Approx(elu1(-2)));
    CHECK(o1[0][0][1][0].item<double>() == Approx(10 * elu1(2) + 20 * elu1(-2)));
    auto [o2, w2] = attend(q, k, v, vis, "elu1_norm");
    CHECK(w2[0][0][1][0].item<double>() == Approx(elu1(2) / (elu1(2) + elu1(-2))).epsilon(1e-6));
  }
}

TEST_CASE("masks: causal, prefix-LM and sliding window", "[lm]") {
  auto c = visibilityMask(4, causal());
  CHECK(c.equal(torch::tensor({1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1})
                    .view({4, 4})
                    .to(torch::kBool)));
  AttentionOptions p;
  p.mask = "prefix";
  p.prefixLen = 2;
  CHECK(visibilityMask(4, p).equal(torch::tensor({1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1})
                                       .view({4, 4})
                                       .to(torch::kBool)));
  AttentionOptions s;
  s.mask = "sliding";
  s.window = 2;
  CHECK(visibilityMask(4, s).equal(torch::tensor({1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1})
                                       .view({4, 4})
                                       .to(torch::kBool)));
}

TEST_CASE("causal masking: changing a future token never changes earlier outputs", "[lm]") {
  for (std::string kind : {"softmax", "sigmoid", "sigmoid_norm", "elu1", "elu1_norm"}) {
    for (std::string pos : {"learned", "rope", "alibi", "sinusoidal", "none"}) {
      INFO(kind << " / " << pos);
      ModelOptions o;
      o.vocab = 20;
      o.dModel = 16;
      o.heads = 2;
      o.ffn = 32;
      o.context = 8;
      o.attention.kind = kind;
      o.attention.position = pos;
      torch::manual_seed(1);
      TransformerLM m(o);
      auto a = torch::tensor({{1, 2, 3, 4, 5, 6, 7, 8}}, torch::kLong);
      auto b = a.clone();
      b[0][7] = 19;
      torch::NoGradGuard ng;
      auto la = m->forward(a), lb = m->forward(b);
      CHECK(torch::allclose(la.narrow(1, 0, 7), lb.narrow(1, 0, 7), 1e-5, 1e-6));
      CHECK_FALSE(torch::allclose(la.narrow(1, 7, 1), lb.narrow(1, 7, 1)));
    }
  }
}

TEST_CASE("RoPE makes q.k depend only on the relative position and keeps norms", "[lm]") {
  torch::manual_seed(3);
  auto qv = torch::randn({8}), kv = torch::randn({8});
  // Place the same q and k vectors at every position of a length-12 sequence.
  auto q = qv.view({1, 1, 1, 8}).expand({1, 1, 12, 8}).contiguous();
  auto k = kv.view({1, 1, 1, 8}).expand({1, 1, 12, 8}).contiguous();
  auto rq = applyRope(q), rk = applyRope(k);
  CHECK(torch::allclose(rq.norm(2, 3), q.norm(2, 3), 1e-5));
  auto dot = [&](int i, int j) { return (rq[0][0][i] * rk[0][0][j]).sum().item<double>(); };
  CHECK(dot(5, 2) == Approx(dot(9, 6)).epsilon(1e-4));
  CHECK(dot(3, 3) == Approx(dot(11, 11)).epsilon(1e-4));
  CHECK(dot(0, 0) ==
        Approx((qv * kv).sum().item<double>()).epsilon(1e-5));  // position 0 is not rotated
}

TEST_CASE("ALiBi: zero on the diagonal, linear in distance, steeper for the first heads", "[lm]") {
  auto b = alibiBias(4, 5);
  CHECK(b[2][3][3].item<double>() == 0.0);
  const double m0 = std::pow(2.0, -2.0);  // 2^(-8*1/4)
  CHECK(b[0][4][1].item<double>() == Approx(-3 * m0));
  CHECK(b[0][4][2].item<double>() == Approx(-2 * m0));
  CHECK(b[3][4][0].item<double>() == Approx(-4 * std::pow(2.0, -8.0)));
}

TEST_CASE("alpha_k divides column k by the T-k+1 queries that see it", "[lm][sink]") {
  // T = 3 causal map with known columns.
  auto w = torch::tensor({1.0f, 0.0f, 0.0f,  //
                          0.6f, 0.4f, 0.0f,  //
                          0.5f, 0.2f, 0.3f})
               .view({3, 3});
  auto a = alphaScores(w, false);
  CHECK(a[0].item<double>() == Approx((1.0 + 0.6 + 0.5) / 3));
  CHECK(a[1].item<double>() == Approx((0.4 + 0.2) / 2));
  CHECK(a[2].item<double>() == Approx(0.3 / 1));
  // Entries above the diagonal (a prefix-LM map) do not count for alpha_k.
  auto p = w.clone();
  p[0][1] = 0.5;
  CHECK(alphaScores(p, false)[1].item<double>() == Approx(0.3));
}

TEST_CASE("the proxy score row-normalises unnormalised weights", "[lm][sink]") {
  auto w = torch::tensor({0.2f, 0.0f, 0.3f, 0.1f}).view({2, 2});
  auto p = proxyNormalize(w);
  CHECK(p[0][0].item<double>() == Approx(1.0).epsilon(1e-6));
  CHECK(p[1][0].item<double>() == Approx(0.75).epsilon(1e-6));
  CHECK(p[1][1].item<double>() == Approx(0.25).epsilon(1e-6));
  CHECK(torch::isfinite(proxyNormalize(torch::zeros({2, 2}))).all().item<bool>());  // all-zero rows
}

TEST_CASE("the K-bias slot receives attention and contributes a zero value", "[lm][sink]") {
  ModelOptions o;
  o.vocab = 10;
  o.dModel = 8;
  o.heads = 2;
  o.ffn = 16;
  o.context = 6;
  o.layers = 1;
  o.attention.sink = "k_bias";
  torch::manual_seed(0);
  TransformerLM m(o);
  auto* block = m->blocks[0]->as<Block>();
  REQUIRE(block->sinkK.defined());
  CHECK(block->sinkV.abs().sum().item<double>() == 0.0);
  // The zero value is a buffer, not a parameter: training cannot change it.
  bool vIsParam = false;
  for (auto& p : m->named_parameters()) vIsParam |= p.key().find("sink_v") != std::string::npos;
  CHECK_FALSE(vIsParam);
  // Make the slot's key dominate: every query then attends mostly to the slot ...
  {
    torch::NoGradGuard ng;
    block->sinkK.fill_(0);
  }
  Trace trace;
  torch::NoGradGuard ng;
  m->forward(torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong), &trace);
  auto w = trace.weights[0];  // [1, H, 6, 7]
  REQUIRE(w.size(3) == 7);
  CHECK(torch::allclose(w.sum(-1), torch::ones({1, 2, 6}), 1e-5));
  CHECK((w.select(3, 0) > 0).all().item<bool>());
  CHECK(slotScores(w).min().item<double>() > 0.1);
  // ... and attention on the slot adds nothing: a direct check of attend() with v* = 0.
  auto q = torch::randn({1, 1, 3, 4}), k = torch::randn({1, 1, 4, 4});
  auto v = torch::randn({1, 1, 4, 4});
  v[0][0][0].zero_();
  auto vis = torch::cat({torch::ones({3, 1}, torch::kBool), visibilityMask(3, causal())}, 1);
  auto [out, wt] = attend(q, k, v, vis, "softmax");
  auto manual = torch::matmul(wt.narrow(3, 1, 3), v.narrow(2, 1, 3));
  CHECK(torch::allclose(out, manual, 1e-5));
}

TEST_CASE("Bigram-Backcopy: the token after a trigger copies the one before it", "[lm][data]") {
  BackcopySource src(64, 3, 0.2, 0.2, 7);
  std::mt19937_64 rng(1);
  int triggers = 0;
  for (int n = 0; n < 50; ++n) {
    auto s = src.sequence(rng, 65, false);
    REQUIRE(s[0] == src.bos());
    CHECK_FALSE(src.isTrigger(s[1]));
    for (std::size_t t = 2; t < s.size(); ++t) {
      REQUIRE(s[t] >= 0);
      REQUIRE(s[t] < 64);
      if (src.isTrigger(s[t - 1])) {
        ++triggers;
        CHECK(s[t] == s[t - 2]);
      }
    }
  }
  CHECK(triggers > 300);  // ~0.2 * 0.8 of positions: the rule was exercised
  CHECK(src.vocabSize() == 66);
  CHECK(src.tokenText(src.bos()) == "<bos>");
  CHECK(src.tokenText(62) == "T1");
}

TEST_CASE("the embedded corpus and the char tokenizer", "[lm][data]") {
  auto text = embeddedCorpus();
  REQUIRE(text.size() == 1115394);
  CHECK(text.substr(0, 14) == "First Citizen:");
  CorpusSource chars(text, false);
  CHECK(chars.vocabSize() == 65 + 2);
  CorpusSource bytes(text, true);
  CHECK(bytes.vocabSize() == 256 + 2);
  std::mt19937_64 rng(0);
  auto s = chars.sequence(rng, 20, true);
  CHECK(s[0] == chars.bos());
  CHECK_THROWS_WITH(CorpusSource("too short", false), Catch::Contains("too small"));
}

TEST_CASE("Pretext's AdamW and gradient clipping match LibTorch's exactly", "[lm][optim]") {
  ModelOptions o;
  o.vocab = 12;
  o.dModel = 16;
  o.heads = 2;
  o.ffn = 32;
  o.context = 8;
  torch::manual_seed(5);
  TransformerLM a(o);
  torch::manual_seed(5);
  TransformerLM b(o);
  AdamW mine(a->parameters(), 3e-3, 0.1, 0.9, 0.95);
  torch::optim::AdamW ref(b->parameters(),
                          torch::optim::AdamWOptions(3e-3).weight_decay(0.1).betas({0.9, 0.95}));
  auto tokens = torch::randint(0, 12, {4, 9}, torch::kLong);
  for (int s = 0; s < 6; ++s) {
    auto lossA = torch::nn::functional::cross_entropy(
        a->forward(tokens.narrow(1, 0, 8)).reshape({-1, 12}), tokens.narrow(1, 1, 8).reshape({-1}));
    auto lossB = torch::nn::functional::cross_entropy(
        b->forward(tokens.narrow(1, 0, 8)).reshape({-1, 12}), tokens.narrow(1, 1, 8).reshape({-1}));
    mine.zeroGrad();
    ref.zero_grad();
    lossA.backward();
    lossB.backward();
    const double na = mine.clipGradNorm(0.5);  // small: clipping is active
    const double nb = torch::nn::utils::clip_grad_norm_(b->parameters(), 0.5);
    CHECK(na == nb);
    mine.step();
    ref.step();
  }
  auto pa = a->parameters(), pb = b->parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(torch::equal(pa[i], pb[i]));
}
