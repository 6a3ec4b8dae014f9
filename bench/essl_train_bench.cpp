// Training throughput of the default E-SSL3D preset (pillar encoder w 32, 64 x 64 BEV,
// batch 4 x 4096 points, PointInfoNCE on 1024 pairs, rotation EbC, scene-flow warp loss,
// EMA target, AdamW): steps and points per second for forward + backward + clip + update
// + EMA. The batches are real simulator batches made by the trainer's own code; they are
// written as .npy into OUT_DIR so bench/essl_train_bench.py trains the same model on the
// same data. Usage: essl_train_bench STEPS THREADS OUT_DIR
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "essl_batch.h"
#include "pretext/data/readers.h"
#include "pretext/runs/presets.h"
#include "pretext/train/tensor_allocator.h"
#include "pretext/train/training_job.h"

using namespace pretext::core;

namespace {
void save(const torch::Tensor& t, const std::string& path) {
  auto c = t.to(torch::kFloat).contiguous();
  std::vector<float> data(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  std::vector<std::size_t> shape;
  for (auto d : c.sizes()) shape.push_back(static_cast<std::size_t>(d));
  try {
    writeNpy(path, data, shape);
  } catch (const DataError& e) {
    std::fprintf(stderr, "essl_train_bench: %s\n", e.what());
    std::exit(1);
  }
}
}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 30, warmup = 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::string out = argc > 3 ? argv[3] : "/tmp/pretext-essl-bench";
  configureThreads(threads);
  const bool cached = configureAllocator();  // as TrainingJob::run; see lm_train_bench.cpp
  std::vector<ConfigIssue> issues;
  auto config = Config::parse(*presetText("default"), "default", {"data.prefetch=0"}, issues);
  if (!config) return 1;
  const essl::Plan plan = essl::makePlan(*config);
  LidarScanSource source(*config);
  std::vector<essl::Batch> batches;
  std::filesystem::create_directories(out);
  for (int k = 0; k < 4; ++k) {
    batches.push_back(essl::makeBatch(*config, plan, source, k));
    const auto& b = batches.back();
    const std::string p = out + "/b" + std::to_string(k) + "_";
    save(b.view1, p + "view1.npy");
    save(b.view2, p + "view2.npy");
    save(b.pairs, p + "pairs.npy");
    save(b.labels[essl::kRotation], p + "rot.npy");
    save(b.current, p + "current.npy");
    save(b.previous, p + "previous.npy");
    save(b.warped, p + "warped.npy");
  }
  const double s = essl::timeTrainingSteps(*config, batches, warmup, steps);
  const double points =
      static_cast<double>(batches[0].view1.size(0) * batches[0].view1.size(1) * 3);
  std::printf("cpp steps_per_sec %.3f points_per_sec %.0f threads %d allocator %s\n", steps / s,
              steps * points / s, torch::get_num_threads(), cached ? "cache" : "default");
  return 0;
}
