#include "pretext/session/trainer_host.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pretext::session {

TrainerHost::TrainerHost(QObject* parent) : RunSource(parent) {
  m_timer.setInterval(33);  // ~30 Hz: charts and views never redraw faster than this
  connect(&m_timer, &QTimer::timeout, this, &TrainerHost::drain);
}

TrainerHost::~TrainerHost() {
  if (m_control) m_control->requestStop();
  if (m_thread.joinable()) m_thread.join();
}

bool TrainerHost::start(const core::LaunchRequest& request, std::vector<core::ConfigIssue>& issues,
                        std::string& error) {
  if (active()) {
    error = "a run is already active; stop it first";
    return false;
  }
  m_job = core::TrainingJob::prepare(request, issues, error);
  if (!m_job) return false;
  m_control = std::make_unique<core::ControlBlock>();
  m_runDir = QString::fromStdString(m_job->runDir());
  m_kind = QString::fromStdString(m_job->config().getString("experiment.kind"));
  m_batchSize = static_cast<double>(m_job->config().getInt("trainer.batch_size"));
  m_resumedOverrides = m_job->resumedOverrides();
  m_startStep = m_job->startStep();
  m_done = false;
  m_status = core::RunStatus{};
  m_thread = std::thread([this] {
    // Training yields the CPU to the GUI thread: a lower priority (nice 10) for this
    // thread and the intra-op worker threads it spawns, which inherit it. On a 2-core
    // machine this is what keeps the window responsive while all cores train.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
    // run() never throws: every failure becomes a Failed status.
    m_final = m_job->run(*m_control, m_queue);
    m_done = true;
  });
  m_timer.start();
  Q_EMIT started(m_runDir);
  return true;
}

void TrainerHost::pause() {
  if (m_control) m_control->setPaused(true);
}
void TrainerHost::resume() {
  if (m_control) m_control->setPaused(false);
}
void TrainerHost::stop() {
  if (m_control) m_control->requestStop();
}
void TrainerHost::snapshotNow() {
  if (m_control) m_control->requestSnapshot();
}

bool TrainerHost::requestChange(const QString& key, const QString& value) {
  if (!m_control || !active()) return false;
  m_control->requestChange(key.toStdString(), value.trimmed().toStdString());
  return true;
}

void TrainerHost::drain() {
  const bool done = m_done.load();  // read before draining so no event is left behind
  auto batch = m_queue.drain();
  if (batch.metricsGap) Q_EMIT metricsGap(m_runDir);
  if (!batch.metrics.empty()) Q_EMIT metricsArrived(batch.metrics);
  if (batch.snapshot) Q_EMIT snapshotArrived(batch.snapshot);
  if (batch.attention) Q_EMIT attentionArrived(batch.attention);
  for (const auto& [level, line] : batch.logs)
    Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(line));
  if (batch.hasStatus) {
    m_status = batch.status;
    Q_EMIT statusChanged(m_status);
  }
  if (done) {
    m_timer.stop();
    m_thread.join();  // the thread has returned already; this does not wait
    m_job.reset();
    m_control.reset();
    m_status = m_final;
    Q_EMIT statusChanged(m_final);
    Q_EMIT finished(m_final);
  }
}

}  // namespace pretext::session
