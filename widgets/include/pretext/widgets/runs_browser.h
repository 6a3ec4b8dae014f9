#pragma once
// Lists the runs under a runs root with their status (running / paused / finished /
// stopped / failed / stale). Listing the runs and reading configs for a diff happen in jobs
// (session::JobRunner): no file is read on the GUI thread. Select two runs for the tree of
// config values that differ between them ("Diff"), or several to overlay them in every
// chart ("Compare"). The selection survives refreshes. GUI thread only.
#include <QTimer>
#include <QWidget>
#include <vector>

#include "pretext/runs/run_dir.h"
#include "pretext/session/job_runner.h"

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
  // Lists the runs again (emits `refreshed`), unless a listing is still in flight.
  void refresh();
  int runCount() const;
  // Selects the runs in `dirs` (and only those).
  void selectRuns(const QStringList& dirs);
  QStringList selectedRuns() const;
  // Reads both runs' config.yaml in a job, then fills the diff tree with the config values
  // that differ from run `a` to run `b` (section > group > key: from → to) and emits
  // diffShown(true); if a config is unreadable the tree shows the problem and
  // diffShown(false). A newer diff supersedes one still being read.
  void showDiff(const QString& a, const QString& b);
  QTreeWidget* diffTree() const { return m_diff; }
  QPushButton* compareButton() const { return m_compare; }
  QPushButton* diffButton() const { return m_diffButton; }

 Q_SIGNALS:
  void openRun(const QString& dir);
  void resumeRun(const QString& dir);
  void refreshed();
  // The diff tree shows what showDiff asked for (`ok`), or why it cannot (!`ok`).
  void diffShown(bool ok);
  // Overlay these runs in every chart, in this order (stable colours).
  void compareRuns(const QStringList& dirs);

 private:
  void show(const std::vector<core::RunSummary>& runs);
  void showChanges(const QString& a, const QString& b,
                   const std::vector<core::ConfigChange>& changes);
  QString m_root;
  void updateButtons();
  QTreeWidget* m_tree = nullptr;
  QTreeWidget* m_diff = nullptr;
  QPushButton* m_compare = nullptr;
  QPushButton* m_diffButton = nullptr;
  QLabel* m_rootLabel = nullptr;
  QTimer m_timer;
  session::JobRunner m_jobs;  // last: destroyed first, so no result arrives after the rest
};

}  // namespace pretext::widgets
