#include "run_watcher.h"

#include <QtConcurrent/QtConcurrent>
#include <filesystem>
#include <set>

#include "pretext/core/run_dir.h"

namespace fs = std::filesystem;

namespace pretext::session {

struct RunWatcher::State {
  std::string dir;
  core::LineTail metrics;
  std::string lastSnapshot;
  std::set<std::string> attentionSeen;  // snapshot folders delivered or not attention maps
  double lastStatusTime = -1;
  explicit State(std::string d) : dir(d), metrics(d + "/metrics.csv") {}
};

struct RunWatcher::PollResult {
  std::shared_ptr<State> source;  // results of a run no longer watched are dropped
  std::vector<core::MetricRow> rows;
  bool hasStatus = false;
  core::RunStatus status;
  core::PointSnapshotPtr snapshot;
  std::vector<core::AttentionSnapshotPtr> attention;
  std::string error;
  std::uint64_t readBytes = 0, totalBytes = 0;  // of metrics.csv
};

RunWatcher::RunWatcher(QObject* parent) : QObject(parent) {
  connect(&m_timer, &QTimer::timeout, this, &RunWatcher::poll);
  connect(&m_future, &QFutureWatcher<std::shared_ptr<PollResult>>::finished, this,
          &RunWatcher::deliver);
}

RunWatcher::~RunWatcher() {
  m_timer.stop();
  m_future.waitForFinished();  // a poll reads a few small files; bounded
}

void RunWatcher::watch(const QString& runDir, int intervalMs) {
  stopWatching();
  m_dir = runDir;
  m_state = std::make_shared<State>(runDir.toStdString());
  m_timer.start(intervalMs);
  poll();
}

void RunWatcher::stopWatching() {
  m_timer.stop();
  m_backlog = false;
  m_dir.clear();
  m_state.reset();
}

void RunWatcher::poll() {
  // Bounded pieces keep each delivery (charts append the rows on the GUI thread) short.
  static constexpr std::uint64_t kPollBytes = 2u << 20;
  // One poll in flight at a time, until its result is delivered: a finished future whose
  // `finished` signal is still queued must not be replaced (its rows would be lost).
  if (!m_state || m_inFlight) return;
  m_inFlight = true;
  auto state = m_state;
  m_future.setFuture(QtConcurrent::run([state]() {
    auto r = std::make_shared<PollResult>();
    r->source = state;
    for (const auto& line : state->metrics.poll(kPollBytes))
      if (auto row = core::parseMetricLine(line)) r->rows.push_back(*row);
    r->readBytes = state->metrics.offset();
    r->totalBytes = state->metrics.size();
    std::string err;
    if (auto st = core::readStatus(state->dir, err)) {
      if (st->updatedAt != state->lastStatusTime) {
        state->lastStatusTime = st->updatedAt;
        r->hasStatus = true;
        r->status = *st;
      }
    }
    // The newest committed point snapshot, and every attention snapshot not yet delivered.
    const auto dirs = core::snapshotDirs(state->dir);
    if (!dirs.empty()) {
      const std::string newest = fs::path(dirs.back()).filename().string();
      if (newest != state->lastSnapshot) {
        r->snapshot = core::readPointSnapshot(dirs.back(), r->error);
        if (r->snapshot || r->error.empty()) state->lastSnapshot = newest;
      }
    }
    for (const auto& dir : dirs) {
      if (state->attentionSeen.count(dir) || !r->error.empty()) continue;
      auto a = core::readAttentionSnapshot(dir, r->error);
      if (a) r->attention.push_back(a);
      if (a || r->error.empty()) state->attentionSeen.insert(dir);
    }
    return r;
  }));
}

void RunWatcher::deliver() {
  m_inFlight = false;
  auto r = m_future.result();
  if (!r || r->source != m_state) {
    if (m_state) poll();  // a stale result (another run is watched now): start its poll
    return;
  }
  if (!r->rows.empty()) Q_EMIT metricsArrived(r->rows);
  // A history longer than one poll: report progress and read on at once.
  const bool more = r->readBytes < r->totalBytes;
  if (more || m_backlog)
    Q_EMIT loadProgress(static_cast<qint64>(r->readBytes), static_cast<qint64>(r->totalBytes));
  m_backlog = more;
  if (more) QTimer::singleShot(0, this, &RunWatcher::poll);
  if (r->hasStatus) Q_EMIT statusChanged(r->status);
  if (r->snapshot) Q_EMIT snapshotArrived(r->snapshot);
  for (const auto& a : r->attention) Q_EMIT attentionArrived(a);
  if (!r->error.empty()) Q_EMIT error(QString::fromStdString(r->error));
}

}  // namespace pretext::session
