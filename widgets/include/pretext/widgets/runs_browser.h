#pragma once
// Lists the runs under a runs root with their status (running / paused / finished /
// stopped / failed / stale). Listing happens on a worker thread. Select two runs for the
// tree of config values that differ between them ("Diff"), or several to overlay them in
// every chart ("Compare"). The selection survives refreshes. GUI thread only.
#include <QFutureWatcher>
#include <QTimer>
#include <QWidget>
#include <vector>

#include "pretext/core/run_dir.h"

class QTreeWidget;
class QLabel;
class QPushButton;

namespace pretext::widgets {

class RunsBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunsBrowser(QWidget* parent = nullptr);
  void setRunsRoot(const QString& root);
  QString runsRoot() const { return m_root; }
  void refresh();
  int runCount() const;
  // Selects the runs in `dirs` (and only those).
  void selectRuns(const QStringList& dirs);
  QStringList selectedRuns() const;
  // Fills the diff tree with the config values that differ from run `a` to run `b`
  // (section > group > key: from → to); false with the problem shown if a config is
  // unreadable.
  bool showDiff(const QString& a, const QString& b);
  QTreeWidget* diffTree() const { return m_diff; }
  QPushButton* compareButton() const { return m_compare; }
  QPushButton* diffButton() const { return m_diffButton; }

 Q_SIGNALS:
  void openRun(const QString& dir);
  void resumeRun(const QString& dir);
  void refreshed();
  // Overlay these runs in every chart, in this order (stable colours).
  void compareRuns(const QStringList& dirs);

 private:
  void show(const std::vector<core::RunSummary>& runs);
  QString m_root;
  void updateButtons();
  QTreeWidget* m_tree = nullptr;
  QTreeWidget* m_diff = nullptr;
  QPushButton* m_compare = nullptr;
  QPushButton* m_diffButton = nullptr;
  QLabel* m_rootLabel = nullptr;
  QTimer m_timer;
  QFutureWatcher<std::vector<core::RunSummary>> m_future;
};

}  // namespace pretext::widgets
