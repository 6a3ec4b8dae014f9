#include "pretext/session/run_watcher.h"

#include <filesystem>
#include <set>

#include "pretext/data/fs_util.h"
#include "pretext/runs/run_dir.h"

namespace fs = std::filesystem;

namespace pretext::session {

struct RunWatcher::State {
  std::string dir;
  core::LineTail metrics;
  bool historyOnly = false;
  std::int64_t upToStep = 0;  // with historyOnly
  std::string lastSnapshot;
  std::set<std::string> attentionSeen;  // snapshot folders delivered or not attention maps
  double lastStatusTime = -1;
  bool lastStale = false;
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

namespace {
const QString kLane = QStringLiteral("poll");
}  // namespace

RunWatcher::RunWatcher(QObject* parent) : RunSource(parent) {
  connect(&m_timer, &QTimer::timeout, this, &RunWatcher::poll);
  connect(&m_jobs, &JobRunner::failed, this, [this](const QString&, const QString& message) {
    m_inFlight = false;
    Q_EMIT logLine(1, message);
  });
}

RunWatcher::~RunWatcher() { m_timer.stop(); }

void RunWatcher::watch(const QString& runDir, int intervalMs) {
  stopWatching();
  m_dir = runDir;
  m_state = std::make_shared<State>(runDir.toStdString());
  m_timer.start(intervalMs);
  poll();
}

void RunWatcher::readHistory(const QString& runDir, std::int64_t upToStep) {
  stopWatching();
  m_dir = runDir;
  m_state = std::make_shared<State>(runDir.toStdString());
  m_state->historyOnly = true;
  m_state->upToStep = upToStep;
  poll();
}

void RunWatcher::stopWatching() {
  m_timer.stop();
  m_backlog = false;
  m_dir.clear();
  m_state.reset();
  m_jobs.cancel(kLane);
  m_inFlight = false;
}

void RunWatcher::poll() {
  // Bounded pieces keep each delivery (the store appends the rows on the GUI thread) short.
  static constexpr std::uint64_t kPollBytes = 2u << 20;
  // One poll in flight at a time, until its result is delivered.
  if (!m_state || m_inFlight) return;
  m_inFlight = true;
  auto state = m_state;
  m_jobs.run(
      kLane,
      [state](const CancelToken&) {
        auto r = std::make_shared<PollResult>();
        r->source = state;
        for (const auto& line : state->metrics.poll(kPollBytes))
          if (auto row = core::parseMetricLine(line))
            if (!state->historyOnly || row->step <= state->upToStep) r->rows.push_back(*row);
        r->readBytes = state->metrics.offset();
        r->totalBytes = state->metrics.size();
        if (!state->historyOnly) pollRunFiles(*state, *r);
        return r;
      },
      [this](const std::shared_ptr<PollResult>& r) { deliver(r); });
}

void RunWatcher::deliver(const std::shared_ptr<PollResult>& r) {
  m_inFlight = false;
  if (!r || r->source != m_state) return;
  if (!r->rows.empty()) Q_EMIT metricsArrived(r->rows);
  // The rows are in the store now; the job's result may outlive this call (its watcher is
  // deleted later), so a 2 MiB piece is not kept twice meanwhile.
  std::vector<core::MetricRow>().swap(r->rows);
  // A history longer than one poll: report progress and read on at once.
  const bool more = r->readBytes < r->totalBytes;
  if (more || m_backlog)
    Q_EMIT loadProgress(static_cast<qint64>(r->readBytes), static_cast<qint64>(r->totalBytes));
  m_backlog = more;
  if (r->source->historyOnly && !more) {
    m_state.reset();
    m_dir.clear();
    Q_EMIT historyDone();
    return;
  }
  if (more) QTimer::singleShot(0, this, &RunWatcher::poll);
  if (r->hasStatus) Q_EMIT statusChanged(r->status);
  if (r->snapshot) Q_EMIT snapshotArrived(r->snapshot);
  for (const auto& a : r->attention) Q_EMIT attentionArrived(a);
  if (!r->error.empty()) Q_EMIT logLine(1, QString::fromStdString(r->error));
}

void RunWatcher::pollRunFiles(State& state, PollResult& r) {
  std::string err;
  if (auto st = core::readStatus(state.dir, err)) {
    // A crashed writer leaves "running" behind and never updates it: re-judged every poll.
    st->stale = core::writerGone(*st, core::unixNow());
    if (st->updatedAt != state.lastStatusTime || st->stale != state.lastStale) {
      state.lastStatusTime = st->updatedAt;
      state.lastStale = st->stale;
      r.hasStatus = true;
      r.status = *st;
    }
  }
  const auto dirs = core::snapshotDirs(state.dir);
  if (!dirs.empty()) {
    const std::string newest = fs::path(dirs.back()).filename().string();
    if (newest != state.lastSnapshot) {
      r.snapshot = core::readPointSnapshot(dirs.back(), r.error);
      if (r.snapshot || r.error.empty()) state.lastSnapshot = newest;
    }
  }
  for (const auto& dir : dirs) {
    if (state.attentionSeen.count(dir) || !r.error.empty()) continue;
    auto a = core::readAttentionSnapshot(dir, r.error);
    if (a) r.attention.push_back(a);
    if (a || r.error.empty()) state.attentionSeen.insert(dir);
  }
}

}  // namespace pretext::session
