#pragma once
// What the window shows of one run, whoever produces it: the trainer in this process
// (TrainerHost) or a run directory written by another process (RunWatcher). One set of
// signals, so the run model connects once whatever the source. GUI thread only.
#include <QObject>
#include <QString>
#include <vector>

#include "pretext/runs/run_types.h"

namespace pretext::session {

class RunSource : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  // The run directory this source delivers; empty while idle.
  virtual QString runDir() const = 0;

 Q_SIGNALS:
  void statusChanged(const pretext::core::RunStatus& status);
  // Metric rows in the order they were logged. From disk, a resumed run's marker rows come
  // too; the metrics store applies them (MetricsAccumulator).
  void metricsArrived(const std::vector<pretext::core::MetricRow>& rows);
  void snapshotArrived(const pretext::core::PointSnapshotPtr& snapshot);
  // Every attention snapshot of the run, oldest first, each once.
  void attentionArrived(const pretext::core::AttentionSnapshotPtr& snapshot);
  // level: 0 information, 1 warning, 2 error.
  void logLine(int level, const QString& line);
  // While a long metrics history is read: bytes read and the file's size; the last has
  // read == total.
  void loadProgress(qint64 readBytes, qint64 totalBytes);
};

}  // namespace pretext::session
