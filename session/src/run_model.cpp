#include "pretext/session/run_model.h"

#include <algorithm>

#include "pretext/runs/config.h"
#include "pretext/session/run_watcher.h"
#include "pretext/session/trainer_host.h"

namespace pretext::session {

namespace {
const QString kSnapshotLane = QStringLiteral("snapshot");
const QString kSnapshotListLane = QStringLiteral("snapshot-list");
const QString kCompareLane = QStringLiteral("compare");

// What the views need from a run's config.yaml: its kind and scans per step.
struct RunInfo {
  QString kind;
  double samplesPerStep = 0;
};

RunInfo loadRunInfo(const std::string& runDir) {
  std::vector<core::ConfigIssue> issues;
  const auto cfg = core::Config::load(runDir + "/config.yaml", {}, issues);
  if (!cfg) return {};
  return {QString::fromStdString(cfg->getString("experiment.kind")),
          static_cast<double>(cfg->getInt("trainer.batch_size"))};
}
}  // namespace

RunModel::RunModel(QObject* parent) : QObject(parent) {
  m_host = new TrainerHost(this);
  m_watcher = new RunWatcher(this);
  m_history = new RunWatcher(this);
  connectSource(m_host);
  connectSource(m_watcher);
  connect(m_host, &TrainerHost::finished, this, [this](const core::RunStatus& s) {
    if (m_host->runDir() == m_current) onStatus(s);
    if (s.phase == core::RunPhase::Failed)
      Q_EMIT logLine(2, tr("run failed: %1").arg(QString::fromStdString(s.error)));
    Q_EMIT finished(s);
  });
  connect(m_host, &TrainerHost::metricsGap, this, [this](const QString& dir) {
    Q_EMIT logLine(1, tr("the live queue overflowed; some rows of %1 are only on disk (open "
                         "the run again once it has ended to see them)")
                          .arg(dir));
  });
  // A resumed run's history: rows up to the checkpoint, then the live rows held meanwhile.
  connect(m_history, &RunWatcher::metricsArrived, this,
          [this](const std::vector<core::MetricRow>& rows) { appendRows(m_current, rows); });
  connect(m_history, &RunWatcher::loadProgress, this, &RunModel::loadProgress);
  connect(m_history, &RunWatcher::logLine, this, &RunModel::logLine);
  connect(m_history, &RunWatcher::historyDone, this, [this] {
    auto held = std::move(m_liveWhileHistory);
    m_liveWhileHistory.clear();
    appendRows(m_current, held);
  });
  connect(&m_jobs, &JobRunner::failed, this, [this](const QString& lane, const QString& message) {
    Q_EMIT logLine(2, tr("%1: %2").arg(lane, message));
  });
}

RunModel::~RunModel() = default;

void RunModel::connectSource(RunSource* source) {
  connect(source, &RunSource::metricsArrived, this,
          [this, source](const std::vector<core::MetricRow>& rows) { onRows(source, rows); });
  // Only the current run's: a run can train here while another one is shown.
  auto current = [this, source] { return !m_current.isEmpty() && source->runDir() == m_current; };
  connect(source, &RunSource::statusChanged, this, [this, current](const core::RunStatus& s) {
    if (current()) onStatus(s);
  });
  connect(source, &RunSource::snapshotArrived, this,
          [this, current](const core::PointSnapshotPtr& s) {
            if (current()) onSnapshot(s);
          });
  connect(source, &RunSource::attentionArrived, this,
          [this, current](const core::AttentionSnapshotPtr& a) {
            if (current()) Q_EMIT attentionArrived(a);
          });
  connect(source, &RunSource::logLine, this, &RunModel::logLine);
  connect(source, &RunSource::loadProgress, this, &RunModel::loadProgress);
}

bool RunModel::training() const { return m_host->active(); }

bool RunModel::loading() const { return m_watcher->reading() || m_history->reading(); }

MetricsStore RunModel::metrics(const QString& runDir) const {
  auto it = m_runs.find(runDir);
  return it == m_runs.end() ? nullptr : MetricsStore(it->metrics);
}

double RunModel::samplesPerStep(const QString& runDir) const {
  auto it = m_runs.find(runDir);
  return it == m_runs.end() ? 0 : it->samplesPerStep;
}

bool RunModel::start(const core::LaunchRequest& request, QStringList& problems) {
  std::vector<core::ConfigIssue> issues;
  std::string error;
  m_watcher->stopWatching();
  if (!m_host->start(request, issues, error)) {
    for (const auto& i : issues) problems << QString::fromStdString(i.toString());
    if (!error.empty()) problems << QString::fromStdString(error);
    return false;
  }
  resetTo(m_host->runDir());
  addRun(m_current);
  setKind(m_current, m_host->experimentKind(), m_host->batchSize());
  if (!request.resumeDir.empty()) {
    // The history that led to the checkpoint, read in pieces; live rows wait for it. The
    // trainer appends its resume marker only once the checkpoint has loaded, so the cut at
    // the checkpoint is made here (rows past it belong to an abandoned branch or come live).
    m_history->readHistory(m_current, m_host->startStep());
  }
  return true;
}

void RunModel::open(const QString& runDir) {
  if (training() && runDir == m_host->runDir()) return;
  resetTo(runDir);
  addRun(runDir);
  readRunInfo(runDir);
  m_watcher->watch(runDir);
}

void RunModel::compare(const QStringList& runDirs) {
  if (runDirs.size() < 2) return;
  if (training()) {
    Q_EMIT logLine(1, tr("compare runs once the training run has ended (its plots stay live "
                         "until then)"));
    return;
  }
  resetTo(QString());
  m_compared = runDirs;
  struct Loaded {
    std::vector<std::shared_ptr<core::MetricsAccumulator>> metrics;
    std::vector<RunInfo> info;
  };
  std::vector<std::string> dirs;
  for (const auto& d : runDirs) dirs.push_back(d.toStdString());
  m_jobs.run(
      kCompareLane,
      [dirs](const CancelToken& token) {
        Loaded out;
        for (const auto& d : dirs) {
          if (token.cancelled()) break;
          out.metrics.push_back(std::make_shared<core::MetricsAccumulator>(core::readMetrics(d)));
          out.info.push_back(loadRunInfo(d));
        }
        return out;
      },
      [this, runDirs](const Loaded& loaded) {
        if (m_compared != runDirs ||
            loaded.metrics.size() != static_cast<std::size_t>(runDirs.size()))
          return;
        for (int i = 0; i < runDirs.size(); ++i) {
          const auto k = static_cast<std::size_t>(i);
          Run& run = m_runs[runDirs[i]];
          run.metrics = loaded.metrics[k];
          run.samplesPerStep = loaded.info[k].samplesPerStep;
          Q_EMIT runAdded(runDirs[i], run.metrics);
          // The first run's kind picks what the views show.
          if (i == 0) m_kind = loaded.info[k].kind;
          Q_EMIT runInfo(runDirs[i], loaded.info[k].kind, run.samplesPerStep);
          Q_EMIT metricsChanged(runDirs[i]);
        }
        Q_EMIT logLine(0, tr("comparing %1 runs: %2").arg(runDirs.size()).arg(runDirs.join(", ")));
        Q_EMIT comparisonShown(runDirs);
      });
}

void RunModel::cancelLoading() {
  m_watcher->stopWatching();
  if (!m_history->runDir().isEmpty()) {
    m_history->stopWatching();
    auto held = std::move(m_liveWhileHistory);
    m_liveWhileHistory.clear();
    appendRows(m_current, held);
  }
}

void RunModel::resetTo(const QString& runDir) {
  m_watcher->stopWatching();
  m_history->stopWatching();
  m_liveWhileHistory.clear();
  m_jobs.cancel(kSnapshotLane);
  m_jobs.cancel(kSnapshotListLane);
  m_jobs.cancel(kCompareLane);
  m_current = runDir;
  m_compared.clear();
  m_kind.clear();
  m_runs.clear();
  m_snapSteps.clear();
  m_snapshot.reset();
  m_shownIndex = -1;
  m_following = true;
  Q_EMIT reset(runDir);
  Q_EMIT snapshotStepsChanged();
}

RunModel::Run& RunModel::addRun(const QString& runDir) {
  Run& run = m_runs[runDir];
  run.metrics = std::make_shared<core::MetricsAccumulator>();
  Q_EMIT runAdded(runDir, run.metrics);
  return run;
}

void RunModel::readRunInfo(const QString& runDir) {
  const std::string dir = runDir.toStdString();
  m_jobs.run(
      QStringLiteral("info"), [dir](const CancelToken&) { return loadRunInfo(dir); },
      [this, runDir](const RunInfo& info) {
        if (runDir == m_current) setKind(runDir, info.kind, info.samplesPerStep);
      });
}

void RunModel::setKind(const QString& runDir, const QString& kind, double samplesPerStep) {
  m_kind = kind;
  m_runs[runDir].samplesPerStep = samplesPerStep;
  Q_EMIT runInfo(runDir, kind, samplesPerStep);
}

void RunModel::onRows(const RunSource* source, const std::vector<core::MetricRow>& rows) {
  if (source->runDir() != m_current || m_current.isEmpty()) return;  // not the run shown
  if (!m_history->runDir().isEmpty()) {  // a resumed run's history is still being read
    m_liveWhileHistory.insert(m_liveWhileHistory.end(), rows.begin(), rows.end());
    return;
  }
  appendRows(m_current, rows);
}

void RunModel::appendRows(const QString& runDir, const std::vector<core::MetricRow>& rows) {
  auto it = m_runs.find(runDir);
  if (it == m_runs.end() || rows.empty()) return;
  for (const auto& r : rows) it->metrics->addRow(r);
  Q_EMIT metricsChanged(runDir);
}

void RunModel::onStatus(const core::RunStatus& status) {
  m_status = status;
  Q_EMIT statusChanged(status);
}

void RunModel::onSnapshot(const core::PointSnapshotPtr& snapshot) {
  // A new snapshot of the run: remember its step; show it unless the user went back.
  if (!std::binary_search(m_snapSteps.begin(), m_snapSteps.end(), snapshot->step)) {
    // The first one of a run: list the earlier ones on disk (a run opened from disk
    // delivers only its newest); later ones are appended as they come.
    if (m_snapSteps.empty()) listSnapshots();
    if (m_snapSteps.empty() || snapshot->step > m_snapSteps.back())
      m_snapSteps.push_back(snapshot->step);
    Q_EMIT snapshotStepsChanged();
  }
  if (m_following) setShown(snapshot, static_cast<int>(m_snapSteps.size()) - 1);
}

void RunModel::listSnapshots() {
  if (m_current.isEmpty()) return;
  const std::string run = m_current.toStdString();
  m_jobs.run(
      kSnapshotListLane, [run](const CancelToken&) { return core::pointSnapshotSteps(run); },
      [this](std::vector<std::int64_t> steps) {
        const std::int64_t shown = m_snapshot ? m_snapshot->step : -1;
        for (std::int64_t s : m_snapSteps)  // live ones not yet on disk
          if (!std::binary_search(steps.begin(), steps.end(), s)) steps.push_back(s);
        std::sort(steps.begin(), steps.end());
        m_snapSteps = steps;
        const auto at = std::lower_bound(m_snapSteps.begin(), m_snapSteps.end(), shown);
        m_shownIndex = shown < 0 || at == m_snapSteps.end() || *at != shown
                           ? -1
                           : static_cast<int>(at - m_snapSteps.begin());
        if (m_following && !m_snapSteps.empty())
          m_shownIndex = static_cast<int>(m_snapSteps.size()) - 1;
        Q_EMIT snapshotStepsChanged();
      });
}

void RunModel::showSnapshot(int index) {
  if (index < 0 || index >= static_cast<int>(m_snapSteps.size()) || m_current.isEmpty()) return;
  m_following = index == static_cast<int>(m_snapSteps.size()) - 1;
  m_shownIndex = index;
  const std::int64_t step = m_snapSteps[static_cast<std::size_t>(index)];
  if (m_snapshot && m_snapshot->step == step) {
    m_jobs.cancel(kSnapshotLane);  // back where we are: an older request is not wanted
    return;
  }
  const std::string dir = core::snapshotDir(m_current.toStdString(), step);
  m_jobs.run(
      kSnapshotLane,
      [dir](const CancelToken&) {
        std::string error;
        auto snap = core::readPointSnapshot(dir, error);
        if (!snap && !error.empty()) throw std::runtime_error(error);
        return snap;
      },
      [this, index](const core::PointSnapshotPtr& snap) {
        if (snap) setShown(snap, index);
      });
}

void RunModel::setShown(const core::PointSnapshotPtr& snapshot, int index) {
  m_snapshot = snapshot;
  m_shownIndex = index;
  Q_EMIT snapshotShown(snapshot);
}

}  // namespace pretext::session
