// pretext-study: runs a grid of training runs and writes one summary table and plots.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "pretext/core/study.h"
#include "pretext/core/training_job.h"

using namespace pretext::core;

namespace {
const char* kUsage =
    "usage: pretext-study STUDY [--out DIR] [--max-steps N] [--seeds 0,1,2]\n"
    "       pretext-study --preset NAME --grid KEY=V1,V2,... [--grid ...] [--out DIR] ...\n"
    "       pretext-study --list\n"
    "\n"
    "Trains every arm (and seed) one after another, then writes DIR/summary.csv,\n"
    "DIR/summary.md (mean ± std over seeds) and DIR/<metric>.svg; the runs are kept in\n"
    "DIR/runs/. Built-in studies reproduce the attention-sink comparisons (see --list).\n";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  std::string name, out, preset;
  std::int64_t steps = 0;
  std::vector<std::int64_t> seeds;
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto need = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pretext-study: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--list") {
      for (const auto& s : builtinStudies())
        std::printf("%-18s %s (%zu arms)\n", s.name.c_str(), s.description.c_str(), s.arms.size());
      return 0;
    } else if (a == "--out") {
      out = need();
    } else if (a == "--max-steps") {
      steps = std::atoll(need().c_str());
      if (steps <= 0) {
        std::fprintf(stderr, "pretext-study: --max-steps expects a positive integer\n");
        return 2;
      }
    } else if (a == "--seeds") {
      for (const auto& s : split(need(), ',')) seeds.push_back(std::atoll(s.c_str()));
    } else if (a == "--preset") {
      preset = need();
    } else if (a == "--grid") {
      auto g = need();
      auto eq = g.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "pretext-study: --grid expects KEY=V1,V2,..., got '%s'\n", g.c_str());
        return 2;
      }
      grid.push_back({g.substr(0, eq), split(g.substr(eq + 1), ',')});
    } else if (!a.empty() && a[0] != '-' && name.empty()) {
      name = a;
    } else {
      std::fprintf(stderr, "pretext-study: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
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
