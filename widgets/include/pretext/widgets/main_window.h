#pragma once
// The Pretext main window: experiment panel, run controls, 3D view, live plots, runs
// browser and log, as docks. Shows either the run it hosts (TrainerHost) or a run
// directory it tails (RunWatcher). GUI thread only.
#include <QFuture>
#include <QMainWindow>
#include <QPointer>
#include <memory>

#include "pretext/core/augment.h"
#include "pretext/core/run_types.h"
#include "pretext/core/training_job.h"
#include "pretext/widgets/figure.h"

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QSlider;
class QToolButton;
class QStackedWidget;

namespace pretext::session {
class TrainerHost;
class RunWatcher;
}  // namespace pretext::session

namespace pretext::widgets {

class PointCloudView;
class AttentionView;
class EquivarianceInspector;
class FlowView;
class AugmentationPanel;
class ObjectivePanel;
class MetricChart;
class ConfigPanel;
class RunsBrowser;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts a run; shows problems in the log and a dialog (unless `quiet`). Returns success.
  bool startRun(const core::LaunchRequest& request, bool quiet = false);
  // Starts a run from the experiment panel's current values.
  bool startFromPanel();
  void openRun(const QString& runDir);
  // Overlays the runs' metrics in both charts (read on a worker; run i keeps colour i).
  void compareRuns(const QStringList& runDirs);
  void setRunsRoot(const QString& root);
  // Reading a run's long metrics history (status-bar progress); cancelLoading (the Cancel
  // button, Esc) stops it and keeps what was read.
  bool loadingMetrics() const;
  void cancelLoading();
  QString runsRoot() const;

  // Automation for e2e tests and figure scripts: when the hosted run ends, save a
  // screenshot (PNG + a JSON side file with the 3D view and chart rectangles), then
  // optionally quit with exit code 0 (finished) or 1 (failed).
  void setAutomation(const QString& screenshotPath, bool exitWhenDone);
  // SIGTERM/SIGINT: stop a training run after its current step (with a checkpoint), then
  // close, without asking.
  void quitWithoutAsking();
  bool saveScreenshot(const QString& path);
  // The two plots (their keys, runs, colours and log scales) as a publication figure in
  // `style` (single-column, double-column, slide); format from the extension (.pdf, .svg,
  // .png at 300 dpi). False with `error` naming the problem.
  bool exportFigure(const QString& file, const QString& style, QString& error);
  // The same on a worker thread (the GUI's File › Export figure): the curves are copied,
  // the painting runs off the GUI thread with a status message and "Cancel export".
  QFuture<QString> exportFigureAsync(const QString& file, const QString& style,
                                     bool interactive = false);
  // Cancels the running export: it completes on its worker and its file is removed.
  void cancelExport();
  bool exporting() const;
  // The 3D view, camera-locked, at `scale` x its on-screen resolution with the colour bar
  // (PNG, optionally transparent; PDF/EPS with vector labels), rendered off screen on a
  // worker thread. The future's result is empty on success, else the error (logged; shown
  // in a dialog when `interactive`).
  QFuture<QString> export3dView(const QString& file, double scale, bool transparent,
                                bool interactive = false);

  PointCloudView* pointView() const { return m_view; }
  AttentionView* attentionView() const { return m_attention; }
  EquivarianceInspector* inspector() const { return m_inspector; }
  FlowView* flowView() const { return m_flow; }
  AugmentationPanel* augmentationPanel() const { return m_augPanel; }
  ObjectivePanel* objectivePanel() const { return m_objPanel; }
  MetricChart* lossChart() const { return m_lossChart; }
  MetricChart* equivChart() const { return m_equivChart; }
  ConfigPanel* configPanel() const { return m_config; }
  // The training-axis slider over the run's point snapshots (hidden with fewer than two).
  QSlider* snapshotSlider() const { return m_snapSlider; }
  core::PointSnapshotPtr currentSnapshot() const { return m_snapshot; }
  RunsBrowser* runsBrowser() const { return m_runs; }
  session::TrainerHost* host() const { return m_host; }
  QString currentRunDir() const { return m_currentRun; }
  core::RunStatus lastStatus() const { return m_status; }

