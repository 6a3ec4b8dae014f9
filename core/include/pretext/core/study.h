#pragma once
// Study runner: trains a grid of arms x seeds one after another and summarises chosen
// metrics into summary.csv, summary.md and one SVG plot per metric. LibTorch-free header;
// runs on the calling thread.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pretext::core {

struct StudyArm {
  std::string label;
  std::string preset;
  std::vector<std::string> overrides;
};

struct Study {
  std::string name;
  std::string description;
  std::vector<StudyArm> arms;
  std::vector<std::string> keys;  // metrics summarised (final value of each run)
  std::int64_t steps = 0;         // 0: each preset's own trainer.max_steps
  std::vector<std::int64_t> seeds{0};
};

// The built-in studies: sink-attention, sink-lr, sink-wd, sink-fixed-token, sink-position.
std::vector<Study> builtinStudies();

struct StudyRun {
  std::string arm;
  std::int64_t seed;
  std::string runDir;
  std::string phase;
  std::vector<double> finals;  // one per key (NaN when missing)
};

// Runs every arm and seed, writes the summaries into outDir and returns the runs.
// `progress` receives one line per finished run. Throws std::runtime_error with a clear
// message on invalid arms (before anything is trained) or unwritable output.
std::vector<StudyRun> runStudy(const Study& study, const std::string& outDir,
                               const std::function<void(const std::string&)>& progress);

// A minimal SVG line plot (one polyline per series) for study summaries.
struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;
};
std::string svgLinePlot(const std::string& title, const std::string& xLabel,
                        const std::string& yLabel, const std::vector<PlotSeries>& series);

}  // namespace pretext::core
