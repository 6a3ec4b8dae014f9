#pragma once
// The runs the window shows and all it knows about them, without a widget in sight:
//   - the current run, live from the trainer in this process (TrainerHost) or tailed from
//     its directory (RunWatcher), or a set of compared runs read from disk;
//   - one metrics store per run (a MetricsAccumulator, resume markers applied), shared by
//     every chart that draws the run: rows are held once;
//   - the run's status and experiment kind;
//   - the index of its point snapshots (the steps on disk and those arriving live), and
//     the one shown: step k is loaded in a job, the newest request wins;
//   - a resumed run's history up to its checkpoint, read in pieces by a RunWatcher, never
//     on the GUI thread.
// Views connect to its signals and read its state. Every file it needs is read in a job
// (JobRunner). GUI thread only.
#include <QMap>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "pretext/runs/run_dir.h"
#include "pretext/runs/run_types.h"
#include "pretext/session/job_runner.h"

namespace pretext::core {
struct LaunchRequest;
}

namespace pretext::session {

class TrainerHost;
class RunWatcher;
class RunSource;

using MetricsStore = std::shared_ptr<const core::MetricsAccumulator>;

class RunModel : public QObject {
  Q_OBJECT
 public:
  explicit RunModel(QObject* parent = nullptr);
  ~RunModel() override;

  // Starts a new or resumed run in this process. False with `problems` (one message per
  // line: config issues, then the error) when it cannot start; nothing changes then.
  bool start(const core::LaunchRequest& request, QStringList& problems);
  // Tails a run directory (a no-op for the run training here).
  void open(const QString& runDir);
  // Shows the metrics of several finished runs side by side, in this order (run i gets
  // colour i). Refused (with a warning) while a run trains here.
  void compare(const QStringList& runDirs);
  // Stops reading a long metrics history; the stores keep what was read.
  void cancelLoading();
  bool loading() const;

  QString currentRun() const { return m_current; }
  QStringList comparedRuns() const { return m_compared; }
  QString experimentKind() const { return m_kind; }
  bool languageModel() const { return m_kind == QLatin1String("lm_sink"); }
  const core::RunStatus& status() const { return m_status; }
  bool training() const;  // a run trains in this process
  // The store of `runDir` (null when it is not shown).
  MetricsStore metrics(const QString& runDir) const;
  double samplesPerStep(const QString& runDir) const;

  // Point snapshots of the current run, oldest first, and the one shown.
  const std::vector<std::int64_t>& snapshotSteps() const { return m_snapSteps; }
  core::PointSnapshotPtr snapshot() const { return m_snapshot; }
  // The index shown in snapshotSteps(), or -1; following: the newest is shown as it comes.
  int shownIndex() const { return m_shownIndex; }
  bool followingNewest() const { return m_following; }
  // Shows snapshot `index` of snapshotSteps(), loaded in a job; the last index follows
  // the newest. Fast scrubbing loads only the last position asked for.
  void showSnapshot(int index);

  TrainerHost* host() const { return m_host; }
  RunWatcher* watcher() const { return m_watcher; }
  JobRunner* jobs() { return &m_jobs; }

 Q_SIGNALS:
  // The views start over for `runDir` (a new current run; empty for a comparison).
  void reset(const QString& runDir);
  // A run's store joins the views, in colour order; its kind and samples per step (0 when
  // unknown) follow in runInfo once its config has been read.
  void runAdded(const QString& runDir, const pretext::session::MetricsStore& store);
  void runInfo(const QString& runDir, const QString& experimentKind, double samplesPerStep);
  void metricsChanged(const QString& runDir);  // rows were added to the run's store
  void statusChanged(const pretext::core::RunStatus& status);
  void finished(const pretext::core::RunStatus& status);  // the run training here ended
  void snapshotStepsChanged();
  void snapshotShown(const pretext::core::PointSnapshotPtr& snapshot);
  void attentionArrived(const pretext::core::AttentionSnapshotPtr& snapshot);
  void logLine(int level, const QString& line);
  void loadProgress(qint64 readBytes, qint64 totalBytes);
  void comparisonShown(const QStringList& runDirs);

 private:
  struct Run {
    std::shared_ptr<core::MetricsAccumulator> metrics;
    double samplesPerStep = 0;
  };
  void connectSource(RunSource* source);
  void resetTo(const QString& runDir);
  Run& addRun(const QString& runDir);
  void readRunInfo(const QString& runDir);
  void setKind(const QString& runDir, const QString& kind, double samplesPerStep);
  void onRows(const RunSource* source, const std::vector<core::MetricRow>& rows);
  void onStatus(const core::RunStatus& status);
  void onSnapshot(const core::PointSnapshotPtr& snapshot);
  void listSnapshots();
  void setShown(const core::PointSnapshotPtr& snapshot, int index);
  void appendRows(const QString& runDir, const std::vector<core::MetricRow>& rows);

  JobRunner m_jobs;
  TrainerHost* m_host = nullptr;
  RunWatcher* m_watcher = nullptr;
  RunWatcher* m_history = nullptr;                  // a resumed run's history up to its checkpoint
  std::vector<core::MetricRow> m_liveWhileHistory;  // live rows held until it is read
  QString m_current;
  QStringList m_compared;
  QString m_kind;
  QMap<QString, Run> m_runs;
  core::RunStatus m_status;
  std::vector<std::int64_t> m_snapSteps;
  core::PointSnapshotPtr m_snapshot;
  int m_shownIndex = -1;
  bool m_following = true;
};

}  // namespace pretext::session
