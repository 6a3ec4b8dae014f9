#pragma once
// Study runner: trains a grid of arms x seeds one after another and summarises chosen
// metrics into summary.csv, summary.md and one SVG plot per metric (core's line plot,
// pretext/runs/plot.h, the same layout as the figure export). LibTorch-free header; runs on
// the calling thread.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pretext::core {

struct StudyArm {
  std::string label;
  std::string preset;
  std::vector<std::string> overrides;
  // Label of a pre-training arm of the study: its run directory becomes downstream.init.
  std::string init;
  // For the summary plot over an arm parameter (e.g. the label fraction): arms of one group
  // form one curve, x is their position on it. Empty group: not plotted.
  std::string group;
  double x = 0;
};

struct Study {
  std::string name;
  std::string description;
  std::vector<StudyArm> arms;
  std::vector<std::string> keys;  // metrics summarised (final value of each run)
  std::int64_t steps = 0;         // 0: each preset's own trainer.max_steps
  std::vector<std::int64_t> seeds{0};
  // Trained once each (seed 0, their own max_steps) before the arms; arms name them in init.
  std::vector<StudyArm> pretrain;
  std::string xLabel;  // axis of the group plot
};

// The built-in studies: sink-attention, sink-lr, sink-wd, sink-fixed-token, sink-position,
// essl-lowlabel (downstream IoU/AP from scratch vs pre-trained at 5/20/100 % labels and the
// spatial x temporal ablation) and essl-objectives (pre-training objectives compared on the
// equivariance diagnostics).
std::vector<Study> builtinStudies();

struct StudyRun {
  std::string arm;
  std::int64_t seed;
  std::string runDir;
  std::string phase;
  std::vector<double> finals;  // one per key (NaN when missing)
  bool pretraining = false;    // a pre-training run of Study::pretrain (not summarised)
};

// Runs every arm and seed, writes the summaries into outDir and returns the runs.
// `progress` receives one line per finished run. Throws std::runtime_error with a clear
// message on invalid arms (before anything is trained) or unwritable output.
std::vector<StudyRun> runStudy(const Study& study, const std::string& outDir,
                               const std::function<void(const std::string&)>& progress);

}  // namespace pretext::core
