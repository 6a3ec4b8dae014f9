#include "pretext/session/job_runner.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>

namespace pretext::session {

JobRunner::JobRunner(QObject* parent) : QObject(parent) {}

JobRunner::~JobRunner() {
  // Workers still running keep only what they captured; their results are dropped with
  // the watchers (children of this object).
  for (const Ticket& t : m_lanes) t.token.cancel();
}

JobRunner::Ticket JobRunner::begin(const QString& lane) {
  auto it = m_lanes.find(lane);
  if (it != m_lanes.end()) it->token.cancel();  // superseded
  Ticket t;
  t.id = ++m_nextId;
  m_lanes.insert(lane, t);
  ++m_inFlight;
  return t;
}

bool JobRunner::end(const QString& lane, const Ticket& ticket) {
  --m_inFlight;
  auto it = m_lanes.find(lane);
  const bool newest = it != m_lanes.end() && it->id == ticket.id;
  if (newest) m_lanes.erase(it);
  const bool deliver = newest && !ticket.token.cancelled();
  ++(deliver ? m_delivered : m_dropped);
  if (m_inFlight == 0) Q_EMIT idle();
  return deliver;
}

void JobRunner::cancel(const QString& lane) {
  auto it = m_lanes.find(lane);
  if (it == m_lanes.end()) return;
  it->token.cancel();
  m_lanes.erase(it);
}

bool JobRunner::waitForIdle(int timeoutMs) {
  QElapsedTimer t;
  t.start();
  while (m_inFlight > 0 && t.elapsed() < timeoutMs) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    if (m_inFlight > 0) QThread::msleep(2);
  }
  return m_inFlight == 0;
}

}  // namespace pretext::session
