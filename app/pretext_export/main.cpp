// pretext-export: writes files other tools read from a run directory, headless.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "pretext/core/export.h"
#include "pretext/core/run_dir.h"
#ifdef PRETEXT_HAVE_FIGURES
#include <QGuiApplication>
#include <filesystem>
#include <sstream>

#include "pretext/widgets/figure.h"
#endif

using namespace pretext::core;

namespace {
const char* kUsage =
    "usage: pretext-export RUN_DIR [--weights FILE [--step N]] [--csv FILE [--wide]]\n"
    "                              [--ply STEP|latest FILE] [--tfevents DIR]\n"
    "       pretext-export RUN_DIR [RUN_DIR ...] --figure KEY[,KEY...] --out FILE\n"
    "                              [--style single-column|double-column|slide] [--dpi N]\n"
    "                              [--log-y] [--all-points]\n"
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
    "  --figure KEYS    one plot panel per metric key, side by side with (a), (b) labels,\n"
    "                   every run a curve in the same colour-blind-safe colour in each panel\n"
    "  --out FILE       the figure: .pdf and .svg are vector (PDF with embedded fonts, SVG\n"
    "                   sized in mm), .png is raster at --dpi (default 300)\n"
    "  --style NAME     single-column (85 x 60 mm, default), double-column (175 x 70 mm),\n"
    "                   slide (16:9, 254 x 143 mm)\n"
    "  --log-y          logarithmic y axes\n"
    "  --all-points     draw every point; by default each curve is decimated to the output\n"
    "                   resolution (per-column min/max, so the drawn envelope is unchanged)\n"
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

#ifdef PRETEXT_HAVE_FIGURES
// One panel per key, one curve per run (its colour = its position on the command line).
int writeFigure(int argc, char** argv, const std::vector<std::string>& runs,
                const std::string& keys, const std::string& out, const std::string& styleName,
                double dpi, bool logY, bool allPoints) {
  using namespace pretext::widgets;
  FigureStyle style;
  try {
    style = figureStyle(styleName);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "pretext-export: --style: %s\n", e.what());
    return 2;
  }
  std::vector<FigurePanel> panels;
  std::stringstream ss(keys);
  for (std::string key; std::getline(ss, key, ',');)
    if (!key.empty()) {
      FigurePanel panel;
      panel.yLabel = key;
      panel.logY = logY;
      panels.push_back(panel);
    }
  if (panels.empty()) {
    std::fprintf(stderr, "pretext-export: --figure needs at least one metric key\n");
    return 2;
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (!std::filesystem::exists(std::filesystem::path(runs[r]) / "metrics.csv")) {
      std::fprintf(stderr, "pretext-export: %s: not a run directory (no metrics.csv)\n",
                   runs[r].c_str());
      return 1;
    }
    const auto acc = readMetrics(runs[r]);
    for (auto& panel : panels) {
      auto it = acc.series().find(panel.yLabel);
      if (it == acc.series().end()) {
        std::fprintf(stderr, "pretext-export: %s has no metric '%s'\n", runs[r].c_str(),
                     panel.yLabel.c_str());
        return 1;
      }
      FigureSeries s;
      s.label = figureRunLabel(runs[r]);
      s.colorIndex = static_cast<int>(r);
      for (const auto& p : it->second) s.points.push_back({static_cast<double>(p.step), p.value});
      panel.series.push_back(std::move(s));
    }
  }
  // Figures render off screen: no display is needed.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QGuiApplication app(argc, argv);
  FigureOptions options;
  options.dpi = dpi;
  options.allPoints = allPoints;
  QString error;
  if (!renderFigure(panels, style, options, QString::fromStdString(out), error)) {
    std::fprintf(stderr, "pretext-export: %s\n", error.toUtf8().constData());
    return 1;
  }
  std::printf("%s: %zu panel(s), %zu run(s), %s\n", out.c_str(), panels.size(), runs.size(),
              style.name.c_str());
  return 0;
}
#endif

int main(int argc, char** argv) {
  std::string run, weights, csv, ply, tfevents, figure, out, style = "single-column";
  std::vector<std::string> runs;
  double dpi = 300;
  bool logY = false, allPoints = false;
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
    } else if (a == "--figure") {
      figure = need();
    } else if (a == "--out") {
      out = need();
    } else if (a == "--style") {
      style = need();
    } else if (a == "--dpi") {
      const std::string v = need();
      char* end = nullptr;
      dpi = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(dpi >= 30 && dpi <= 2400))
        return usageError("--dpi expects a number from 30 to 2400, got '" + v + "'");
    } else if (a == "--log-y") {
      logY = true;
    } else if (a == "--all-points") {
      allPoints = true;
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
    } else if (!a.empty() && a[0] != '-') {
      runs.push_back(a);
      if (run.empty()) run = a;
    } else {
      std::fprintf(stderr, "pretext-export: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (!figure.empty()) {
    if (out.empty()) return usageError("--figure needs --out FILE (.pdf, .svg or .png)");
    if (runs.empty()) return usageError("--figure needs at least one run directory");
#ifdef PRETEXT_HAVE_FIGURES
    return writeFigure(argc, argv, runs, figure, out, style, dpi, logY, allPoints);
#else
    return usageError("this build has no figure export (built without the GUI libraries)");
#endif
  }
  if (runs.size() > 1) return usageError("several run directories are only for --figure");
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
