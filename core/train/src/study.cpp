#include "pretext/train/study.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "pretext/data/fs_util.h"
#include "pretext/runs/events.h"
#include "pretext/runs/plot.h"
#include "pretext/runs/presets.h"
#include "pretext/runs/run_dir.h"
#include "pretext/train/training_job.h"

namespace fs = std::filesystem;

namespace pretext::core {

namespace {
const std::vector<std::string> kSinkKeys = {"sink/sink1", "sink/alpha1_mean", "loss/val"};

StudyArm arm(std::string label, std::string preset, std::vector<std::string> o = {}) {
  StudyArm a;
  a.label = std::move(label);
  a.preset = std::move(preset);
  a.overrides = std::move(o);
  return a;
}

Study makeStudy(std::string name, std::string description, std::vector<StudyArm> arms,
                std::vector<std::string> keys, std::vector<std::int64_t> seeds = {0}) {
  Study st;
  st.name = std::move(name);
  st.description = std::move(description);
  st.arms = std::move(arms);
  st.keys = std::move(keys);
  st.seeds = std::move(seeds);
  return st;
}

// One study plot: a panel per metric with the arms' curves, the legend in a column on the
// right (studies have many arms), growing taller when the arms need it.
std::string studyPlot(const std::string& title, const std::string& xLabel, const std::string& key,
                      std::vector<PlotSeries> series) {
  PlotPanel panel;
  panel.xLabel = xLabel;
  panel.yLabel = metricAxisLabel(key);
  for (std::size_t i = 0; i < series.size(); ++i) series[i].colorIndex = static_cast<int>(i);
  panel.series = std::move(series);
  PlotStyle style;
  style.widthPt = 640;
  style.fontPt = 11;
  style.lineWidthPt = 1.5;
  style.heightPt =
      std::max(400.0, 80 + 1.2 * style.fontPt * static_cast<double>(panel.series.size()));
  PlotOptions options;
  options.legend = PlotLegend::Right;
  options.title = title;
  return linePlotSvg({panel}, style, options);
}
}  // namespace

std::vector<Study> builtinStudies() {
  const std::string sm = "sink-backcopy-softmax";
  std::vector<Study> s;
  s.push_back(
      makeStudy("sink-attention",
                "Attention operation: softmax vs sigmoid (no norm / norm) vs a learnable sink key",
                {arm("softmax", sm), arm("sigmoid (no norm)", "sink-backcopy-sigmoid"),
                 arm("sigmoid (normalised)", sm, {"lm.attention=sigmoid_norm"}),
                 arm("softmax, no BOS", sm, {"text.bos=false"}),
                 arm("softmax + K bias, no BOS", "sink-backcopy-kbias")},
                {"sink/sink1", "sink/alpha1_mean", "sink/sink_slot", "loss/val"}));
  s.push_back(
      makeStudy("sink-lr", "Learning rate (softmax)",
                {arm("lr 3e-4", sm, {"trainer.lr=3e-4"}), arm("lr 1e-3", sm, {"trainer.lr=1e-3"}),
                 arm("lr 3e-3", sm, {"trainer.lr=3e-3"})},
                kSinkKeys));
  s.push_back(makeStudy(
      "sink-wd", "Weight decay (softmax)",
      {arm("wd 0", sm, {"trainer.weight_decay=0"}), arm("wd 0.1", sm, {"trainer.weight_decay=0.1"}),
       arm("wd 0.5", sm, {"trainer.weight_decay=0.5"}),
       arm("wd 2", sm, {"trainer.weight_decay=2"})},
      kSinkKeys));
  s.push_back(makeStudy("sink-fixed-token", "A fixed (PAD) token at position k, no BOS (softmax)",
                        {arm("k = 1", sm, {"text.bos=false", "text.fixed_token_pos=1"}),
                         arm("k = 2", sm, {"text.bos=false", "text.fixed_token_pos=2"}),
                         arm("k = 3", sm, {"text.bos=false", "text.fixed_token_pos=3"})},
                        {"sink/sink_fixed", "sink/sink1", "loss/val"}));
  s.push_back(makeStudy(
      "sink-position", "Positional encoding (softmax)",
      {arm("none", sm, {"lm.position=none"}), arm("sinusoidal", sm, {"lm.position=sinusoidal"}),
       arm("learned", sm, {"lm.position=learned"}), arm("RoPE", sm, {"lm.position=rope"}),
       arm("ALiBi", sm, {"lm.position=alibi"})},
      kSinkKeys));
  // E-SSL3D at CPU scale: pre-train once per variant, then fine-tune a BEV object head
  // with 5 / 20 / 100 % of the labelled pool from scratch and from each encoder.
  Study low = makeStudy(
      "essl-lowlabel",
      "BEV object IoU/AP at 5/20/100 % labels: scratch vs E-SSL3D; linear probes; spatial x "
      "temporal at 5 %",
      {}, {"down/iou", "down/ap"}, {0, 1, 2});
  low.pretrain = {arm("essl-full", "essl-full"), arm("essl-spatial", "essl-spatial"),
                  arm("essl-temporal", "essl-temporal")};
  low.xLabel = "labels (%)";
  for (double f : {0.05, 0.2, 1.0}) {
    const std::string pct = std::to_string(static_cast<int>(f * 100 + 0.5)) + " %";
    const std::string frac = "downstream.label_fraction=" + std::to_string(f);
    StudyArm scratch = arm("scratch @ " + pct, "essl-scratch", {frac});
    scratch.group = "scratch";
    scratch.x = f * 100;
    StudyArm full = arm("essl-full @ " + pct, "essl-scratch", {frac});
    full.init = full.group = "essl-full";
    full.x = f * 100;
    low.arms.push_back(scratch);
    low.arms.push_back(full);
  }
  // Linear probe on frozen features (100 % labels): the representation alone.
  // A linear head needs a larger step than fine-tuning: at 2e-3 its bias cannot reach the
  // class prior in 300 AdamW steps (measured: AP below the positive rate); 0.05 does.
  const std::vector<std::string> probe = {"downstream.mode=linear", "trainer.lr=0.05"};
  StudyArm probeScratch = arm("linear probe, random encoder", "essl-scratch", probe);
  StudyArm probeFull = arm("linear probe, essl-full", "essl-scratch", probe);
  probeFull.init = "essl-full";
  low.arms.push_back(probeScratch);
  low.arms.push_back(probeFull);
  for (const char* variant : {"essl-spatial", "essl-temporal"}) {
    StudyArm a =
        arm(std::string(variant) + " @ 5 %", "essl-scratch", {"downstream.label_fraction=0.05"});
    a.init = variant;
    low.arms.push_back(a);
  }
  s.push_back(low);
  std::vector<StudyArm> objectives;
  for (const char* p :
       {"essl-spatial", "essl-rot-contrastive", "essl-translation-cls", "essl-scale-cls",
        "essl-flip-cls", "essl-invariance", "essl-zoo-simclr", "essl-zoo-byol", "essl-zoo-barlow",
        "essl-zoo-mixbt", "essl-zoo-vicreg", "essl-zoo-amcl"})
    objectives.push_back(arm(p, p));
  s.push_back(makeStudy(
      "essl-objectives",
      "Pre-training objectives: contrastive vs classification per transform, the zoo", objectives,
      {"equiv/translation_err", "equiv/scale_err", "equiv/flip_err", "equiv/rotation_err",
       "equiv/match_top1", "equiv/rot_cls_acc", "equiv/feat_std", "equiv/eff_rank"}));
  return s;
}

std::vector<StudyRun> runStudy(const Study& study, const std::string& outDir,
                               const std::function<void(const std::string&)>& progress) {
  // Validate every arm before training anything.
  std::vector<StudyArm> all = study.pretrain;
  all.insert(all.end(), study.arms.begin(), study.arms.end());
  for (const auto& a : all) {
    if (!a.init.empty() && std::none_of(study.pretrain.begin(), study.pretrain.end(),
                                        [&](const StudyArm& p) { return p.label == a.init; }))
      throw std::runtime_error("arm '" + a.label + "': no pre-training arm '" + a.init + "'");
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

  auto launch = [&](const StudyArm& a, std::int64_t seed, std::vector<std::string> extra,
                    std::int64_t steps) {
    LaunchRequest req;
    req.configOrPreset = a.preset;
    req.overrides = a.overrides;
    req.overrides.insert(req.overrides.end(), extra.begin(), extra.end());
    req.overrides.push_back("experiment.seed=" + std::to_string(seed));
    req.runsRoot = (fs::path(outDir) / "runs").string();
    req.maxSteps = steps;
    std::vector<ConfigIssue> issues;
    std::string error;
    auto job = TrainingJob::prepare(req, issues, error);
    if (!job)
      throw std::runtime_error("arm '" + a.label +
                               "': " + (issues.empty() ? error : issues[0].toString()));
    ControlBlock control;
    NullSink sink;
    RunStatus st = job->run(control, sink);
    return StudyRun{a.label, seed, job->runDir(), toString(st.phase), {}};
  };

  std::vector<StudyRun> runs;
  // Pre-training arms: once each, with their own step count; downstream arms start from them.
  std::map<std::string, std::string> pretrained;
  for (const auto& a : study.pretrain) {
    StudyRun r = launch(a, 0, {}, 0);
    r.pretraining = true;
    if (progress) progress("pre-training " + a.label + ": " + r.phase + " (" + r.runDir + ")");
    if (r.phase != "finished")
      throw std::runtime_error("pre-training arm '" + a.label + "' " + r.phase + ": see " +
                               r.runDir + "/log.txt");
    pretrained[a.label] = r.runDir;
    runs.push_back(std::move(r));
  }
  std::map<std::string, std::vector<PlotSeries>> curves;  // key -> one series per run
  for (const auto& a : study.arms) {
    for (auto seed : study.seeds) {
      std::vector<std::string> extra;
      if (!a.init.empty()) extra.push_back("downstream.init=" + pretrained.at(a.init));
      StudyRun r = launch(a, seed, extra, study.steps);
      auto acc = readMetrics(r.runDir);
      for (const auto& key : study.keys) {
        auto it = acc.series().find(key);
        r.finals.push_back(it == acc.series().end() || it->second.empty()
                               ? std::nan("")
                               : it->second.back().value);
        if (it != acc.series().end()) {
          PlotSeries s;
          s.label = a.label + (study.seeds.size() > 1 ? " s" + std::to_string(seed) : "");
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
    if (r.pretraining) continue;
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
        if (!r.pretraining && r.arm == a.label && std::isfinite(r.finals[k]))
          v.push_back(r.finals[k]);
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
  if (!study.pretrain.empty()) {
    md << "\nPre-training runs (seed 0):";
    for (const auto& r : runs)
      if (r.pretraining) md << " " << r.arm << " = `" << r.runDir << "`;";
    md << "\n";
  }
  std::string err;
  // Group curves over x (e.g. label fraction): mean over seeds per arm.
  for (std::size_t k = 0; k < study.keys.size(); ++k) {
    std::map<std::string, PlotSeries> groups;
    for (const auto& a : study.arms) {
      if (a.group.empty()) continue;
      double sum = 0;
      int n = 0;
      for (const auto& r : runs)
        if (!r.pretraining && r.arm == a.label && std::isfinite(r.finals[k]))
          sum += r.finals[k], ++n;
      auto& g = groups[a.group];
      g.label = a.group;
      if (n) g.points.push_back({a.x, sum / n});
    }
    if (groups.empty()) continue;
    std::vector<PlotSeries> series;
    for (auto& [name, g] : groups) series.push_back(g);
    std::string file = study.keys[k];
    std::replace(file.begin(), file.end(), '/', '_');
    if (!writeFileAtomic((fs::path(outDir) / (file + "_by_group.svg")).string(),
                         studyPlot(study.name + ": " + study.keys[k] + " (mean over seeds)",
                                   study.xLabel, study.keys[k], series),
                         err))
      throw std::runtime_error(err);
  }
  if (!writeFileAtomic((fs::path(outDir) / "summary.csv").string(), csv.str(), err) ||
      !writeFileAtomic((fs::path(outDir) / "summary.md").string(), md.str(), err))
    throw std::runtime_error(err);
  for (const auto& [key, series] : curves) {
    std::string file = key;
    std::replace(file.begin(), file.end(), '/', '_');
    if (!writeFileAtomic((fs::path(outDir) / (file + ".svg")).string(),
                         studyPlot(study.name + ": " + key, "step", key, series), err))
      throw std::runtime_error(err);
  }
  return runs;
}

}  // namespace pretext::core
