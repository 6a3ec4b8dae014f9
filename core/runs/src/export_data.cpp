// Data exports from a run directory: metrics as CSV, point snapshots as PLY. LibTorch-free.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pretext/data/fs_util.h"
#include "pretext/data/readers.h"
#include "pretext/runs/export_data.h"
#include "pretext/runs/run_dir.h"
#include "pretext/runs/tfevents.h"

namespace pretext::core {
namespace {
namespace fs = std::filesystem;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void requireRun(const std::string& runDir) {
  if (!fs::exists(fs::path(runDir) / "metrics.csv"))
    throw std::runtime_error(runDir + ": not a run directory (no metrics.csv)");
}
}  // namespace

std::size_t exportMetricsCsv(const std::string& runDir, const std::string& outFile, bool wide,
                             const std::vector<std::string>& keys) {
  requireRun(runDir);
  auto series = readMetrics(runDir).series();
  if (!keys.empty()) {
    for (auto it = series.begin(); it != series.end();) {
      const bool keep = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
        return it->first.compare(0, k.size(), k) == 0;
      });
      it = keep ? std::next(it) : series.erase(it);
    }
    if (series.empty()) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ",") + k;
      throw std::runtime_error(runDir + ": no metric key matches '" + list + "'");
    }
  }
  std::ostringstream out;
  std::size_t rows = 0;
  if (!wide) {
    out << "segment,step,wall_s,key,value\n";
    for (const auto& [key, points] : series)
      for (const auto& p : points) {
        out << p.segment << ',' << p.step << ',' << number(p.wallS) << ',' << csvField(key) << ','
            << number(p.value) << '\n';
        ++rows;
      }
  } else {
    // One row per step; wall_s is the latest wall time logged at that step.
    std::map<std::int64_t, std::map<std::string, double>> table;
    std::map<std::int64_t, double> wall;
    for (const auto& [key, points] : series)
      for (const auto& p : points) {
        table[p.step][key] = p.value;
        wall[p.step] = std::max(wall[p.step], p.wallS);
      }
    out << "step,wall_s";
    for (const auto& [key, points] : series) out << ',' << csvField(key);
    out << '\n';
    for (const auto& [step, values] : table) {
      out << step << ',' << number(wall[step]);
      for (const auto& [key, points] : series) {
        auto it = values.find(key);
        out << ',' << (it == values.end() ? std::string() : number(it->second));
      }
      out << '\n';
      ++rows;
    }
  }
  std::string error;
  if (!writeFileAtomic(outFile, out.str(), error)) throw std::runtime_error(outFile + ": " + error);
  return rows;
}

namespace {
// The snapshot of `step`, or the newest one, that `read` accepts (it returns nullptr with
// no error for snapshots of the other kind). Throws naming what is missing.
template <class Read>
auto findSnapshot(const std::string& runDir, std::optional<std::int64_t> step,
                  const std::string& kind, Read read) {
  requireRun(runDir);
  auto dirs = snapshotDirs(runDir);
  std::reverse(dirs.begin(), dirs.end());  // newest first
  for (const auto& dir : dirs) {
    if (step && fs::path(dir).filename() != checkpointDirName(*step)) continue;
    std::string error;
    auto snap = read(dir, error);
    if (!error.empty()) throw std::runtime_error(error);
    if (snap) return snap;
    if (step) throw std::runtime_error(dir + ": not " + kind);
  }
  throw std::runtime_error(runDir + (step ? ": no snapshot at step " + std::to_string(*step)
                                          : ": the run has no " + kind.substr(kind.find(' ') + 1)));
}
}  // namespace

std::int64_t exportSnapshotPly(const std::string& runDir, const std::string& outFile,
                               std::optional<std::int64_t> step) {
  const auto snap = findSnapshot(runDir, step, "a point snapshot", readPointSnapshot);
  PointCloud cloud;
  cloud.xyz = snap->xyz;
  for (const auto& [field, values] : snap->fields) {
    cloud.fieldNames.push_back(field);
    cloud.fields.push_back(values);
  }
  writePly(outFile, cloud, /*binary=*/true);
  return snap->step;
}

