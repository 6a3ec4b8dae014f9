#pragma once
// How a trainer reports to its watchers, and how watchers steer it.
// EventSink methods are called on the trainer thread; implementations must not block
// for long. ControlBlock is shared between the trainer and any number of controllers.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "pretext/runs/run_types.h"

namespace pretext::core {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void onMetrics(const std::vector<MetricRow>& rows) = 0;
  virtual void onStatus(const RunStatus& status) = 0;
  virtual void onSnapshot(PointSnapshotPtr snapshot) = 0;
  virtual void onLog(LogLevel level, const std::string& line) = 0;
  virtual void onAttention(AttentionSnapshotPtr) {}
};

// A sink that ignores everything (headless runs that only write the run directory).
class NullSink : public EventSink {
 public:
  void onMetrics(const std::vector<MetricRow>&) override {}
  void onStatus(const RunStatus&) override {}
  void onSnapshot(PointSnapshotPtr) override {}
  void onLog(LogLevel, const std::string&) override {}
};

// Bounded, coalescing queue from the trainer thread to a consumer (the GUI drains it on a
// timer). Producers never block on the consumer. Policy:
//  - status and snapshots: only the newest of each is kept (coalesced);
//  - metric rows: up to `maxRows`; on overflow the oldest are dropped and `metricsGap`
//    is reported, telling the consumer to re-read history from the run directory;
//  - log lines: up to `maxLogs`; on overflow the oldest are dropped and counted.
class EventQueue : public EventSink {
 public:
  explicit EventQueue(std::size_t maxRows = 200000, std::size_t maxLogs = 2000)
      : m_maxRows(maxRows), m_maxLogs(maxLogs) {}

  struct Batch {
    std::vector<MetricRow> metrics;
    bool metricsGap = false;
    bool hasStatus = false;
    RunStatus status;
    PointSnapshotPtr snapshot;
    AttentionSnapshotPtr attention;
    std::vector<std::pair<LogLevel, std::string>> logs;
    std::size_t logsDropped = 0;
    bool empty() const {
      return metrics.empty() && !hasStatus && !snapshot && !attention && logs.empty();
    }
  };

  void onMetrics(const std::vector<MetricRow>& rows) override;
  void onStatus(const RunStatus& status) override;
  void onSnapshot(PointSnapshotPtr snapshot) override;
  void onLog(LogLevel level, const std::string& line) override;
  void onAttention(AttentionSnapshotPtr snapshot) override;
  Batch drain();  // consumer side; never blocks on the producer for more than a copy

 private:
  std::mutex m_mutex;
  std::size_t m_maxRows, m_maxLogs;
  std::deque<MetricRow> m_rows;
  bool m_gap = false;
  bool m_hasStatus = false;
  RunStatus m_status;
  PointSnapshotPtr m_snapshot;
  AttentionSnapshotPtr m_attention;
  std::deque<std::pair<LogLevel, std::string>> m_logs;
  std::size_t m_logsDropped = 0;
};

// Fans events out to several sinks (e.g. the GUI queue and a console printer).
class FanoutSink : public EventSink {
 public:
  explicit FanoutSink(std::vector<EventSink*> sinks) : m_sinks(std::move(sinks)) {}
  void onMetrics(const std::vector<MetricRow>& r) override;
  void onStatus(const RunStatus& s) override;
  void onSnapshot(PointSnapshotPtr s) override;
  void onLog(LogLevel l, const std::string& line) override;
  void onAttention(AttentionSnapshotPtr s) override;

 private:
  std::vector<EventSink*> m_sinks;
};

// Start/stop/pause requests. The trainer checks it between steps, so Stop is honoured
// within one step and Pause takes effect at the next step boundary.
class ControlBlock {
 public:
  void requestStop();
  void setPaused(bool paused);
  void requestSnapshot() { m_snapshot.store(true); }
  bool stopRequested() const { return m_stop.load(); }
  bool paused() const { return m_paused.load(); }
  bool takeSnapshotRequest() { return m_snapshot.exchange(false); }
  // Trainer side: blocks while paused and no stop is requested; returns true if it waited.
  bool waitWhilePaused();
  // A config value to change before the next step ("apply at next step"); only the keys
  // liveConfigKeys() lists. The trainer validates it, applies it and records an event.
  void requestChange(const std::string& key, const std::string& value);
  // Trainer side: the requested changes in request order, and forgets them.
  std::vector<std::pair<std::string, std::string>> takeChanges();

 private:
  std::atomic<bool> m_stop{false}, m_paused{false}, m_snapshot{false}, m_changed{false};
  std::vector<std::pair<std::string, std::string>> m_changes;
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

}  // namespace pretext::core
