// pretext-export: writes files other tools read from a run directory, headless.
#include <cstdio>
#include <optional>
#include <string>

#include "pretext/cli/args.h"
#include "pretext/runs/export_data.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/export_weights.h"
#ifdef PRETEXT_HAVE_FIGURES
#include <QGuiApplication>
#include <filesystem>

#include "pretext/render/figure.h"
#endif
#ifdef PRETEXT_HAVE_SCENE
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "pretext/render/scene.h"

using namespace pretext::render;
#endif

using namespace pretext::core;
namespace cli = pretext::cli;

namespace {
const char* kUsage =
    "usage: pretext-export RUN_DIR [--weights FILE [--step N]] [--csv FILE [--wide]\n"
    "                              [--keys PREFIX,...]] [--ply STEP|latest FILE]\n"
    "                              [--attention STEP|latest FILE] [--tfevents DIR]\n"
    "       pretext-export RUN_DIR [RUN_DIR ...] --figure KEY[,KEY...] --out FILE\n"
    "                              [--style single-column|double-column|slide] [--dpi N]\n"
    "                              [--log-y] [--all-points] [--legend top|inside|none]\n"
    "                              [--ylabel TEXT]... [--xlabel TEXT]\n"
    "       pretext-export RUN_DIR --render STEP|latest|all --out FILE|DIR [--field NAME]\n"
    "                              [--camera orbit|birdseye|driver] [--size WxH] [--scale N]\n"
    "                              [--transparent] [--range LO:HI] [--point-size PX]\n"
    "                              [--format png|pdf|eps] [--background white|black|dark]\n"
    "\n"
    "  --weights FILE   write the trained weights as a dict {name: tensor} that Python\n"
    "                   reads with torch.load(FILE), plus FILE.json describing the\n"
    "                   architecture, step and config. lidar_ssl / lidar_downstream runs\n"
    "                   export the pillar encoder (names encoder.*), lm_sink runs the model.\n"
    "  --step N         with --weights: use checkpoint N instead of the newest one\n"
    "  --csv FILE       the metrics as CSV, long form (segment,step,wall_s,key,value);\n"
    "                   resumed runs give the history that led to the current weights\n"
    "  --wide           with --csv: one row per step, one column per metric key\n"
    "  --keys LIST      with --csv: only keys equal to or starting with these, e.g. the\n"
    "                   attention-sink table: --csv sink.csv --wide --keys sink/,loss/val\n"
    "  --attention STEP FILE  the attention maps of STEP (or 'latest') as long-form CSV:\n"
    "                   layer,head,query,key,query_token,key_token,weight (the run also\n"
    "                   keeps them as NumPy files: snapshots/step_N/attention.npy)\n"
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
    "  --legend WHERE   top (a row above the panels, default), inside (a box in the first\n"
    "                   panel's upper right corner) or none\n"
    "  --ylabel TEXT    y axis label of the next panel (repeatable, in --figure order);\n"
    "                   default: the key with its unit, e.g. 'sink/sink1 (%)'\n"
    "  --xlabel TEXT    x axis label of every panel (default: step)\n"
    "  --all-points     draw every point; by default each curve is decimated to the output\n"
    "                   resolution (per-column min/max, so the drawn envelope is unchanged)\n"
    "  --render WHICH   3D figure of a point snapshot (STEP, 'latest') to --out FILE, or of\n"
    "                   every snapshot ('all') to --out DIR as step_<N>.<format> frames for\n"
    "                   figures and videos: one camera and one colour range for all frames.\n"
    "                   Needs an X display (xvfb-run on a headless machine)\n"
    "  --field NAME     the per-point field that colours the points (default equiv_error)\n"
    "  --camera NAME    orbit (default), birdseye or driver, framing the first frame\n"
    "  --size WxH       image size in pixels before --scale (default 1280x960)\n"
    "  --scale N        multiply the size, the point size and the fonts by N (default 1)\n"
    "  --transparent    no background (PNG alpha; vector formats omit it)\n"
    "  --range LO:HI    fixed colour range; default: min..max over the rendered frames\n"
    "  --point-size PX  point size before --scale (default 2)\n"
    "  --format EXT     frame format for --render all: png (default), pdf or eps (VTK's\n"
    "                   GL2PS: the 3D scene as an image, colour bar labels as vector text)\n"
    "  --background C   white, black or dark (the 3D view's, default)\n"
    "  --version        print the version\n"
    "  -h, --help       this help\n"
    "\n"
    "Several exports may be given at once. Exit codes: 0 written, 1 the run, checkpoint or\n"
    "snapshot could not be read or a file not written, 2 invalid command line.\n";

// STEP (or 'latest', nullopt) of --ply and --attention STEP|latest FILE.
std::optional<std::int64_t> stepOrLatest(cli::ArgReader& a) {
  const std::string v = a.value();
  if (v == "latest") return std::nullopt;
  const auto n = cli::toInt(v);
  if (!n || *n < 0)
    throw cli::UsageError(a.arg() + " expects STEP (or 'latest') and FILE, got '" + v + "'");
  return n;
}
}  // namespace