std::int64_t exportAttentionCsv(const std::string& runDir, const std::string& outFile,
                                std::optional<std::int64_t> step) {
  const auto snap = findSnapshot(runDir, step, "an attention snapshot", readAttentionSnapshot);
  std::ostringstream out;
  out << "layer,head,query,key,query_token,key_token,weight\n";
  std::size_t i = 0;
  for (int l = 0; l < snap->layers; ++l)
    for (int h = 0; h < snap->heads; ++h)
      for (int q = 0; q < snap->queries; ++q)
        for (int k = 0; k < snap->keys; ++k, ++i) {
          const int t = snap->hasSinkSlot ? k - 1 : k;
          const std::string keyToken = t < 0 ? std::string("<sink>") : snap->tokens[t];
          out << l << ',' << h << ',' << q << ',' << k << ',' << csvField(snap->tokens[q]) << ','
              << csvField(keyToken) << ',' << number(snap->maps[i]) << '\n';
        }
  std::string error;
  if (!writeFileAtomic(outFile, out.str(), error)) throw std::runtime_error(outFile + ": " + error);
  return snap->step;
}

std::string exportTfEvents(const std::string& runDir, const std::string& dir) {
  requireRun(runDir);
  const MetricsAccumulator acc = readMetrics(runDir);
  std::string error;
  std::vector<MetricRow> rows;
  TfEventsWriter w;
  // Wall times: the run's creation time plus its training wall time, so TensorBoard's
  // relative time axis matches Pretext's.
  double start = 0;
  std::string text;
  if (readFile((fs::path(runDir) / "run.json").string(), text, error)) {
    try {
      start = nlohmann::json::parse(text).value("created_at", 0.0);
    } catch (const std::exception&) {
      start = 0;
    }
  }
  if (!w.open(dir, start, error)) throw std::runtime_error(error);
  for (const auto& [key, points] : acc.series())
    for (const auto& p : points)
      if (!w.addScalar(key, p.step, start + p.wallS, p.value, error))
        throw std::runtime_error(error);
  if (!w.flush(error)) throw std::runtime_error(error);
  return w.path();
}

std::string importTfEvents(const std::string& source, const std::string& runsRoot) {
  std::vector<std::string> files;
  if (fs::is_directory(source))
    files = findTfEventFiles(source);
  else if (fs::exists(source))
    files = {source};
  if (files.empty())
    throw std::runtime_error(source + ": no TensorBoard event file (events.out.tfevents.*)");
  std::vector<ScalarEvent> events;
  for (const auto& f : files) {
    auto e = readTfEventsScalars(f);
    events.insert(events.end(), e.begin(), e.end());
  }
  if (events.empty()) throw std::runtime_error(source + ": the event files hold no scalars");
  double t0 = events.front().wallTime;
  for (const auto& e : events) t0 = std::min(t0, e.wallTime);
  std::vector<ConfigIssue> issues;
  auto config = Config::defaults().with(
      {"experiment.name=imported", "experiment.notes=imported from " + source}, issues);
  if (!config) throw std::runtime_error("import: " + issues.front().toString());
  std::string error;
  auto writer = RunDirWriter::create(runsRoot, *config, error);
  if (!writer) throw std::runtime_error(error);
  std::vector<MetricRow> rows;
  std::int64_t last = 0;
  for (const auto& e : events) {
    rows.push_back({1, e.step, e.wallTime - t0, e.tag, e.value});
    last = std::max(last, e.step);
  }
  RunStatus st;
  st.phase = RunPhase::Finished;
  st.step = st.maxSteps = last;
  if (!writer->appendMetrics(rows, error) || !writer->writeStatus(st, error))
    throw std::runtime_error(error);
  return writer->dir();
}

}  // namespace pretext::core
