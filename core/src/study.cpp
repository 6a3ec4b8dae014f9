#include "pretext/core/study.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "pretext/core/events.h"
#include "pretext/core/fs_util.h"
#include "pretext/core/presets.h"
#include "pretext/core/run_dir.h"
#include "pretext/core/training_job.h"

namespace fs = std::filesystem;

namespace pretext::core {

namespace {
const std::vector<std::string> kSinkKeys = {"sink/sink1", "sink/alpha1_mean", "loss/val"};

StudyArm arm(std::string label, std::string preset, std::vector<std::string> o = {}) {
  return {std::move(label), std::move(preset), std::move(o)};
}

std::string escapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}
}  // namespace

std::vector<Study> builtinStudies() {
  const std::string sm = "sink-backcopy-softmax";
  std::vector<Study> s;
  s.push_back({"sink-attention",
               "Attention operation: softmax vs sigmoid (no norm / norm) vs a learnable sink key",
               {arm("softmax", sm), arm("sigmoid (no norm)", "sink-backcopy-sigmoid"),
                arm("sigmoid (normalised)", sm, {"lm.attention=sigmoid_norm"}),
                arm("softmax, no BOS", sm, {"text.bos=false"}),
                arm("softmax + K bias, no BOS", "sink-backcopy-kbias")},
               {"sink/sink1", "sink/alpha1_mean", "sink/sink_slot", "loss/val"},
               0,
               {0}});
  s.push_back({"sink-lr",
               "Learning rate (softmax)",
               {arm("lr 3e-4", sm, {"trainer.lr=3e-4"}), arm("lr 1e-3", sm, {"trainer.lr=1e-3"}),
                arm("lr 3e-3", sm, {"trainer.lr=3e-3"})},
               kSinkKeys,
               0,
               {0}});
  s.push_back({"sink-wd",
               "Weight decay (softmax)",
               {arm("wd 0", sm, {"trainer.weight_decay=0"}),
                arm("wd 0.1", sm, {"trainer.weight_decay=0.1"}),
                arm("wd 0.5", sm, {"trainer.weight_decay=0.5"}),
                arm("wd 2", sm, {"trainer.weight_decay=2"})},
               kSinkKeys,
               0,
               {0}});
  s.push_back({"sink-fixed-token",
               "A fixed (PAD) token at position k, no BOS (softmax)",
               {arm("k = 1", sm, {"text.bos=false", "text.fixed_token_pos=1"}),
                arm("k = 2", sm, {"text.bos=false", "text.fixed_token_pos=2"}),
                arm("k = 3", sm, {"text.bos=false", "text.fixed_token_pos=3"})},
               {"sink/sink_fixed", "sink/sink1", "loss/val"},
               0,
               {0}});
  s.push_back(
      {"sink-position",
       "Positional encoding (softmax)",
       {arm("none", sm, {"lm.position=none"}), arm("sinusoidal", sm, {"lm.position=sinusoidal"}),
        arm("learned", sm, {"lm.position=learned"}), arm("RoPE", sm, {"lm.position=rope"}),
        arm("ALiBi", sm, {"lm.position=alibi"})},
       kSinkKeys,
       0,
       {0}});
  return s;
}

