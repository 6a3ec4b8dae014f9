#pragma once
// Hosts one training run on its own std::thread and delivers its events to the GUI thread.
// Use from the GUI thread only. The trainer thread and the GUI share only the ControlBlock
// and the EventQueue; the GUI drains the queue on a 30 Hz timer and never waits on it.
#include <QString>
#include <QTimer>
#include <memory>
#include <thread>

#include "pretext/runs/config.h"
#include "pretext/runs/events.h"
#include "pretext/runs/run_types.h"
#include "pretext/session/run_source.h"
#include "pretext/train/training_job.h"

namespace pretext::session {

class TrainerHost : public RunSource {
  Q_OBJECT
 public:
  explicit TrainerHost(QObject* parent = nullptr);
  ~TrainerHost() override;  // requests a stop and joins the thread

  // Validates and starts a run. On failure returns false with `issues`/`error` filled and
  // leaves nothing on disk. Fails if a run is already active.
  bool start(const core::LaunchRequest& request, std::vector<core::ConfigIssue>& issues,
             std::string& error);
  bool active() const { return m_thread.joinable(); }
  QString runDir() const override { return m_runDir; }
  QString experimentKind() const { return m_kind; }
  double batchSize() const { return m_batchSize; }  // trainer.batch_size of the run
  // A resumed run's mid-run changes from its checkpoint ("key=value"), which it trains with
  // on top of config.yaml; empty for a new run.
  const std::vector<std::string>& resumedOverrides() const { return m_resumedOverrides; }
  core::RunStatus lastStatus() const { return m_status; }
  // The step the run starts from (a resumed run's checkpoint; 0 for a new run).
  std::int64_t startStep() const { return m_startStep; }
  // "Apply at next step": the trainer applies (or refuses, in the log) the new value before
  // its next step and records it in events.jsonl. False when no run is active.
  bool requestChange(const QString& key, const QString& value);

 public Q_SLOTS:
  void pause();
  void resume();
  void stop();
  void snapshotNow();

 Q_SIGNALS:
  // Besides RunSource's signals:
  void started(const QString& runDir);
  // Rows were dropped from the queue: re-read the metrics from the run directory.
  void metricsGap(const QString& runDir);
  void finished(const pretext::core::RunStatus& status);

 private:
  void drain();
  std::unique_ptr<core::TrainingJob> m_job;
  std::unique_ptr<core::ControlBlock> m_control;
  core::EventQueue m_queue;
  std::thread m_thread;
  std::atomic<bool> m_done{false};
  core::RunStatus m_final;
  core::RunStatus m_status;
  QTimer m_timer;
  QString m_runDir;
  QString m_kind;
  double m_batchSize = 0;
  std::vector<std::string> m_resumedOverrides;
  std::int64_t m_startStep = 0;
};

}  // namespace pretext::session