#ifdef PRETEXT_HAVE_FIGURES
// One panel per key, one curve per run (its colour = its position on the command line).
struct FigureRequest {
  std::string keys, out, style = "single-column", legend = "top", xLabel = "step";
  std::vector<std::string> yLabels;  // per panel, in order; default: key with its unit
  double dpi = 300;
  bool logY = false, allPoints = false;
};

int writeFigure(int argc, char** argv, const std::vector<std::string>& runs,
                const FigureRequest& req) {
  const std::string& keys = req.keys;
  const std::string& out = req.out;
  const std::string& styleName = req.style;
  using namespace pretext::render;
  FigureStyle style;
  try {
    style = figureStyle(styleName);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "pretext-export: --style: %s\n", e.what());
    return 2;
  }
  FigureOptions options;
  if (!parseFigureLegend(req.legend, options.legend)) {
    std::fprintf(stderr, "pretext-export: --legend expects top, inside or none, got '%s'\n",
                 req.legend.c_str());
    return 2;
  }
  std::vector<FigurePanel> panels;
  std::vector<std::string> panelKeys;
  for (const std::string& key : cli::splitList(keys)) {
    FigurePanel panel;
    panel.yLabel =
        panels.size() < req.yLabels.size() ? req.yLabels[panels.size()] : metricAxisLabel(key);
    panel.xLabel = req.xLabel;
    panel.logY = req.logY;
    panels.push_back(panel);
    panelKeys.push_back(key);
  }
  if (panels.empty()) {
    std::fprintf(stderr, "pretext-export: --figure needs at least one metric key\n");
    return 2;
  }
  if (req.yLabels.size() > panels.size()) {
    std::fprintf(stderr, "pretext-export: %zu --ylabel for %zu panel(s)\n", req.yLabels.size(),
                 panels.size());
    return 2;
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (!std::filesystem::exists(std::filesystem::path(runs[r]) / "metrics.csv")) {
      std::fprintf(stderr, "pretext-export: %s: not a run directory (no metrics.csv)\n",
                   runs[r].c_str());
      return 1;
    }
    const auto acc = readMetrics(runs[r]);
    for (std::size_t k = 0; k < panels.size(); ++k) {
      auto& panel = panels[k];
      auto it = acc.series().find(panelKeys[k]);
      if (it == acc.series().end()) {
        std::fprintf(stderr, "pretext-export: %s has no metric '%s'\n", runs[r].c_str(),
                     panelKeys[k].c_str());
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
  options.dpi = req.dpi;
  options.allPoints = req.allPoints;
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

#ifdef PRETEXT_HAVE_SCENE
struct RenderOptions {
  std::string which, out, field, format = "png";
  pretext::render::CameraPreset camera = pretext::render::CameraPreset::Orbit;
  int width = 1280, height = 960;
  double scale = 1, pointSize = 2;
  bool transparent = false, fixedRange = false;
  double range[2] = {0, 1};
  double background[3] = {38 / 255.0, 41 / 255.0, 46 / 255.0};
};

// Renders the chosen point snapshots of `run` with one camera and one colour range.
int renderSnapshots(const std::string& run, const RenderOptions& o) {
  namespace fs = std::filesystem;
  using namespace pretext::render;
  std::vector<PointSnapshotPtr> snaps;
  for (const auto& dir : snapshotDirs(run)) {
    if (o.which != "all" && o.which != "latest" &&
        fs::path(dir).filename() != checkpointDirName(std::stoll(o.which)))
      continue;
    std::string error;
    auto snap = readPointSnapshot(dir, error);
    if (!error.empty()) {
      std::fprintf(stderr, "pretext-export: %s\n", error.c_str());
      return 1;
    }
    if (snap) snaps.push_back(snap);
  }
  if (o.which == "latest" && !snaps.empty()) snaps.erase(snaps.begin(), snaps.end() - 1);
  if (snaps.empty()) {
    std::fprintf(stderr, "pretext-export: %s: no point snapshot%s\n", run.c_str(),
                 o.which == "all" || o.which == "latest" ? "" : (" at step " + o.which).c_str());
    return 1;
  }
  std::string field = o.field;
  if (field.empty()) field = snaps.front()->fields.count("equiv_error") ? "equiv_error" : "";
  if (field.empty() && !snaps.front()->fields.empty()) field = snaps.front()->fields.begin()->first;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : snaps) {
    auto it = s->fields.find(field);
    if (it == s->fields.end()) {
      std::string names;
      for (const auto& [k, v] : s->fields) names += (names.empty() ? "" : ", ") + k;
      std::fprintf(stderr, "pretext-export: snapshot of step %lld has no field '%s' (it has: %s)\n",
                   static_cast<long long>(s->step), field.c_str(), names.c_str());
      return 1;
    }
    const auto [l, h] = finiteMinMax(it->second);
    lo = std::min(lo, l);
    hi = std::max(hi, h);
  }
  const SceneCamera camera = presetCamera(o.camera, snaps.front()->xyz);
  const bool batch = o.which == "all";
  std::error_code ec;
  if (batch) fs::create_directories(o.out, ec);
  const int w = static_cast<int>(std::lround(o.width * o.scale));
  const int h = static_cast<int>(std::lround(o.height * o.scale));
  for (std::size_t i = 0; i < snaps.size(); ++i) {
    Scene scene;
    scene.xyz = snaps[i]->xyz;
    scene.scalars = snaps[i]->fields.at(field);
    scene.field = field;
    scene.fixedRange = true;
    scene.range[0] = o.fixedRange ? o.range[0] : lo;
    scene.range[1] = o.fixedRange ? o.range[1] : hi;
    scene.pointSize = o.pointSize;
    std::copy(o.background, o.background + 3, scene.background);
    char name[64];
    std::snprintf(name, sizeof name, "step_%09lld.%s", static_cast<long long>(snaps[i]->step),
                  o.format.c_str());
    const std::string file = batch ? (fs::path(o.out) / name).string() : o.out;
    std::string error;
    if (!renderScene(scene, camera, w, h, o.transparent, o.scale, file, error)) {
      std::fprintf(stderr, "pretext-export: %s\n", error.c_str());
      return 1;
    }
    std::printf("%s: step %lld, %s in [%g, %g], %d x %d\n", file.c_str(),
                static_cast<long long>(snaps[i]->step), field.c_str(), scene.range[0],
                scene.range[1], w, h);
  }
  return 0;
}

// One of the --render options, the reader at its name: its value into `o`.
void readRenderOption(cli::ArgReader& a, RenderOptions& o) {
  if (a.is("--field")) {
    o.field = a.value();
  } else if (a.is("--camera")) {
    const std::string v = a.value();
    if (!pretext::render::parseCameraPreset(v, o.camera))
      throw cli::UsageError("--camera expects orbit, birdseye or driver, got '" + v + "'");
  } else if (a.is("--size")) {
    const std::string v = a.value();
    if (std::sscanf(v.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width < 16 ||
        o.height < 16 || o.width > 8192 || o.height > 8192)
      throw cli::UsageError("--size expects WxH in pixels (16..8192), got '" + v + "'");
  } else if (a.is("--scale")) {
    o.scale = a.numberValue(0.25, 8);
  } else if (a.is("--point-size")) {
    o.pointSize = a.numberValue(1, 20);
  } else if (a.is("--range")) {
    const std::string v = a.value();
    char sep = 0;
    if (std::sscanf(v.c_str(), "%lf%c%lf", &o.range[0], &sep, &o.range[1]) != 3 || sep != ':' ||
        !(o.range[1] > o.range[0]))
      throw cli::UsageError("--range expects LO:HI with LO < HI, got '" + v + "'");
    o.fixedRange = true;
  } else if (a.is("--background")) {
    static const double colours[3][3] = {
        {1, 1, 1}, {0, 0, 0}, {38 / 255.0, 41 / 255.0, 46 / 255.0}};
    const double* c = colours[a.choiceValue({"white", "black", "dark"})];
    std::copy(c, c + 3, o.background);
  } else if (a.is("--format")) {
    const std::vector<std::string> formats = {"png", "pdf", "eps"};
    o.format = formats[a.choiceValue(formats)];
  }
}
#endif

int main(int argc, char** argv) {
  std::string run, weights, csv, ply, tfevents, figure, out;
  FigureRequest fig;
  std::vector<std::string> figureOnly;  // options that need --figure
  std::string attention;
  std::vector<std::string> keys;
  std::optional<std::int64_t> attentionStep;
  std::vector<std::string> runs;
  bool wide = false;
  std::optional<std::int64_t> step, plyStep;
  std::string render;
#ifdef PRETEXT_HAVE_SCENE
  RenderOptions ro;
#endif
  std::vector<std::string> renderOnly;  // options that need --render
  auto usageError = [](const std::string& msg) {
    return cli::reportUsageError("pretext-export", cli::UsageError(msg), kUsage);
  };
  try {
    cli::ArgReader a(argc, argv);
    while (a.next()) {
      if (a.is("-h") || a.is("--help")) {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (a.is("--version")) {
        std::printf("pretext-export %s\n", PRETEXT_VERSION);
        return 0;
      } else if (a.is("--weights")) {
        weights = a.value();
      } else if (a.is("--csv")) {
        csv = a.value();
      } else if (a.is("--figure")) {
        figure = a.value();
      } else if (a.is("--out")) {
        out = a.value();
      } else if (a.is("--style")) {
        fig.style = a.value();
        figureOnly.push_back(a.arg());
      } else if (a.is("--legend")) {
        fig.legend = a.value();
        figureOnly.push_back(a.arg());
      } else if (a.is("--ylabel")) {
        fig.yLabels.push_back(a.value());
        figureOnly.push_back(a.arg());
      } else if (a.is("--xlabel")) {
        fig.xLabel = a.value();
        figureOnly.push_back(a.arg());
      } else if (a.is("--dpi")) {
        fig.dpi = a.numberValue(30, 2400);
        figureOnly.push_back(a.arg());
      } else if (a.is("--log-y")) {
        fig.logY = true;
        figureOnly.push_back(a.arg());
      } else if (a.is("--all-points")) {
        fig.allPoints = true;
        figureOnly.push_back(a.arg());
      } else if (a.is("--tfevents")) {
        tfevents = a.value();
      } else if (a.is("--wide")) {
        wide = true;
      } else if (a.is("--step")) {
        step = a.intValue(0);
      } else if (a.is("--ply")) {
        plyStep = stepOrLatest(a);
        ply = a.value();
      } else if (a.is("--keys")) {
        for (const auto& k : cli::splitList(a.value())) keys.push_back(k);
        if (keys.empty()) throw cli::UsageError("--keys needs at least one key or prefix");
      } else if (a.is("--attention")) {
        attentionStep = stepOrLatest(a);
        attention = a.value();
      } else if (a.is("--render")) {
        render = a.value();
        const auto n = cli::toInt(render);
        if (render != "all" && render != "latest" && !(n && *n >= 0))
          throw cli::UsageError("--render expects STEP, 'latest' or 'all', got '" + render + "'");
      } else if (a.is("--field") || a.is("--camera") || a.is("--size") || a.is("--scale") ||
                 a.is("--range") || a.is("--point-size") || a.is("--format") ||
                 a.is("--background")) {
        renderOnly.push_back(a.arg());
#ifdef PRETEXT_HAVE_SCENE
        readRenderOption(a, ro);
#else
        a.value();
#endif
      } else if (a.is("--transparent")) {
        renderOnly.push_back(a.arg());
#ifdef PRETEXT_HAVE_SCENE
        ro.transparent = true;
#endif
      } else if (!a.arg().empty() && !a.isOption()) {
        runs.push_back(a.arg());
        if (run.empty()) run = a.arg();
      } else {
        throw a.unexpected();
      }
    }
  } catch (const cli::UsageError& e) {
    return cli::reportUsageError("pretext-export", e, kUsage);
  }
  if (!figure.empty()) {
    if (out.empty()) return usageError("--figure needs --out FILE (.pdf, .svg or .png)");
    if (runs.empty()) return usageError("--figure needs at least one run directory");
#ifdef PRETEXT_HAVE_FIGURES
    fig.keys = figure;
    fig.out = out;
    return writeFigure(argc, argv, runs, fig);
#else
    return usageError("this build has no figure export (built without the GUI libraries)");
#endif
  }
  if (!render.empty()) {
    if (out.empty()) return usageError("--render needs --out FILE (or DIR with 'all')");
    if (runs.size() != 1) return usageError("--render takes one run directory");
#ifdef PRETEXT_HAVE_SCENE
    ro.which = render;
    ro.out = out;
    try {
      if (!isRunDir(runs[0])) {
        std::fprintf(stderr, "pretext-export: %s: not a Pretext run directory\n", runs[0].c_str());
        return 1;
      }
      return renderSnapshots(runs[0], ro);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pretext-export: %s\n", e.what());
      return 1;
    }
#else
    return usageError("this build has no 3D export (built without the GUI libraries)");
#endif
  }
  if (!renderOnly.empty()) return usageError(renderOnly.front() + " applies to --render");
  if (!figureOnly.empty()) return usageError(figureOnly.front() + " applies to --figure");
  if (runs.size() > 1) return usageError("several run directories are only for --figure");
  if (run.empty() ||
      (weights.empty() && csv.empty() && ply.empty() && tfevents.empty() && attention.empty())) {
    std::fprintf(stderr, "pretext-export: need a run directory and at least one export\n%s",
                 kUsage);
    return 2;
  }
  if (step && weights.empty()) return usageError("--step applies to --weights");
  if (wide && csv.empty()) return usageError("--wide applies to --csv");
  if (!keys.empty() && csv.empty()) return usageError("--keys applies to --csv");
  try {
    if (!weights.empty()) {
      auto r = exportWeights(run, weights, step);
      std::printf("%s: %zu tensors from step %lld (%s)\n", weights.c_str(), r.tensors.size(),
                  static_cast<long long>(r.step), r.jsonFile.c_str());
    }
    if (!csv.empty()) {
      const auto rows = exportMetricsCsv(run, csv, wide, keys);
      std::printf("%s: %zu rows\n", csv.c_str(), rows);
    }
    if (!tfevents.empty()) std::printf("%s\n", exportTfEvents(run, tfevents).c_str());
    if (!attention.empty()) {
      const auto s = exportAttentionCsv(run, attention, attentionStep);
      std::printf("%s: attention maps of step %lld\n", attention.c_str(),
                  static_cast<long long>(s));
    }
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