std::string svgLinePlot(const std::string& title, const std::string& xLabel,
                        const std::string& yLabel, const std::vector<PlotSeries>& series) {
  static const char* colors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                 "#E69F00", "#56B4E9", "#000000"};
  const double W = 640, H = 400, L = 70, R = 170, Tm = 40, Bm = 50;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y)) {
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  if (!(x1 > x0)) x0 = 0, x1 = 1;
  if (!(y1 > y0)) y0 = std::isfinite(y0) ? y0 - 1 : 0, y1 = y0 + 2;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return H - Bm - (y - y0) / (y1 - y0) * (H - Tm - Bm); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << W / 2 - R / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">"
    << escapeXml(title) << "</text>\n"
    << "<rect x=\"" << L << "\" y=\"" << Tm << "\" width=\"" << W - L - R << "\" height=\""
    << H - Tm - Bm << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    o << "<text x=\"" << X(xv) << "\" y=\"" << H - Bm + 16 << "\" text-anchor=\"middle\">" << xv
      << "</text>\n"
      << "<text x=\"" << L - 6 << "\" y=\"" << Y(yv) + 4 << "\" text-anchor=\"end\">" << yv
      << "</text>\n";
  }
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">"
    << escapeXml(xLabel) << "</text>\n"
    << "<text transform=\"translate(16," << (Tm + H - Bm) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escapeXml(yLabel) << "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* c = colors[i % 7];
    o << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& [x, y] : series[i].points)
      if (std::isfinite(y)) o << X(x) << "," << Y(y) << " ";
    o << "\"/>\n<text x=\"" << W - R + 12 << "\" y=\"" << Tm + 16 * (i + 1) << "\" fill=\"" << c
      << "\">" << escapeXml(series[i].label) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::vector<StudyRun> runStudy(const Study& study, const std::string& outDir,
                               const std::function<void(const std::string&)>& progress) {
  // Validate every arm before training anything.
  for (const auto& a : study.arms) {
    std::vector<ConfigIssue> issues;
    std::string text, source, err;
    if (!resolveConfigSource(a.preset, text, source, err))
      throw std::runtime_error("arm '" + a.label + "': " + err);
    if (!Config::parse(text, source, a.overrides, issues)) {
      std::string msg = "arm '" + a.label + "': invalid configuration:";
      for (const auto& i : issues) msg += "\n  " + i.toString();
      throw std::runtime_error(msg);
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(outDir) / "runs", ec);
  if (ec) throw std::runtime_error(outDir + ": cannot create: " + ec.message());

  std::vector<StudyRun> runs;
  std::map<std::string, std::vector<PlotSeries>> curves;  // key -> one series per run
  for (const auto& a : study.arms) {
    for (auto seed : study.seeds) {
      LaunchRequest req;
      req.configOrPreset = a.preset;
      req.overrides = a.overrides;
      req.overrides.push_back("experiment.seed=" + std::to_string(seed));
      req.runsRoot = (fs::path(outDir) / "runs").string();
      req.maxSteps = study.steps;
      std::vector<ConfigIssue> issues;
      std::string error;
      auto job = TrainingJob::prepare(req, issues, error);
      if (!job)
        throw std::runtime_error("arm '" + a.label +
                                 "': " + (issues.empty() ? error : issues[0].toString()));
      ControlBlock control;
      NullSink sink;
      RunStatus st = job->run(control, sink);
      StudyRun r{a.label, seed, job->runDir(), toString(st.phase), {}};
      auto acc = readMetrics(job->runDir());
      for (const auto& key : study.keys) {
        auto it = acc.series().find(key);
        r.finals.push_back(it == acc.series().end() || it->second.empty()
                               ? std::nan("")
                               : it->second.back().value);
        if (it != acc.series().end()) {
          PlotSeries s{a.label + (study.seeds.size() > 1 ? " s" + std::to_string(seed) : ""), {}};
          for (const auto& p : it->second)
            s.points.push_back({static_cast<double>(p.step), p.value});
          curves[key].push_back(std::move(s));
        }
      }
      if (progress) {
        std::ostringstream line;
        line << a.label << " seed " << seed << ": " << r.phase;
        for (std::size_t k = 0; k < study.keys.size(); ++k)
          line << ", " << study.keys[k] << " " << r.finals[k];
        progress(line.str());
      }
      runs.push_back(std::move(r));
    }
  }

  // summary.csv: one row per run; summary.md: mean (± std over seeds) per arm.
  std::ostringstream csv, md;
  csv << "study,arm,seed,phase";
  for (const auto& k : study.keys) csv << "," << k;
  csv << ",run_dir\n";
  for (const auto& r : runs) {
    csv << study.name << ",\"" << r.arm << "\"," << r.seed << "," << r.phase;
    for (double v : r.finals) csv << "," << v;
    csv << "," << r.runDir << "\n";
  }
  md << "| arm |";
  for (const auto& k : study.keys) md << " " << k << " |";
  md << "\n|---|";
  for (std::size_t k = 0; k < study.keys.size(); ++k) md << "---|";
  md << "\n";
  for (const auto& a : study.arms) {
    md << "| " << a.label << " |";
    for (std::size_t k = 0; k < study.keys.size(); ++k) {
      std::vector<double> v;
      for (const auto& r : runs)
        if (r.arm == a.label && std::isfinite(r.finals[k])) v.push_back(r.finals[k]);
      if (v.empty()) {
        md << " – |";
        continue;
      }
      double mean = 0, var = 0;
      for (double x : v) mean += x;
      mean /= static_cast<double>(v.size());
      for (double x : v) var += (x - mean) * (x - mean);
      char buf[64];
      if (v.size() > 1)
        std::snprintf(buf, sizeof buf, " %.3g ± %.2g |", mean,
                      std::sqrt(var / static_cast<double>(v.size() - 1)));
      else
        std::snprintf(buf, sizeof buf, " %.3g |", mean);
      md << buf;
    }
    md << "\n";
  }
  std::string err;
  if (!writeFileAtomic((fs::path(outDir) / "summary.csv").string(), csv.str(), err) ||
      !writeFileAtomic((fs::path(outDir) / "summary.md").string(), md.str(), err))
    throw std::runtime_error(err);
  for (const auto& [key, series] : curves) {
    std::string file = key;
    std::replace(file.begin(), file.end(), '/', '_');
    if (!writeFileAtomic((fs::path(outDir) / (file + ".svg")).string(),
                         svgLinePlot(study.name + ": " + key, "step", key, series), err))
      throw std::runtime_error(err);
  }
  return runs;
}

}  // namespace pretext::core
