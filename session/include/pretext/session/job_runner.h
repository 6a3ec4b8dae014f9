#pragma once
// Every task the window runs off the GUI thread goes through a JobRunner: snapshot loads,
// feature colours, encoder probes, figure and 3D exports, run listings, metric histories.
// Work runs on Qt's global thread pool; its result is delivered on the runner's thread (the
// GUI thread) by the `done` callback.
//
// Jobs are grouped in named lanes, and the newest job of a lane wins: starting a job
// supersedes the one still in flight in the same lane (its token reports cancelled and its
// result is dropped), so fast scrubbing or repeated clicks never show a stale result.
// cancel(lane) drops the lane's job the same way. A work function that throws has its
// message delivered by failed(); a dropped job calls its optional `dropped` callback once
// its work has returned (exports use it to delete the file nobody wants any more).
//
// Work functions run on a worker thread: they must not touch widgets or the objects that
// own the runner, only what they captured by value. Long ones should poll their token.
// Destroying the runner drops every result still to come. GUI thread only.
#include <QFuture>
#include <QFutureWatcher>
#include <QHash>
#include <QObject>
#include <QString>
#include <QtConcurrent/QtConcurrentRun>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>

namespace pretext::session {

// Tells a running job whether its result is still wanted.
class CancelToken {
 public:
  CancelToken() : m_flag(std::make_shared<std::atomic<bool>>(false)) {}
  bool cancelled() const { return m_flag->load(std::memory_order_relaxed); }
  void cancel() const { m_flag->store(true, std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> m_flag;
};

class JobRunner : public QObject {
  Q_OBJECT
 public:
  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;

  // Starts `work(token)` on a worker; `done(result)` runs on this thread if the job is still
  // the newest of `lane` and was not cancelled. The result type must be default
  // constructible (it is what a throwing job returns). The returned future finishes when
  // the work has returned, whether or not its result is delivered.
  template <class Work, class Done>
  auto run(const QString& lane, Work work, Done done, std::function<void()> dropped = {}) {
    using T = std::invoke_result_t<Work&, const CancelToken&>;
    static_assert(std::is_default_constructible_v<T>,
                  "a job's result must be default constructible");
    const Ticket ticket = begin(lane);
    auto failure = std::make_shared<QString>();
    QFuture<T> future =
        QtConcurrent::run([work = std::move(work), token = ticket.token, failure]() mutable -> T {
          try {
            return work(token);
          } catch (const std::exception& e) {
            *failure = QString::fromUtf8(e.what());
          } catch (...) {
            *failure = QStringLiteral("unknown error");
          }
          return T{};
        });
    auto* watcher = new QFutureWatcher<T>(this);
    connect(watcher, &QFutureWatcherBase::finished, this,
            [this, watcher, lane, ticket, failure, done = std::move(done),
             dropped = std::move(dropped)]() mutable {
              watcher->deleteLater();
              if (!end(lane, ticket)) {
                if (dropped) dropped();
                return;
              }
              if (!failure->isEmpty()) {
                Q_EMIT failed(lane, *failure);
                return;
              }
              done(watcher->result());
            });
    watcher->setFuture(future);
    return future;
  }

  // Drops the job in flight in `lane` (if any); its token reports cancelled.
  void cancel(const QString& lane);
  bool busy(const QString& lane) const { return m_lanes.contains(lane); }
  // Jobs started whose work has not yet returned to this thread.
  int jobsInFlight() const { return m_inFlight; }
  std::uint64_t jobsDelivered() const { return m_delivered; }
  std::uint64_t jobsDropped() const { return m_dropped; }
  // Processes events until no job is in flight or `timeoutMs` passed; true when idle.
  bool waitForIdle(int timeoutMs);

 Q_SIGNALS:
  void failed(const QString& lane, const QString& message);
  void idle();  // the last job in flight has returned

 private:
  struct Ticket {
    std::uint64_t id = 0;
    CancelToken token;
  };
  Ticket begin(const QString& lane);
  bool end(const QString& lane, const Ticket& ticket);  // true: deliver the result
  QHash<QString, Ticket> m_lanes;
  std::uint64_t m_nextId = 0, m_delivered = 0, m_dropped = 0;
  int m_inFlight = 0;
};

}  // namespace pretext::session
