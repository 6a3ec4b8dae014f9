#pragma once
// Helpers for tests that train through the real TrainingJob (LibTorch-free headers).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "pretext/runs/events.h"
#include "pretext/train/training_job.h"

namespace pretext::test {

// Prepares a job; fails the test with every config issue when it cannot start.
inline std::unique_ptr<core::TrainingJob> prepareJob(const core::LaunchRequest& r) {
  std::vector<core::ConfigIssue> issues;
  std::string error;
  auto job = core::TrainingJob::prepare(r, issues, error);
  for (const auto& i : issues) UNSCOPED_INFO(i.toString());
  INFO(error);
  REQUIRE(job);
  return job;
}

inline core::LaunchRequest launchRequest(const std::string& root, const std::string& preset,
                                         std::vector<std::string> overrides = {},
                                         std::int64_t maxSteps = 0) {
  core::LaunchRequest r;
  r.configOrPreset = preset;
  r.runsRoot = root;
  r.overrides = std::move(overrides);
  r.maxSteps = maxSteps;
  return r;
}

// Runs a prepared job to its end on this thread, without events; returns the final status.
inline core::RunStatus runToEnd(core::TrainingJob& job) {
  core::ControlBlock control;
  core::NullSink sink;
  return job.run(control, sink);
}

}  // namespace pretext::test
