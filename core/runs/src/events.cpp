#include "pretext/runs/events.h"

#include <utility>

namespace pretext::core {

void EventQueue::onMetrics(const std::vector<MetricRow>& rows) {
  std::lock_guard<std::mutex> lock(m_mutex);
  for (const auto& r : rows) m_rows.push_back(r);
  while (m_rows.size() > m_maxRows) {
    m_rows.pop_front();
    m_gap = true;
  }
}

void EventQueue::onStatus(const RunStatus& status) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_status = status;
  m_hasStatus = true;
}

void EventQueue::onSnapshot(PointSnapshotPtr snapshot) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_snapshot = std::move(snapshot);
}

void EventQueue::onAttention(AttentionSnapshotPtr snapshot) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_attention = std::move(snapshot);
}

void EventQueue::onLog(LogLevel level, const std::string& line) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_logs.emplace_back(level, line);
  while (m_logs.size() > m_maxLogs) {
    m_logs.pop_front();
    ++m_logsDropped;
  }
}

EventQueue::Batch EventQueue::drain() {
  Batch b;
  std::lock_guard<std::mutex> lock(m_mutex);
  b.metrics.assign(m_rows.begin(), m_rows.end());
  m_rows.clear();
  b.metricsGap = m_gap;
  m_gap = false;
  b.hasStatus = m_hasStatus;
  b.status = m_status;
  m_hasStatus = false;
  b.snapshot = std::move(m_snapshot);
  m_snapshot.reset();
  b.attention = std::move(m_attention);
  m_attention.reset();
  b.logs.assign(m_logs.begin(), m_logs.end());
  m_logs.clear();
  b.logsDropped = m_logsDropped;
  m_logsDropped = 0;
  return b;
}

void FanoutSink::onMetrics(const std::vector<MetricRow>& r) {
  for (auto* s : m_sinks) s->onMetrics(r);
}
void FanoutSink::onStatus(const RunStatus& st) {
  for (auto* s : m_sinks) s->onStatus(st);
}
void FanoutSink::onSnapshot(PointSnapshotPtr snap) {
  for (auto* s : m_sinks) s->onSnapshot(snap);
}
void FanoutSink::onAttention(AttentionSnapshotPtr snap) {
  for (auto* s : m_sinks) s->onAttention(snap);
}
void FanoutSink::onLog(LogLevel l, const std::string& line) {
  for (auto* s : m_sinks) s->onLog(l, line);
}

void ControlBlock::requestStop() {
  m_stop.store(true);
  std::lock_guard<std::mutex> lock(m_mutex);
  m_cv.notify_all();
}

void ControlBlock::setPaused(bool paused) {
  m_paused.store(paused);
  std::lock_guard<std::mutex> lock(m_mutex);
  m_cv.notify_all();
}

bool ControlBlock::waitWhilePaused() {
  if (!m_paused.load()) return false;
  std::unique_lock<std::mutex> lock(m_mutex);
  m_cv.wait(lock, [&] { return !m_paused.load() || m_stop.load(); });
  return true;
}

void ControlBlock::requestChange(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_changes.emplace_back(key, value);
  m_changed.store(true);
}

std::vector<std::pair<std::string, std::string>> ControlBlock::takeChanges() {
  if (!m_changed.load()) return {};  // the common case: no lock per step
  std::lock_guard<std::mutex> lock(m_mutex);
  m_changed.store(false);
  return std::exchange(m_changes, {});
}

}  // namespace pretext::core
