// The caching CPU tensor allocator (core/train/src/tensor_allocator.cpp).
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "pretext/runs/run_dir.h"
#include "pretext/train/tensor_allocator.h"
#include "pretext/train/training_job.h"
#include "test_util.h"
#include "train_util.h"

using namespace pretext::core;

TEST_CASE("Tensor cache reuses freed large blocks and returns them on release", "[allocator]") {
  REQUIRE(configureAllocator());
  REQUIRE(configureAllocator());  // idempotent
  releaseFreeMemory();
  const auto s0 = allocatorStats();
  CHECK(s0.cachedBytes == 0);

  void* first = nullptr;
  {
    auto t = torch::ones({256, 1024});  // 1 MiB
    first = t.data_ptr();
    CHECK(allocatorStats().misses == s0.misses + 1);
    CHECK(allocatorStats().liveBytes == s0.liveBytes + (1u << 20));
  }
  CHECK(allocatorStats().cachedBytes == (1u << 20));
  CHECK(allocatorStats().liveBytes == s0.liveBytes);
  {
    // Same size again: the same block, from the cache; its old contents do not leak into
    // a tensor that is filled.
    auto t = torch::full({256, 1024}, 2.0f);
    CHECK(t.data_ptr() == first);
    CHECK(allocatorStats().hits == s0.hits + 1);
    CHECK(t.sum().item<double>() == 2.0 * 256 * 1024);
  }
  {
    auto small = torch::empty({64, 1024});  // 256 KiB: the 1 MiB block wastes too much
    CHECK(small.data_ptr() != first);
    CHECK(allocatorStats().misses == s0.misses + 2);
    auto near = torch::empty({250, 1024});  // within 25 %: takes the 1 MiB block
    CHECK(near.data_ptr() == first);
  }
  // Small and empty tensors bypass the cache.
  const auto before = allocatorStats();
  auto tiny = torch::arange(10, torch::kFloat);
  auto none = torch::empty({0});
  CHECK(tiny.sum().item<double>() == 45.0);
  CHECK(none.numel() == 0);
  CHECK(allocatorStats().misses == before.misses);
  CHECK(allocatorStats().hits == before.hits);
  // LibTorch's raw interface (data pointer == context) works through the same deleter.
  auto* alloc = c10::GetCPUAllocator();
  void* raw = alloc->raw_allocate(1 << 20);
  REQUIRE(raw != nullptr);
  alloc->raw_deallocate(raw);

  releaseFreeMemory();
  CHECK(allocatorStats().cachedBytes == 0);
}

TEST_CASE("Tensor cache is safe across threads", "[allocator]") {
  REQUIRE(configureAllocator());
  releaseFreeMemory();
  const auto live0 = allocatorStats().liveBytes;
  std::vector<std::thread> threads;
  std::vector<double> sums(4, 0.0);
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([w, &sums] {
      for (int i = 0; i < 200; ++i) {
        auto a = torch::full({(w + 1) * 64 + i % 7, 1024}, 1.0f);
        auto b = a * 2;  // allocates while other threads free
        sums[w] += b.sum().item<double>() / 2 - static_cast<double>(a.numel());
      }
    });
  for (auto& t : threads) t.join();
  for (double s : sums) CHECK(s == 0.0);
  CHECK(allocatorStats().liveBytes == live0);
  CHECK(allocatorStats().hits > 0);
  releaseFreeMemory();
  CHECK(allocatorStats().cachedBytes == 0);
}

TEST_CASE("A finished training job leaves nothing in the tensor cache", "[allocator]") {
  pretext::test::TempDir dir;
  {
    auto job = pretext::test::prepareJob(
        pretext::test::launchRequest(dir.str(), "sink-backcopy-softmax", {}, 6));
    const auto st = pretext::test::runToEnd(*job);
    CHECK(st.error.empty());
    CHECK(allocatorStats().hits > 0);  // the steps reused blocks
  }
  CHECK(allocatorStats().cachedBytes == 0);
}

TEST_CASE("Training reads no tensor memory before writing it", "[allocator]") {
  // Fresh pages from the kernel are zero, reused cached blocks are not: a kernel or a
  // piece of our code that read memory before writing it would have been deterministic
  // before the cache and not after. Poisoned, every tensor starts as NaN bytes; the runs
  // must still equal runs on LibTorch's own allocator to the bit.
  namespace fs = std::filesystem;
  pretext::test::TempDir dir;
  for (const std::string preset : {"quick-test", "sink-backcopy-softmax", "essl-full"}) {
    INFO(preset);
    std::string runs[2];
    for (int poisoned = 0; poisoned < 2; ++poisoned) {
      const std::string out = dir / (preset + std::to_string(poisoned));
      const auto r = pretext::test::runCommand(
          std::string("PRETEXT_TENSOR_CACHE=") + (poisoned ? "poison " : "0 ") + PRETEXT_TRAIN_EXE +
          " " + preset + " --quiet --out " + out +
          " --max-steps 3 --set trainer.snapshot_every=3 --set trainer.log_every=1");
      INFO(r.output);
      REQUIRE(r.code == 0);
      for (const auto& e : fs::directory_iterator(out)) runs[poisoned] = e.path().string();
    }
    std::string err;
    const double diff = maxWeightDifference(runs[0] + "/checkpoints/step_000000003",
                                            runs[1] + "/checkpoints/step_000000003", err);
    INFO(err);
    CHECK(diff == 0.0);
    const auto a = readMetrics(runs[0]).series(), b = readMetrics(runs[1]).series();
    for (const auto& [key, points] : a) {
      if (key.rfind("perf/", 0) == 0) continue;  // timings
      INFO(key);
      REQUIRE(b.count(key));
      REQUIRE(points.size() == b.at(key).size());
      for (std::size_t i = 0; i < points.size(); ++i) CHECK(points[i].value == b.at(key)[i].value);
    }
  }
}
