#pragma once
// The Pretext main window: wiring only. The run state lives in a session::RunModel (the
// run training here or tailed from disk, compared runs, metric stores, snapshots); the
// central area is a RunView; the docks are a MainDocks; the menus a MainActions; exports
// an ExportController; the status bar a RunStatusBar. This class connects them, starts
// and opens runs, and keeps the window's settings. GUI thread only.
#include <QFuture>
#include <QMainWindow>
#include <memory>

#include "pretext/data/augment.h"
#include "pretext/runs/run_types.h"
#include "pretext/train/training_job.h"

class QSlider;

namespace pretext::session {
class RunModel;
class TrainerHost;
}  // namespace pretext::session

namespace pretext::widgets {

class AttentionView;
class AugmentationPanel;
class ConfigPanel;
class EquivarianceInspector;
class ExportController;
class FlowView;
class MainActions;
class MetricChart;
class ObjectivePanel;
class PointCloudView;
class RunStatusBar;
class RunView;
class RunsBrowser;
struct MainDocks;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts a run (new or resumed); false, with the problems logged, printed to stderr and
  // (unless `quiet`) shown in a message box, when it cannot start.
  bool startRun(const core::LaunchRequest& request, bool quiet = false);
  // Starts a run with the Experiment panel's values (F5).
  bool startFromPanel();
  void openRun(const QString& runDir);
  // Charts several runs side by side (the Runs panel's Compare).
  void compareRuns(const QStringList& runDirs);
  void setRunsRoot(const QString& root);
  QString runsRoot() const;
  // A long metrics history is being read (progress and Cancel in the status bar).
  bool loadingMetrics() const;
  void cancelLoading();
  // For the command line: save a screenshot to `screenshotPath` when the run ends, and/or
  // exit (status 1 if the run failed) once it has.
  void setAutomation(const QString& screenshotPath, bool exitWhenDone);
  // Closes without asking, stopping a training run first (SIGTERM).
  void quitWithoutAsking();
  // The window as a PNG plus a .json sidecar with where the views are; written in a job.
  QFuture<bool> saveScreenshot(const QString& path);

  // Exports (ExportController): the plots as a figure, the 3D view at N times its size.
  bool exportFigure(const QString& file, const QString& style, QString& error);
  QFuture<QString> exportFigureAsync(const QString& file, const QString& style,
                                     bool interactive = false);
  void cancelExport();
  bool exporting() const;
  QFuture<QString> export3dView(const QString& file, double scale, bool transparent,
                                bool interactive = false);

  PointCloudView* pointView() const;
  AttentionView* attentionView() const;
  EquivarianceInspector* inspector() const;
  FlowView* flowView() const;
  AugmentationPanel* augmentationPanel() const;
  ObjectivePanel* objectivePanel() const;
  MetricChart* lossChart() const;
  MetricChart* equivChart() const;
  ConfigPanel* configPanel() const;
  QSlider* snapshotSlider() const;
  RunsBrowser* runsBrowser() const;
  session::RunModel* model() const { return m_model; }
  session::TrainerHost* host() const;
  core::PointSnapshotPtr currentSnapshot() const;
  QString currentRunDir() const;
  core::RunStatus lastStatus() const;

 Q_SIGNALS:
  void runFinished(const pretext::core::RunStatus& status);
  void comparisonShown(const QStringList& runDirs);
  // An export ended: `error` is empty on success, "cancelled", or the problem.
  void exportDone(const QString& file, const QString& error);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void connectModel();
  void connectPanels();
  void connectActions();
  void onReset(const QString& runDir);
  void onRunInfo(const QString& runDir, const QString& kind, double samplesPerStep);
  void onFinished(const core::RunStatus& s);
  void showLaunchValues(const core::LaunchRequest& req);
  void importTfEvents(const QString& folder);
  void previewTransform(const core::SpatialTransform& t);
  void restoreSettings();
  void fitToScreen();  // the window inside the screen's available area
  void updateActions();
  void log(int level, const QString& line);

  session::RunModel* m_model = nullptr;
  RunView* m_runView = nullptr;
  std::unique_ptr<MainDocks> m_docks;
  MainActions* m_actions = nullptr;
  RunStatusBar* m_status = nullptr;
  ExportController* m_exports = nullptr;
  bool m_panelsLocked = false;  // the objective panel is attached to a training run
  QString m_screenshotPath;
  bool m_exitWhenDone = false;
  bool m_closeAfterStop = false;
  bool m_quitWithoutAsking = false;
};

}  // namespace pretext::widgets
