#pragma once
// Tails a run directory written by another process (a CLI run, a cluster job over a shared
// filesystem) or a finished run. Polls on a timer (works where file watchers do not, e.g.
// NFS); each poll reads files on a worker thread and delivers results on the GUI thread.
// Use from the GUI thread only.
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QTimer>
#include <memory>

#include "pretext/core/run_types.h"

namespace pretext::session {

class RunWatcher : public QObject {
  Q_OBJECT
 public:
  explicit RunWatcher(QObject* parent = nullptr);
  ~RunWatcher() override;
  void watch(const QString& runDir, int intervalMs = 500);
  void stopWatching();
  QString runDir() const { return m_dir; }

 Q_SIGNALS:
  // Emitted once with the full history, then with each batch of new rows.
  void metricsArrived(const std::vector<pretext::core::MetricRow>& rows);
  void statusChanged(const pretext::core::RunStatus& status);
  void snapshotArrived(const pretext::core::PointSnapshotPtr& snapshot);
  // Every attention snapshot of the run, oldest first, each once (the sink views scrub
  // through training with them).
  void attentionArrived(const pretext::core::AttentionSnapshotPtr& snapshot);
  void error(const QString& message);
  // While a long metrics history is read (more than one poll's 2 MiB, about 70 000
  // rows), after each piece: bytes read and the file's size; the last has read == total.
  // stopWatching() cancels the rest.
  void loadProgress(qint64 readBytes, qint64 totalBytes);

 private:
  struct State;
  struct PollResult;
  void poll();
  void deliver();
  QString m_dir;
  QTimer m_timer;
  std::shared_ptr<State> m_state;  // owned by whichever poll is in flight, then by us
  QFutureWatcher<std::shared_ptr<PollResult>> m_future;
  bool m_backlog = false;   // a history larger than one poll is being read
  bool m_inFlight = false;  // a poll was started and its result not yet delivered
};

}  // namespace pretext::session
