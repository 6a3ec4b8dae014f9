// pretext-export: writes files other tools read from a run directory, headless.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "pretext/core/export.h"

using namespace pretext::core;

namespace {
const char* kUsage =
    "usage: pretext-export RUN_DIR --weights FILE [--step N]\n"
    "\n"
    "  --weights FILE   write the trained weights as a dict {name: tensor} that Python\n"
    "                   reads with torch.load(FILE), plus FILE.json describing the\n"
    "                   architecture, step and config. lidar_ssl / lidar_downstream runs\n"
    "                   export the pillar encoder (names encoder.*), lm_sink runs the model.\n"
    "  --step N         use checkpoint N instead of the newest one\n"
    "  --version        print the version\n"
    "  -h, --help       this help\n"
    "\n"
    "exit codes: 0 written, 1 the run or checkpoint could not be read or the file written,\n"
    "2 invalid command line.\n";
}  // namespace

int main(int argc, char** argv) {
  std::string run, weights;
  std::optional<std::int64_t> step;
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
    } else if (a == "--step") {
      const std::string v = need();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) {
        std::fprintf(stderr, "pretext-export: --step expects a non-negative integer, got '%s'\n",
                     v.c_str());
        return 2;
      }
      step = n;
    } else if (!a.empty() && a[0] != '-' && run.empty()) {
      run = a;
    } else {
      std::fprintf(stderr, "pretext-export: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (run.empty() || weights.empty()) {
    std::fprintf(stderr, "pretext-export: need a run directory and --weights FILE\n%s", kUsage);
    return 2;
  }
  try {
    auto r = exportWeights(run, weights, step);
    std::printf("%s: %zu tensors from step %lld\n%s\n", weights.c_str(), r.tensors.size(),
                static_cast<long long>(r.step), r.jsonFile.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pretext-export: %s\n", e.what());
    return 1;
  }
  return 0;
}
