// Training throughput of the default attention-sink LM (2 layers, d 128, 4 heads, FFN 512,
// T 64, batch 32, softmax, learned positions, AdamW): tokens per second for
// forward + backward + optimizer step. bench/lm_train_bench.py runs the same model in
// Python PyTorch; scripts/bench.sh runs both and prints the ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "adamw.h"
#include "lm_model.h"
#include "pretext/train/tensor_allocator.h"
#include "pretext/train/training_job.h"

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 60, warmup = 10;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  // Usage: lm_train_bench [steps] [threads] [full|fwdbwd|noclip] [thread]
  // full | fwdbwd (no clip, no optimizer) | noclip (optimizer, no clip)
  const std::string mode = argc > 3 ? argv[3] : "full";
  // "thread": train on a second thread, as the GUI's trainer does (glibc gives it its own
  // arena, which the allocator setting must reach too).
  const bool onThread = argc > 4 && std::string(argv[4]) == "thread";
  pretext::core::configureThreads(threads);
  // The trainer's tensor cache (TrainingJob::run installs it too); PRETEXT_TENSOR_CACHE=0
  // leaves LibTorch's default allocator in place.
  const bool cached = pretext::core::configureAllocator();
  using namespace pretext::core::lm;
  ModelOptions o;  // vocab 66, d 128, 2 layers, 4 heads, FFN 512, context 64
  torch::manual_seed(0);
  TransformerLM model(o);
  // The trainer's optimizer (core/train/src/adamw.h): LibTorch's AdamW update, op for op.
  pretext::core::AdamW opt(model->parameters(), 1e-3, 0.1, 0.9, 0.95);
  const int B = 32, T = 64;
  auto tokens = torch::randint(0, o.vocab, {B, T + 1}, torch::kLong);
  auto step = [&] {
    auto logits = model->forward(tokens.narrow(1, 0, T));
    auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, o.vocab}),
                                                     tokens.narrow(1, 1, T).reshape({-1}));
    opt.zeroGrad();
    loss.backward();
    if (mode == "full") opt.clipGradNorm(1.0);
    if (mode != "fwdbwd") opt.step();
    return loss.item<double>();
  };
  double s = 0;
  auto run = [&] {
    for (int i = 0; i < warmup; ++i) step();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (onThread) {
    std::thread worker([&] {
      pretext::core::configureThreads(threads);  // intra-op threads are per thread
      run();
    });
    worker.join();
  } else {
    run();
  }
  std::printf("cpp tokens_per_sec %.0f steps_per_sec %.2f threads %d allocator %s\n",
              steps * B * T / s, steps / s, torch::get_num_threads(), cached ? "cache" : "default");
  return 0;
}