 Q_SIGNALS:
  void runFinished(const pretext::core::RunStatus& status);
  void comparisonShown(const QStringList& runDirs);
  // An export ended: `error` is empty on success, "cancelled", or the problem.
  void exportDone(const QString& file, const QString& error);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildActions();
  void chooseRunToOpen();
  void buildDocks();
  void restoreSettings();
  void onStatus(const core::RunStatus& s);
  void onMetrics(const std::vector<core::MetricRow>& rows);
  void onSnapshot(const core::PointSnapshotPtr& snap);
  void showSnapshot(const core::PointSnapshotPtr& snap);
  void listSnapshots();
  void updateSnapSlider(bool following);
  void scrubSnapshot(int index);
  void onFinished(const core::RunStatus& s);
  void showSnapshotField();
  void log(int level, const QString& line);
  void updateActions();
  void resetViewsFor(const QString& runDir);
  void chooseChartKeys(const QString& experimentKind);
  void previewTransform(const core::SpatialTransform& t);
  bool figureJob(const QString& style, FigureStyle& st, std::vector<FigurePanel>& panels,
                 QString& error);
  void trackExport(const QFuture<QString>& future, const QString& file, const QString& message,
                   bool interactive);
  // Reads the run's config and tells the charts its batch size (the "samples seen" x
  // axis); the config, or nullopt when unreadable.
  std::optional<core::Config> setChartSamples(const QString& runDir);

  session::TrainerHost* m_host = nullptr;
  session::RunWatcher* m_watcher = nullptr;
  PointCloudView* m_view = nullptr;
  QComboBox* m_fieldBox = nullptr;
  QLabel* m_viewCaption = nullptr;
  QStackedWidget* m_viewStack = nullptr;
  MetricChart* m_lossChart = nullptr;
  MetricChart* m_equivChart = nullptr;
  ConfigPanel* m_config = nullptr;
  RunsBrowser* m_runs = nullptr;
  QPlainTextEdit* m_log = nullptr;
  QLabel* m_phaseLabel = nullptr;
  QLabel* m_stepLabel = nullptr;
  QLabel* m_rateLabel = nullptr;
  QLabel* m_dirLabel = nullptr;
  QStringList m_compared;  // the runs of the comparison being shown or read
  QProgressBar* m_loadBar = nullptr;
  QToolButton* m_loadCancel = nullptr;
  QToolButton* m_exportCancel = nullptr;
  int m_exportId = 0;                       // the newest export (the Cancel button belongs to it)
  std::shared_ptr<bool> m_exportCancelled;  // the newest export's cancel flag
  QAction *m_startAct = nullptr, *m_pauseAct = nullptr, *m_stopAct = nullptr, *m_snapAct = nullptr;
  core::PointSnapshotPtr m_snapshot;
  QSlider* m_snapSlider = nullptr;
  QCheckBox* m_lockScale = nullptr;
  std::vector<std::int64_t> m_snapSteps;  // the run's point snapshots, oldest first
  core::RunStatus m_status;
  QString m_currentRun;
  AttentionView* m_attention = nullptr;
  EquivarianceInspector* m_inspector = nullptr;
  FlowView* m_flow = nullptr;
  AugmentationPanel* m_augPanel = nullptr;
  ObjectivePanel* m_objPanel = nullptr;
  bool m_panelsLocked = false;  // the objective panel is attached to a training run
  bool m_lmRun = false;         // the current run is a language model: show the attention views
  QString m_screenshotPath;
  bool m_exitWhenDone = false;
  bool m_closeAfterStop = false;
  bool m_quitWithoutAsking = false;
};

}  // namespace pretext::widgets
