#pragma once
// Tails a run directory written by another process (a CLI run, a cluster job over a shared
// filesystem, a Python script) or a finished run. Polls on a timer (works where file
// watchers do not, e.g. NFS); each poll reads files in a job (JobRunner) and delivers the
// results on the GUI thread. A long metrics history is read in pieces of at most 2 MiB
// (about 70 000 rows), one piece per delivery, so the GUI thread only ever appends one
// piece at a time. Use from the GUI thread only.
#include <QString>
#include <QTimer>
#include <memory>

#include "pretext/runs/run_types.h"
#include "pretext/session/job_runner.h"
#include "pretext/session/run_source.h"

namespace pretext::session {

class RunWatcher : public RunSource {
  Q_OBJECT
 public:
  explicit RunWatcher(QObject* parent = nullptr);
  ~RunWatcher() override;
  // Tails everything: status, metrics (the full history first, then new rows), the newest
  // point snapshot and every attention snapshot. Errors arrive as warnings (logLine).
  void watch(const QString& runDir, int intervalMs = 500);
  // Reads the metrics history once, to the end the file has when the read reaches it,
  // delivering the rows logged at or before `upToStep` (a resumed run's history up to its
  // checkpoint); nothing else. historyDone() follows the last piece.
  void readHistory(const QString& runDir, std::int64_t upToStep);
  // Stops watching; rows of a read in progress are not delivered any more.
  void stopWatching();
  QString runDir() const override { return m_dir; }
  bool reading() const { return m_backlog; }  // a history longer than one piece is being read

 Q_SIGNALS:
  void historyDone();

 private:
  struct State;
  struct PollResult;
  void poll();
  // Status, the newest committed point snapshot and every attention snapshot not yet
  // delivered: a poll's work besides the metrics (on the worker).
  static void pollRunFiles(State& state, PollResult& r);
  void deliver(const std::shared_ptr<PollResult>& r);
  QString m_dir;
  QTimer m_timer;
  JobRunner m_jobs;
  std::shared_ptr<State> m_state;  // shared with the poll in flight
  bool m_backlog = false;          // a history larger than one poll is being read
  bool m_inFlight = false;         // a poll was started and its result not yet delivered
};

}  // namespace pretext::session
