// pretext-study: runs a grid of training runs and writes one summary table and plots.
#include <cstdio>
#include <string>

#include "pretext/cli/args.h"
#include "pretext/train/study.h"
#include "pretext/train/training_job.h"

using namespace pretext::core;
namespace cli = pretext::cli;

namespace {
const char* kUsage =
    "usage: pretext-study STUDY [--out DIR] [--max-steps N] [--seeds 0,1,2]\n"
    "       pretext-study --preset NAME --grid KEY=V1,V2,... [--grid ...] [--out DIR] ...\n"
    "       pretext-study --list\n"
    "\n"
    "Trains every arm (and seed) one after another, then writes DIR/summary.csv,\n"
    "DIR/summary.md (mean ± std over seeds) and DIR/<metric>.svg; the runs are kept in\n"
    "DIR/runs/. Built-in studies reproduce the attention-sink comparisons (see --list).\n";
}  // namespace

int main(int argc, char** argv) {
  std::string name, out, preset;
  std::int64_t steps = 0;
  std::vector<std::int64_t> seeds;
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;
  try {
    cli::ArgReader a(argc, argv);
    while (a.next()) {
      if (a.is("-h") || a.is("--help")) {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (a.is("--list")) {
        for (const auto& s : builtinStudies())
          std::printf("%-18s %s (%zu arms)\n", s.name.c_str(), s.description.c_str(),
                      s.arms.size());
        return 0;
      } else if (a.is("--out")) {
        out = a.value();
      } else if (a.is("--max-steps")) {
        steps = a.intValue(1);
      } else if (a.is("--seeds")) {
        for (const auto& s : cli::splitList(a.value()))
          seeds.push_back(cli::parseInt("--seeds", s));
      } else if (a.is("--preset")) {
        preset = a.value();
      } else if (a.is("--grid")) {
        const cli::KeyValue g = a.keyValue("KEY=V1,V2,...");
        grid.push_back({g.key, cli::splitList(g.value)});
      } else if (!a.arg().empty() && !a.isOption() && name.empty()) {
        name = a.arg();
      } else {
        throw a.unexpected();
      }
    }
  } catch (const cli::UsageError& e) {
    return cli::reportUsageError("pretext-study", e, kUsage);
  }
  Study study;
  if (!preset.empty()) {
    if (grid.empty()) {
      std::fprintf(stderr, "pretext-study: --preset needs at least one --grid\n");
      return 2;
    }
    study.name = name.empty() ? "grid" : name;
    study.description = "grid over " + preset;
    study.keys = {"loss/total", "loss/val", "sink/sink1", "sink/alpha1_mean"};
    StudyArm base;
    base.preset = preset;
    std::vector<StudyArm> arms{base};
    for (const auto& [key, values] : grid) {
      std::vector<StudyArm> next;
      for (const auto& a : arms)
        for (const auto& v : values) {
          StudyArm b = a;
          b.label += (b.label.empty() ? "" : ", ") + key + "=" + v;
          b.overrides.push_back(key + "=" + v);
          next.push_back(b);
        }
      arms = next;
    }
    study.arms = arms;
  } else {
    for (const auto& s : builtinStudies())
      if (s.name == name) study = s;
    if (study.name.empty()) {
      std::fprintf(stderr, "pretext-study: no study '%s' (see --list)\n", name.c_str());
      return 2;
    }
  }
  if (steps > 0) study.steps = steps;
  if (!seeds.empty()) study.seeds = seeds;
  if (out.empty()) out = "studies/" + study.name;
  configureThreads(0);
  try {
    auto runs = runStudy(
        study, out, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    std::printf("%s/summary.md\n", out.c_str());
    for (const auto& r : runs)
      if (r.phase != "finished") return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pretext-study: %s\n", e.what());
    return 2;
  }
  return 0;
}
