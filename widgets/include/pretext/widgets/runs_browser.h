#pragma once
// Lists the runs under a runs root with their status (running / paused / finished /
// stopped / failed / stale). Listing happens on a worker thread. GUI thread only.
#include <QFutureWatcher>
#include <QTimer>
#include <QWidget>
#include <vector>

#include "pretext/core/run_dir.h"

class QTreeWidget;
class QLabel;

namespace pretext::widgets {

class RunsBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunsBrowser(QWidget* parent = nullptr);
  void setRunsRoot(const QString& root);
  QString runsRoot() const { return m_root; }
  void refresh();
  int runCount() const;

 Q_SIGNALS:
  void openRun(const QString& dir);
  void resumeRun(const QString& dir);
  void refreshed();

 private:
  void show(const std::vector<core::RunSummary>& runs);
  QString m_root;
  QTreeWidget* m_tree = nullptr;
  QLabel* m_rootLabel = nullptr;
  QTimer m_timer;
  QFutureWatcher<std::vector<core::RunSummary>> m_future;
};

}  // namespace pretext::widgets
