// Reproduction at CPU scale (methods.md §2.5-2.6): on Bigram-Backcopy a 2-layer softmax LM
// develops an attention sink on the first token, sigmoid attention without normalisation
// does not, at a validation loss within 5 % of the softmax run. Slow label: ~2-3 minutes.
#include <catch2/catch.hpp>

#include "pretext/core/events.h"
#include "pretext/core/run_dir.h"
#include "pretext/core/training_job.h"
#include "test_util.h"

using namespace pretext::core;

namespace {
struct Final {
  double sink1, alpha1, valLoss;
};

Final train(const std::string& preset, std::int64_t steps, const std::string& root) {
  LaunchRequest r;
  r.configOrPreset = preset;
  r.runsRoot = root;
  r.maxSteps = steps;
  std::vector<ConfigIssue> issues;
  std::string error;
  auto job = TrainingJob::prepare(r, issues, error);
  REQUIRE(job);
  ControlBlock control;
  NullSink sink;
  REQUIRE(job->run(control, sink).phase == RunPhase::Finished);
  auto acc = readMetrics(job->runDir());
  return {acc.series().at("sink/sink1").back().value, acc.series().at("sink/alpha1_mean").back().value,
          acc.series().at("loss/val").back().value};
}
}  // namespace

TEST_CASE("softmax attention sinks on the first token, sigmoid without normalisation does not",
          "[sink][slow]") {
  configureThreads(0);
  pretext::test::TempDir root;
  const std::int64_t steps = 600;
  Final soft = train("sink-backcopy-softmax", steps, root.str());
  Final sig = train("sink-backcopy-sigmoid", steps, root.str());
  INFO("softmax: Sink_1 " << soft.sink1 << " %, alpha_1 " << soft.alpha1 << ", val loss " << soft.valLoss);
  INFO("sigmoid: Sink_1 " << sig.sink1 << " %, alpha_1 " << sig.alpha1 << ", val loss " << sig.valLoss);
  CHECK(soft.sink1 >= 30.0);
  CHECK(sig.sink1 < 1.0);
  CHECK(std::abs(sig.valLoss - soft.valLoss) <= 0.05 * soft.valLoss);
}
