#pragma once
// Prepares and runs one training run. The header is LibTorch-free so the GUI can include
// it; the model lives behind a pimpl.
//
// prepare() validates everything before touching the disk, so an invalid request never
// leaves a run folder behind. run() trains on the calling thread (the GUI calls it from
// its trainer thread, the CLI from main) and never throws.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pretext/runs/config.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_types.h"
#include "pretext/train/distributed.h"

namespace pretext::core {

struct LaunchRequest {
  std::string configOrPreset;  // new run: a YAML file or a preset name
  std::vector<std::string> overrides;
  std::string runsRoot = "runs";
  std::string resumeDir;       // non-empty: continue this run instead of starting one
  std::int64_t maxSteps = 0;   // > 0: trainer.max_steps for a new run, new target on resume
  std::int64_t untilStep = 0;  // > 0: stop (resumable) once this step is reached
  // world > 1: this process is one rank of a data-parallel run (readDistributedEnv).
  // trainer.batch_size is the global batch; each rank trains batch_size / world examples.
  DistributedEnv distributed;
};

class TrainingJob {
 public:
  // On invalid configuration returns nullptr with `issues` filled (exit code 2 in the CLI);
  // on other failures (unwritable folder, unreadable checkpoint) nullptr with `error` set.
  static std::unique_ptr<TrainingJob> prepare(const LaunchRequest& request,
                                              std::vector<ConfigIssue>& issues, std::string& error);
  ~TrainingJob();

  const std::string& runDir() const;
  // The configuration this job trains with. On resume that is config.yaml with the
  // checkpoint's mid-run changes (state.json "live_overrides") applied.
  const Config& config() const;
  // On resume, those mid-run changes as "key=value" (formatted as config.yaml has them);
  // empty for a new run.
  const std::vector<std::string>& resumedOverrides() const;
  std::int64_t startStep() const;   // 0 for a new run, the checkpoint step on resume
  std::int64_t targetStep() const;  // the step this invocation stops at
  int rank() const;                 // 0 unless data parallel
  int worldSize() const;            // 1 unless data parallel

  // Trains until the target, a stop request or a failure. Writes the run directory and
  // reports to `sink`. Returns the final status (Finished, Stopped or Failed).
  RunStatus run(ControlBlock& control, EventSink& sink);

  struct Impl;  // opaque (core/train/src/training_job.cpp)

 private:
  explicit TrainingJob(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Sets LibTorch's intra-op threads (0 = all cores). Debian's LibTorch defaults to 1; the
// binaries call configureThreads(0) at start-up, and TrainingJob::run applies
// trainer.threads.
void configureThreads(int threads);

// Reads and compares the model weights of two checkpoints (for tests and tools):
// the largest absolute difference over all parameters, or -1 if the names/shapes differ.
double maxWeightDifference(const std::string& checkpointDirA, const std::string& checkpointDirB,
                           std::string& error);

}  // namespace pretext::core
