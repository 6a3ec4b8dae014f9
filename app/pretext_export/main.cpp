// pretext-export: writes files other tools read from a run directory, headless.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "pretext/core/export.h"

using namespace pretext::core;

namespace {
const char* kUsage =
    "usage: pretext-export RUN_DIR [--weights FILE [--step N]] [--csv FILE [--wide]]\n"
    "                              [--ply STEP|latest FILE] [--tfevents DIR]\n"
    "\n"
    "  --weights FILE   write the trained weights as a dict {name: tensor} that Python\n"
    "                   reads with torch.load(FILE), plus FILE.json describing the\n"
    "                   architecture, step and config. lidar_ssl / lidar_downstream runs\n"
    "                   export the pillar encoder (names encoder.*), lm_sink runs the model.\n"
    "  --step N         with --weights: use checkpoint N instead of the newest one\n"
    "  --csv FILE       the metrics as CSV, long form (segment,step,wall_s,key,value);\n"
    "                   resumed runs give the history that led to the current weights\n"
    "  --wide           with --csv: one row per step, one column per metric key\n"
    "  --ply STEP FILE  the point snapshot of STEP (or 'latest') as binary PLY with every\n"
    "                   per-point field (errors, PCA colours, ...) as a vertex property\n"
    "  --tfevents DIR   the metrics as a TensorBoard event file in DIR (every run also\n"
    "                   mirrors its metrics live into RUN_DIR/tensorboard/)\n"
    "  --version        print the version\n"
    "  -h, --help       this help\n"
    "\n"
    "Several exports may be given at once. Exit codes: 0 written, 1 the run, checkpoint or\n"
    "snapshot could not be read or a file not written, 2 invalid command line.\n";

bool parseStep(const std::string& v, std::int64_t& out) {
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0) return false;
  out = n;
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  std::string run, weights, csv, ply, tfevents;
  bool wide = false;
  std::optional<std::int64_t> step, plyStep;
  auto usageError = [](const std::string& msg) {
    std::fprintf(stderr, "pretext-export: %s\n", msg.c_str());
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto need = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pretext-export: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("pretext-export %s\n", PRETEXT_VERSION);
      return 0;
    } else if (a == "--weights") {
      weights = need();
    } else if (a == "--csv") {
      csv = need();
    } else if (a == "--tfevents") {
      tfevents = need();
    } else if (a == "--wide") {
      wide = true;
    } else if (a == "--step") {
      const std::string v = need();
      std::int64_t n = 0;
      if (!parseStep(v, n))
        return usageError("--step expects a non-negative integer, got '" + v + "'");
      step = n;
    } else if (a == "--ply") {
      const std::string v = need();
      if (v != "latest") {
        std::int64_t n = 0;
        if (!parseStep(v, n))
          return usageError("--ply expects STEP (or 'latest') and FILE, got '" + v + "'");
        plyStep = n;
      }
      ply = need();
    } else if (!a.empty() && a[0] != '-' && run.empty()) {
      run = a;
    } else {
      std::fprintf(stderr, "pretext-export: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (run.empty() || (weights.empty() && csv.empty() && ply.empty() && tfevents.empty())) {
    std::fprintf(stderr, "pretext-export: need a run directory and at least one export\n%s",
                 kUsage);
    return 2;
  }
  if (step && weights.empty()) return usageError("--step applies to --weights");
  if (wide && csv.empty()) return usageError("--wide applies to --csv");
  try {
    if (!weights.empty()) {
      auto r = exportWeights(run, weights, step);
      std::printf("%s: %zu tensors from step %lld (%s)\n", weights.c_str(), r.tensors.size(),
                  static_cast<long long>(r.step), r.jsonFile.c_str());
    }
    if (!csv.empty()) {
      const auto rows = exportMetricsCsv(run, csv, wide);
      std::printf("%s: %zu rows\n", csv.c_str(), rows);
    }
    if (!tfevents.empty()) std::printf("%s\n", exportTfEvents(run, tfevents).c_str());
    if (!ply.empty()) {
      const auto s = exportSnapshotPly(run, ply, plyStep);
      std::printf("%s: snapshot of step %lld\n", ply.c_str(), static_cast<long long>(s));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pretext-export: %s\n", e.what());
    return 1;
  }
  return 0;
}
