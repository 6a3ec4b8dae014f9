#include "pretext/widgets/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtCharts/QChartView>
#include <QtConcurrent/QtConcurrent>
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "pretext/core/config.h"
#include "pretext/core/datasets.h"
#include "pretext/core/export.h"
#include "pretext/core/presets.h"
#include "pretext/widgets/attention_view.h"
#include "pretext/widgets/config_panel.h"
#include "pretext/widgets/equivariance_inspector.h"
#include "pretext/widgets/figure.h"
#include "pretext/widgets/flow_view.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/panels.h"
#include "pretext/widgets/point_cloud_view.h"
#include "pretext/widgets/runs_browser.h"
#include "run_watcher.h"
#include "trainer_host.h"

namespace pretext::widgets {

namespace {
// Colourings of a point snapshot derived in the view (not stored fields).
const QString kRangeField = QStringLiteral("range (m)");
const QString kPcaField = QStringLiteral("features PCA (RGB)");

// Every metric row of a run as its charts show it (resume markers applied).
std::vector<core::MetricRow> metricRowsOf(const std::string& runDir) {
  std::vector<core::MetricRow> rows;
  const auto acc = core::readMetrics(runDir);
  for (const auto& [k, pts] : acc.series())
    for (const auto& p : pts) rows.push_back({p.segment, p.step, p.wallS, k, p.value});
  return rows;
}
}  // namespace

namespace {
QString fmtEta(double s) {
  if (s < 0) return "?";
  long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? QString("%1:%2:%3")
                         .arg(t / 3600)
                         .arg((t / 60) % 60, 2, 10, QChar('0'))
                         .arg(t % 60, 2, 10, QChar('0'))
                   : QString("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Pretext"));
  setObjectName("PretextMainWindow");
  m_host = new session::TrainerHost(this);
  m_watcher = new session::RunWatcher(this);

  // Central area: the 3D view with its field selector, or a first-run explanation.
  auto* central = new QWidget(this);
  m_fieldBox = new QComboBox(central);
  m_fieldBox->setObjectName("field_box");
  m_fieldBox->setToolTip(tr("Per-point field that colours the cloud"));
  m_viewCaption = new QLabel(tr("No run yet"), central);
  auto* resetCam = new QPushButton(tr("Reset camera"), central);
  resetCam->setToolTip(tr("Reset the 3D camera (R in the view)"));
  auto* bar = new QHBoxLayout();
  bar->addWidget(new QLabel(tr("Colour by:"), central));
  bar->addWidget(m_fieldBox);
  bar->addWidget(m_viewCaption, 1);
  bar->addWidget(resetCam);
  // Training axis: every point snapshot of the run; follows the newest unless moved back.
  m_snapSlider = new QSlider(Qt::Horizontal, central);
  m_snapSlider->setObjectName("snapshot_slider");
  m_snapSlider->setToolTip(
      tr("Scrub through the run's point snapshots (training progress); at the right end the "
         "view follows the newest"));
  m_snapSlider->setMaximumWidth(220);
  m_snapSlider->hide();
  bar->insertWidget(2, m_snapSlider);
  m_lockScale = new QCheckBox(tr("lock scale"), central);
  m_lockScale->setObjectName("lock_scale");
  m_lockScale->setToolTip(
      tr("Keep the colour bar's range while snapshots change, so colours compare across "
         "training (one absolute scale)"));
  bar->insertWidget(3, m_lockScale);
  connect(m_lockScale, &QCheckBox::toggled, this, [this](bool on) {
    if (on) {
      const auto [lo, hi] = m_view->scalarRange();
      m_view->setFixedRange(lo, hi);
    } else {
      m_view->clearFixedRange();
      showSnapshotField();
    }
  });
  connect(m_snapSlider, &QSlider::valueChanged, this, &MainWindow::scrubSnapshot);
  m_view = new PointCloudView(central);
  // First-run panel: what Pretext does, one button that starts the default experiment,
  // the presets (double-click loads one into the Experiment panel), and opening a run.
  auto* welcome = new QWidget(central);
  welcome->setObjectName("welcome");
  auto* intro = new QLabel(
      tr("<h2>Pretext</h2><p>Pre-train a LiDAR encoder or a small language model and watch "
         "it learn.</p><p>The default experiment needs no data: it simulates a street-scene "
         "LiDAR and pre-trains with E-SSL3D's equivariance and scene-flow objectives. Or pick "
         "a preset below, adjust it in the <b>Experiment</b> panel, and press <b>Start</b> "
         "(F5).</p>"),
      welcome);
  intro->setWordWrap(true);
  auto* startDefault = new QPushButton(tr("Start the default experiment"), welcome);
  startDefault->setObjectName("welcome.start");
  startDefault->setToolTip(
      tr("Load the 'default' preset and start it (same as choosing it "
         "in the Experiment panel and pressing F5)"));
  auto* presetList = new QListWidget(welcome);
  presetList->setObjectName("welcome.presets");
  presetList->setToolTip(tr("Double-click a preset to load it into the Experiment panel"));
  for (const auto& p : core::presets()) {
    auto* item = new QListWidgetItem(QString("%1 — %2").arg(QString::fromStdString(p.name),
                                                            QString::fromStdString(p.description)),
                                     presetList);
    item->setData(Qt::UserRole, QString::fromStdString(p.name));
  }
  auto* openButton = new QPushButton(tr("Open a run…"), welcome);
  openButton->setToolTip(tr("Open and tail an existing run directory (Ctrl+O)"));
  auto* wl = new QVBoxLayout(welcome);
  wl->setContentsMargins(40, 20, 40, 20);
  wl->addWidget(intro);
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(startDefault);
  buttons->addWidget(openButton);
  buttons->addStretch(1);
  wl->addLayout(buttons);
  wl->addWidget(new QLabel(tr("Presets:"), welcome));
  wl->addWidget(presetList, 1);
  connect(startDefault, &QPushButton::clicked, this, [this] {
    m_config->setSource("default");
    startFromPanel();
  });
  connect(presetList, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    m_config->setSource(item->data(Qt::UserRole).toString());
  });
  connect(openButton, &QPushButton::clicked, this, &MainWindow::chooseRunToOpen);
  m_viewStack = new QStackedWidget(central);
  m_viewStack->addWidget(welcome);
  m_viewStack->addWidget(m_view);
  m_attention = new AttentionView(central);
  m_viewStack->addWidget(m_attention);
  auto* cl = new QVBoxLayout(central);
  cl->setContentsMargins(2, 2, 2, 2);
  cl->addLayout(bar);
  cl->addWidget(m_viewStack, 1);
  setCentralWidget(central);
  connect(resetCam, &QPushButton::clicked, m_view, &PointCloudView::resetCamera);
  // Clicking a point shows every per-point field of the snapshot at that point.
  connect(m_view, &PointCloudView::pointPicked, this, [this](int i) {
    QString text = m_view->describePoint(i);
    if (m_snapshot && static_cast<std::size_t>(i) < m_snapshot->size()) {
      QStringList fields;
      for (const auto& [name, values] : m_snapshot->fields)
        fields << QString("%1 %2").arg(QString::fromStdString(name)).arg(values[i], 0, 'g', 4);
      text = tr("point %1 of step %2: %3").arg(i).arg(m_snapshot->step).arg(fields.join(", "));
    }
    m_viewCaption->setText(text);
    log(0, text);
  });
  connect(m_fieldBox, &QComboBox::currentTextChanged, this, [this] {
    m_lockScale->setChecked(false);  // another field: its own range
    showSnapshotField();
  });

  buildDocks();
  buildActions();

  m_phaseLabel = new QLabel(tr("idle"));
  m_stepLabel = new QLabel();
  m_rateLabel = new QLabel();
  m_dirLabel = new QLabel();
  statusBar()->addWidget(m_phaseLabel);
  statusBar()->addWidget(m_stepLabel);
  statusBar()->addWidget(m_rateLabel);
  statusBar()->addPermanentWidget(m_dirLabel);
  // Reading a long metrics history: progress and a way out (Esc).
  m_loadBar = new QProgressBar();
  m_loadBar->setRange(0, 1000);
  m_loadBar->setMaximumWidth(160);
  m_loadBar->setFormat(tr("metrics %p%"));
  m_loadCancel = new QToolButton();
  m_loadCancel->setText(tr("Cancel"));
  m_loadCancel->setToolTip(
      tr("Stop reading this run's metrics; the plots keep what was read (Esc)"));
  m_loadCancel->setShortcut(QKeySequence(Qt::Key_Escape));
  statusBar()->addPermanentWidget(m_loadBar);
  statusBar()->addPermanentWidget(m_loadCancel);
  m_loadBar->hide();
  m_loadCancel->hide();
  connect(m_loadCancel, &QToolButton::clicked, this, &MainWindow::cancelLoading);
  // A running export (figure, 3D view): Cancel discards its output when it completes.
  m_exportCancel = new QToolButton();
  m_exportCancel->setText(tr("Cancel export"));
  m_exportCancel->setToolTip(
      tr("Stop waiting for the export; the file it is writing is discarded"));
  statusBar()->addPermanentWidget(m_exportCancel);
  m_exportCancel->hide();
  connect(m_exportCancel, &QToolButton::clicked, this, &MainWindow::cancelExport);

  connect(m_host, &session::TrainerHost::statusChanged, this, &MainWindow::onStatus);
  connect(m_host, &session::TrainerHost::metricsArrived, this, &MainWindow::onMetrics);
  connect(m_host, &session::TrainerHost::snapshotArrived, this, &MainWindow::onSnapshot);
  connect(m_host, &session::TrainerHost::attentionArrived, m_attention,
          &AttentionView::addSnapshot);
  connect(m_host, &session::TrainerHost::logLine, this, &MainWindow::log);
  connect(m_host, &session::TrainerHost::finished, this, &MainWindow::onFinished);
  connect(m_host, &session::TrainerHost::metricsGap, this, [this](const QString& dir) {
    log(1, tr("the live queue overflowed; re-reading metrics from %1").arg(dir));
    openRun(dir);
  });
  connect(m_watcher, &session::RunWatcher::statusChanged, this, &MainWindow::onStatus);
  connect(m_watcher, &session::RunWatcher::metricsArrived, this, &MainWindow::onMetrics);
  connect(m_watcher, &session::RunWatcher::snapshotArrived, this, &MainWindow::onSnapshot);
  connect(m_watcher, &session::RunWatcher::attentionArrived, m_attention,
          &AttentionView::addSnapshot);
  connect(m_watcher, &session::RunWatcher::error, this, [this](const QString& e) { log(1, e); });
  connect(m_watcher, &session::RunWatcher::loadProgress, this, [this](qint64 read, qint64 total) {
    const bool done = read >= total;
    m_loadBar->setValue(total > 0 ? static_cast<int>(1000 * read / total) : 1000);
    m_loadBar->setVisible(!done);
    m_loadCancel->setVisible(!done);
    if (done) log(0, tr("read %1 MB of metrics").arg(total / 1e6, 0, 'f', 1));
  });

  restoreSettings();
  updateActions();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildDocks() {
  setDockNestingEnabled(true);
  auto addDock = [this](const QString& title, const QString& name, QWidget* w,
                        Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(name);
    dock->setWidget(w);
    addDockWidget(area, dock);
    return dock;
  };
  m_config = new ConfigPanel(this);
  auto* expDock = addDock(tr("Experiment"), "dock.experiment", m_config, Qt::LeftDockWidgetArea);

  auto* plots = new QWidget(this);
  m_lossChart = new MetricChart("loss/total", plots);
  m_equivChart = new MetricChart("equiv/probe_err", plots);
  auto* pl = new QHBoxLayout(plots);
  pl->setContentsMargins(0, 0, 0, 0);
  pl->addWidget(m_lossChart);
  pl->addWidget(m_equivChart);
  addDock(tr("Plots"), "dock.plots", plots, Qt::BottomDockWidgetArea);

  // Task-shaped editors over the experiment panel's values, tabbed with it.
  m_augPanel = new AugmentationPanel(m_config, this);
  auto* augDock = addDock(tr("Augmentations"), "dock.augment", m_augPanel, Qt::LeftDockWidgetArea);
  tabifyDockWidget(expDock, augDock);
  m_objPanel = new ObjectivePanel(m_config, this);
  auto* objDock = addDock(tr("Objectives"), "dock.objectives", m_objPanel, Qt::LeftDockWidgetArea);
  tabifyDockWidget(expDock, objDock);
  connect(m_augPanel, &AugmentationPanel::previewRequested, this, &MainWindow::previewTransform);
  connect(m_objPanel, &ObjectivePanel::applyRequested, this,
          [this](const std::map<QString, QString>& changes) {
            for (const auto& [key, value] : changes)
              if (m_host->requestChange(key, value))
                log(0, tr("requested %1 = %2 from the next step").arg(key, value));
          });

  m_runs = new RunsBrowser(this);
  auto* runsDock = addDock(tr("Runs"), "dock.runs", m_runs, Qt::LeftDockWidgetArea);
  tabifyDockWidget(expDock, runsDock);
  expDock->raise();
  connect(m_runs, &RunsBrowser::openRun, this, &MainWindow::openRun);
  connect(m_runs, &RunsBrowser::compareRuns, this, &MainWindow::compareRuns);
  connect(m_runs, &RunsBrowser::resumeRun, this, [this](const QString& dir) {
    core::LaunchRequest r;
    r.resumeDir = dir.toStdString();
    startRun(r);
  });

  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(5000);
  auto* logDock = addDock(tr("Log"), "dock.log", m_log, Qt::BottomDockWidgetArea);
  tabifyDockWidget(findChild<QDockWidget*>("dock.plots"), logDock);
  findChild<QDockWidget*>("dock.plots")->raise();

  // The equivariance inspector: hidden until asked for (View menu, Ctrl+I); it follows the
  // newest point snapshot while visible.
  m_inspector = new EquivarianceInspector(this);
  auto* inspectorDock =
      addDock(tr("Equivariance inspector"), "dock.inspector", m_inspector, Qt::RightDockWidgetArea);
  inspectorDock->hide();
  connect(inspectorDock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
    if (visible && m_snapshot) m_inspector->setSnapshot(m_snapshot);
  });
  // The scene-flow view (Ctrl+Shift+F): the run's probe pair, or a pair opened from disk.
  m_flow = new FlowView(this);
  auto* flowDock = addDock(tr("Scene flow"), "dock.flow", m_flow, Qt::RightDockWidgetArea);
  tabifyDockWidget(inspectorDock, flowDock);
  flowDock->hide();
  connect(m_flow, &FlowView::message, this, &MainWindow::log);
}

QFuture<QString> MainWindow::export3dView(const QString& file, double scale, bool transparent,
                                          bool interactive) {
  // What is on screen is copied here; the off-screen render (its own VTK window and GL
  // context) runs on a worker, so the GUI keeps drawing meanwhile.
  const Scene scene = m_view->scene();
  const SceneCamera camera = m_view->camera();
  const double factor = scale * m_view->devicePixelRatioF();
  const int w = static_cast<int>(std::lround(m_view->width() * factor));
  const int h = static_cast<int>(std::lround(m_view->height() * factor));
  auto future = QtConcurrent::run([=] {
    std::string error;
    renderScene(scene, camera, w, h, transparent, factor, file.toStdString(), error);
    return QString::fromStdString(error);
  });
  trackExport(future, file, tr("Rendering the 3D view at %1 x %2…").arg(w).arg(h), interactive);
  return future;
}

bool MainWindow::exportFigure(const QString& file, const QString& style, QString& error) {
  FigureStyle st;
  std::vector<FigurePanel> panels;
  return figureJob(style, st, panels, error) &&
         renderFigure(panels, st, FigureOptions{}, file, error);
}

QFuture<QString> MainWindow::exportFigureAsync(const QString& file, const QString& style,
                                               bool interactive) {
  FigureStyle st;
  std::vector<FigurePanel> panels;
  QString error;
  if (!figureJob(style, st, panels, error)) {
    log(2, error);
    if (interactive) QMessageBox::warning(this, tr("Export failed"), error);
    return QtFuture::makeReadyFuture(error);
  }
  // The curves were copied here; painting 10^6-point curves into a PDF runs on a worker.
  auto future = QtConcurrent::run([panels = std::move(panels), st, file] {
    QString err;
    renderFigure(panels, st, FigureOptions{}, file, err);
    return err;
  });
  trackExport(future, file, tr("Writing the figure %1…").arg(file), interactive);
  return future;
}

void MainWindow::trackExport(const QFuture<QString>& future, const QString& file,
                             const QString& message, bool interactive) {
  const int id = ++m_exportId;
  // Each export has its own flag: cancelling one does not touch a later one.
  auto cancelledFlag = std::make_shared<bool>(false);
  m_exportCancelled = cancelledFlag;
  statusBar()->showMessage(message);
  m_exportCancel->show();
  auto* watcher = new QFutureWatcher<QString>(this);
  connect(watcher, &QFutureWatcher<QString>::finished, this, [=] {
    const QString error = watcher->result();
    watcher->deleteLater();
    const bool current = id == m_exportId;
    const bool cancelled = *cancelledFlag;
    if (current) {
      statusBar()->clearMessage();
      m_exportCancel->hide();
    }
    if (cancelled) {
      QFile::remove(file);  // the user gave up on it: no half-wanted file left behind
      log(1, tr("export cancelled: %1 not kept").arg(file));
    } else if (error.isEmpty()) {
      log(0, tr("written: %1").arg(file));
    } else {
      log(2, error);
      if (interactive) QMessageBox::warning(this, tr("Export failed"), error);
    }
    Q_EMIT exportDone(file, cancelled ? tr("cancelled") : error);
  });
  watcher->setFuture(future);
}

bool MainWindow::exporting() const { return m_exportCancel->isVisible(); }

void MainWindow::cancelExport() {
  if (!m_exportCancel->isVisible()) return;
  if (m_exportCancelled) *m_exportCancelled = true;
  m_exportCancel->hide();
  statusBar()->showMessage(tr("Export cancelled; its output will be discarded"), 3000);
}

bool MainWindow::figureJob(const QString& style, FigureStyle& st, std::vector<FigurePanel>& panels,
                           QString& error) {
  try {
    st = figureStyle(style.toStdString());
  } catch (const std::invalid_argument& e) {
    error = QString::fromStdString(e.what());
    return false;
  }
  bool any = false;
  for (MetricChart* chart : {m_lossChart, m_equivChart}) {
    FigurePanel panel;
    panel.yLabel = metricAxisLabel(chart->key().toStdString());
    panel.logY = chart->logY();
    for (auto& c : chart->curves()) {
      FigureSeries s;
      s.label = figureRunLabel(c.run.toStdString());
      s.colorIndex = c.color;
      s.points = std::move(c.points);
      any = any || !s.points.empty();
      panel.series.push_back(std::move(s));
    }
    panels.push_back(std::move(panel));
  }
  if (!any) {
    error = tr("The plots are empty: start or open a run first.");
    return false;
  }
  return true;
}

void MainWindow::chooseRunToOpen() {
  QString d = QFileDialog::getExistingDirectory(this, tr("Open run directory"), runsRoot());
  if (!d.isEmpty()) openRun(d);
}

void MainWindow::buildActions() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* openAct = file->addAction(tr("&Open run…"), this, &MainWindow::chooseRunToOpen);
  openAct->setShortcut(QKeySequence::Open);
  file->addAction(tr("Import TensorBoard scalars…"), this, [this] {
    QString d = QFileDialog::getExistingDirectory(
        this, tr("Folder with TensorBoard event files (events.out.tfevents.*)"), runsRoot());
    if (d.isEmpty()) return;
    try {
      const auto run = core::importTfEvents(d.toStdString(), runsRoot().toStdString());
      log(0, tr("Imported %1 as %2").arg(d, QString::fromStdString(run)));
      openRun(QString::fromStdString(run));
    } catch (const std::exception& e) {
      log(2, QString::fromStdString(e.what()));
      QMessageBox::warning(this, tr("Import failed"), QString::fromStdString(e.what()));
    }
  });
  file->addAction(tr("Choose runs folder…"), this, [this] {
    QString d = QFileDialog::getExistingDirectory(this, tr("Runs folder"), runsRoot());
    if (!d.isEmpty()) setRunsRoot(d);
  });
  auto* figureAct = file->addAction(tr("Export figure…"), this, [this] {
    QSettings settings;
    const QStringList styles = {"single-column", "double-column", "slide"};
    bool ok = false;
    const QString style = QInputDialog::getItem(
        this, tr("Export figure"), tr("Style (85 mm, 175 mm or a 16:9 slide):"), styles,
        std::max<int>(0, static_cast<int>(styles.indexOf(
                             settings.value("figure/style", "single-column").toString()))),
        false, &ok);
    if (!ok) return;
    const QString f = QFileDialog::getSaveFileName(
        this, tr("Export figure"), settings.value("figure/file", "figure.pdf").toString(),
        tr("PDF (*.pdf);;SVG (*.svg);;PNG, 300 dpi (*.png)"));
    if (f.isEmpty()) return;
    settings.setValue("figure/style", style);
    settings.setValue("figure/file", f);
    exportFigureAsync(f, style, true);
  });
  figureAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  figureAct->setToolTip(tr("Write the two plots as a PDF/SVG/PNG figure for a paper (Ctrl+E)"));
  auto* view3dAct = file->addAction(tr("Export 3D view…"), this, [this] {
    QSettings settings;
    bool ok = false;
    const int scale = QInputDialog::getInt(this, tr("Export 3D view"),
                                           tr("Resolution (times the view's size on screen):"),
                                           settings.value("view3d/scale", 2).toInt(), 1, 8, 1, &ok);
    if (!ok) return;
    const QString png = tr("PNG (*.png)"), clear = tr("PNG, transparent background (*.png)");
    QString filter = settings.value("view3d/filter", png).toString();
    const QString f = QFileDialog::getSaveFileName(
        this, tr("Export 3D view"), settings.value("view3d/file", "view.png").toString(),
        png + ";;" + clear + ";;" + tr("PDF, labels as text (*.pdf);;EPS (*.eps)"), &filter);
    if (f.isEmpty()) return;
    settings.setValue("view3d/scale", scale);
    settings.setValue("view3d/file", f);
    settings.setValue("view3d/filter", filter);
    export3dView(f, scale, filter == clear, /*interactive=*/true);
  });
  view3dAct->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  view3dAct->setToolTip(
      tr("Write the 3D view, same camera and colour bar, at N times its resolution "
         "(Ctrl+Shift+E)"));
  file->addAction(tr("Save screenshot…"), this, [this] {
    QString f =
        QFileDialog::getSaveFileName(this, tr("Screenshot"), "pretext.png", tr("PNG (*.png)"));
    if (!f.isEmpty()) saveScreenshot(f);
  });
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  auto* run = menuBar()->addMenu(tr("&Run"));
  m_startAct = run->addAction(tr("&Start"), this, [this] { startFromPanel(); });
  m_startAct->setShortcut(Qt::Key_F5);
  m_startAct->setToolTip(tr("Start a run with the Experiment panel's settings (F5)"));
  m_pauseAct = run->addAction(tr("&Pause"), this, [this] {
    if (m_status.phase == core::RunPhase::Paused)
      m_host->resume();
    else
      m_host->pause();
  });
  m_pauseAct->setShortcut(Qt::Key_F6);
  m_pauseAct->setToolTip(tr("Pause or resume after the current step (F6)"));
  m_stopAct = run->addAction(tr("S&top"), this, [this] { m_host->stop(); });
  m_stopAct->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
  m_stopAct->setToolTip(tr("Stop after the current step; the run stays resumable (Shift+F5)"));
  m_snapAct = run->addAction(tr("Snapshot &now"), this, [this] { m_host->snapshotNow(); });
  m_snapAct->setShortcut(Qt::Key_F7);
  m_snapAct->setToolTip(tr("Write a per-point snapshot at the next step (F7)"));

  auto* view = menuBar()->addMenu(tr("&View"));
  view->addAction(tr("Reset camera"), QKeySequence(Qt::CTRL | Qt::Key_R), m_view,
                  &PointCloudView::resetCamera);
  const std::pair<QString, CameraPreset> presets[] = {
      {tr("Orbit camera"), CameraPreset::Orbit},
      {tr("Bird's-eye camera"), CameraPreset::BirdsEye},
      {tr("Driver camera"), CameraPreset::Driver}};
  int key = Qt::Key_1;
  for (const auto& [name, preset] : presets)
    view->addAction(name, QKeySequence(Qt::CTRL | key++), this,
                    [this, preset = preset] { m_view->setCameraPreset(preset); });
  auto* lightAct = view->addAction(tr("Light 3D background"));
  lightAct->setCheckable(true);
  lightAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
  lightAct->setToolTip(tr("White background in every 3D view (for figures); off: dark"));
  lightAct->setObjectName("light_background");
  connect(lightAct, &QAction::toggled, this, [this](bool light) {
    const QColor bg = light ? QColor(Qt::white) : QColor(38, 41, 46);
    for (PointCloudView* v : findChildren<PointCloudView*>()) v->setBackground(bg);
    QSettings().setValue("view/light_background", light);
  });
  lightAct->setChecked(QSettings().value("view/light_background", false).toBool());
  view->addSeparator();
  for (auto* dock : findChildren<QDockWidget*>()) {
    view->addAction(dock->toggleViewAction());
    // Shown from the menu or its shortcut, a dock comes to the front of its tab group.
    connect(dock->toggleViewAction(), &QAction::triggered, dock, [dock](bool on) {
      if (on) dock->raise();
    });
    if (dock->objectName() == "dock.inspector")
      dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    if (dock->objectName() == "dock.flow")
      dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
  }

  auto* tb = addToolBar(tr("Run"));
  tb->setObjectName("toolbar.run");
  tb->addActions({m_startAct, m_pauseAct, m_stopAct, m_snapAct});
}

void MainWindow::restoreSettings() {
  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  if (s.contains("experiment/source")) m_config->setSource(s.value("experiment/source").toString());
  setRunsRoot(s.value("runs/root", QDir::current().absoluteFilePath("runs")).toString());
}

void MainWindow::setRunsRoot(const QString& root) {
  m_runs->setRunsRoot(root);
  QSettings s;
  s.setValue("runs/root", root);
  QStringList recent = s.value("runs/recentRoots").toStringList();
  recent.removeAll(root);
  recent.prepend(root);
  while (recent.size() > 10) recent.removeLast();
  s.setValue("runs/recentRoots", recent);
}

QString MainWindow::runsRoot() const { return m_runs->runsRoot(); }

void MainWindow::resetViewsFor(const QString& runDir) {
  m_currentRun = runDir;
  m_compared.clear();
  m_lossChart->clearRuns();
  m_equivChart->clearRuns();
  m_snapshot.reset();
  m_snapSteps.clear();
  updateSnapSlider(true);
  m_attention->clear();
  if (m_flow->followsRun()) m_flow->setSample(nullptr);
  m_inspector->setRunDir(runDir);
  m_lmRun = false;  // until the run's config says otherwise (chooseChartKeys)
  m_dirLabel->setText(runDir);
  setWindowTitle(tr("Pretext — %1").arg(QFileInfo(runDir).fileName()));
}

bool MainWindow::startRun(const core::LaunchRequest& request, bool quiet) {
  core::LaunchRequest req = request;
  if (req.runsRoot.empty() || req.runsRoot == "runs") req.runsRoot = runsRoot().toStdString();
  std::vector<core::ConfigIssue> issues;
  std::string error;
  m_watcher->stopWatching();
  if (!m_host->start(req, issues, error)) {
    QStringList lines;
    for (const auto& i : issues) lines << QString::fromStdString(i.toString());
    if (!error.empty()) lines << QString::fromStdString(error);
    for (const auto& l : lines) {
      log(2, l);
      std::fprintf(stderr, "pretext: %s\n", l.toUtf8().constData());
    }
    if (!quiet) QMessageBox::warning(this, tr("Cannot start the run"), lines.join("\n"));
    return false;
  }
  resetViewsFor(m_host->runDir());
  setChartSamples(m_host->runDir());
  chooseChartKeys(m_host->experimentKind());
  if (!req.resumeDir.empty()) {
    // Show the history that led to the checkpoint, then live rows on top of it. The trainer
    // appends its resume marker only once the checkpoint has loaded, so the cut at the
    // checkpoint is made here (rows past it belong to an abandoned branch or arrive live).
    auto history = metricRowsOf(req.resumeDir);
    const std::int64_t from = m_host->startStep();
    history.erase(std::remove_if(history.begin(), history.end(),
                                 [from](const core::MetricRow& r) { return r.step > from; }),
                  history.end());
    onMetrics(history);
    // The panels show what the run trains with: its config.yaml and the values changed
    // mid-run before the checkpoint. Not remembered as the next session's experiment.
    m_config->setSource(QString::fromStdString(req.resumeDir + "/config.yaml"));
    for (const auto& o : m_host->resumedOverrides()) {
      const auto eq = o.find('=');
      m_config->setValue(QString::fromStdString(o.substr(0, eq)),
                         QString::fromStdString(o.substr(eq + 1)));
    }
  }
  log(0, tr("started %1").arg(m_host->runDir()));
  if (!req.configOrPreset.empty()) {
    // Show the values this run uses (command-line --set and --max-steps included).
    m_config->setSource(QString::fromStdString(req.configOrPreset));
    for (const auto& o : req.overrides) {
      const auto eq = o.find('=');
      m_config->setValue(QString::fromStdString(o.substr(0, eq)),
                         QString::fromStdString(o.substr(eq + 1)));
    }
  }
  // --max-steps: a new run's value, or a resumed run's new target.
  if (req.maxSteps > 0) m_config->setValue("trainer.max_steps", QString::number(req.maxSteps));
  if (req.resumeDir.empty()) QSettings().setValue("experiment/source", m_config->source());
  m_viewStack->setCurrentWidget(m_lmRun ? static_cast<QWidget*>(m_attention) : m_view);
  updateActions();
  m_runs->refresh();
  return true;
}

bool MainWindow::startFromPanel() {
  if (m_config->hasErrors()) {
    QMessageBox::warning(this, tr("Cannot start the run"),
                         tr("Fix the values marked in red in the Experiment panel first."));
    return false;
  }
  core::LaunchRequest r;
  r.configOrPreset = m_config->source().toStdString();
  r.overrides = m_config->overrides();
  return startRun(r);
}

void MainWindow::compareRuns(const QStringList& dirs) {
  if (dirs.size() < 2) return;
  if (m_host->active()) {
    log(1, tr("compare runs once the training run has ended (its plots stay live until then)"));
    return;
  }
  m_watcher->stopWatching();
  m_loadBar->hide();
  m_loadCancel->hide();
  m_lossChart->clearRuns();
  m_equivChart->clearRuns();
  m_compared = dirs;
  statusBar()->showMessage(tr("Reading %1 runs…").arg(dirs.size()));
  using Loaded = std::vector<std::vector<core::MetricRow>>;
  auto* watcher = new QFutureWatcher<Loaded>(this);
  connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, dirs] {
    watcher->deleteLater();
    statusBar()->clearMessage();
    if (m_compared != dirs) return;  // superseded
    const Loaded loaded = watcher->result();
    // In selection order, so every chart gives run i the same colour; the first run's
    // kind picks the keys.
    for (int i = 0; i < dirs.size(); ++i) {
      const auto cfg = setChartSamples(dirs[i]);
      if (i == 0 && cfg) chooseChartKeys(QString::fromStdString(cfg->getString("experiment.kind")));
      m_lossChart->addRows(dirs[i], loaded[static_cast<std::size_t>(i)]);
      m_equivChart->addRows(dirs[i], loaded[static_cast<std::size_t>(i)]);
    }
    log(0, tr("comparing %1 runs: %2").arg(dirs.size()).arg(dirs.join(", ")));
    Q_EMIT comparisonShown(dirs);
  });
  watcher->setFuture(QtConcurrent::run([dirs] {
    Loaded out;
    for (const auto& d : dirs) out.push_back(metricRowsOf(d.toStdString()));
    return out;
  }));
}

bool MainWindow::loadingMetrics() const { return m_loadCancel->isVisible(); }

void MainWindow::cancelLoading() {
  if (!loadingMetrics()) return;
  const int permille = m_loadBar->value();
  m_watcher->stopWatching();
  m_loadBar->hide();
  m_loadCancel->hide();
  log(1, tr("stopped reading metrics at %1 %; the plots show the rows read so far (open the "
            "run again to read all)")
             .arg(permille / 10.0, 0, 'f', 1));
}

void MainWindow::openRun(const QString& runDir) {
  if (m_host->active() && runDir == m_host->runDir()) return;
  resetViewsFor(runDir);
  m_loadBar->hide();
  m_loadCancel->hide();
  if (auto cfg = setChartSamples(runDir))
    chooseChartKeys(QString::fromStdString(cfg->getString("experiment.kind")));
  m_watcher->watch(runDir);
  m_viewStack->setCurrentWidget(m_lmRun ? static_cast<QWidget*>(m_attention) : m_view);
  log(0, tr("watching %1").arg(runDir));
}

std::optional<core::Config> MainWindow::setChartSamples(const QString& runDir) {
  std::vector<core::ConfigIssue> issues;
  auto cfg = core::Config::load(runDir.toStdString() + "/config.yaml", {}, issues);
  if (cfg)
    for (MetricChart* chart : {m_lossChart, m_equivChart})
      chart->setSamplesPerStep(runDir, static_cast<double>(cfg->getInt("trainer.batch_size")));
  return cfg;
}

void MainWindow::chooseChartKeys(const QString& kind) {
  const bool lm = kind == "lm_sink";
  m_lmRun = lm;
  m_lossChart->setKey(lm ? "loss/val" : "loss/total");
  m_equivChart->setKey(lm ? "sink/sink1" : "equiv/probe_err");
  m_viewCaption->setText(lm ? tr("language-model run: attention-sink views") : QString());
}

void MainWindow::onStatus(const core::RunStatus& s) {
  m_status = s;
  m_phaseLabel->setText(QString::fromStdString(core::toString(s.phase)));
  m_stepLabel->setText(tr("step %1 / %2").arg(s.step).arg(s.maxSteps));
  m_rateLabel->setText(
      s.stepsPerSec > 0
          ? tr("%1 steps/s · ETA %2").arg(s.stepsPerSec, 0, 'f', 2).arg(fmtEta(s.etaSec))
          : QString());
  if (!s.error.empty()) m_phaseLabel->setToolTip(QString::fromStdString(s.error));
  updateActions();
}

void MainWindow::onMetrics(const std::vector<core::MetricRow>& rows) {
  m_lossChart->addRows(m_currentRun, rows);
  m_equivChart->addRows(m_currentRun, rows);
}

void MainWindow::onSnapshot(const core::PointSnapshotPtr& snap) {
  // A new snapshot of the run: remember its step; show it unless the user scrubbed back.
  const bool following = m_snapSteps.empty() || m_snapSlider->value() == m_snapSlider->maximum();
  if (!std::binary_search(m_snapSteps.begin(), m_snapSteps.end(), snap->step)) {
    // The first one of a run: list the earlier ones on disk (a run opened from disk
    // delivers only its newest); later ones are appended as they come.
    if (m_snapSteps.empty()) listSnapshots();
    if (m_snapSteps.empty() || snap->step > m_snapSteps.back()) m_snapSteps.push_back(snap->step);
  }
  updateSnapSlider(following);
  if (!following) return;
  showSnapshot(snap);
}

void MainWindow::listSnapshots() {
  if (m_currentRun.isEmpty()) return;
  const std::string run = m_currentRun.toStdString();
  auto* watcher = new QFutureWatcher<std::vector<std::int64_t>>(this);
  connect(watcher, &QFutureWatcher<std::vector<std::int64_t>>::finished, this,
          [this, watcher, dir = m_currentRun] {
            watcher->deleteLater();
            if (dir != m_currentRun) return;
            const bool following = m_snapSlider->value() == m_snapSlider->maximum();
            std::vector<std::int64_t> steps = watcher->result();
            for (std::int64_t s : m_snapSteps)  // live ones not yet on disk
              if (!std::binary_search(steps.begin(), steps.end(), s)) steps.push_back(s);
            std::sort(steps.begin(), steps.end());
            m_snapSteps = steps;
            updateSnapSlider(following);
          });
  watcher->setFuture(QtConcurrent::run([run] {
    // Point snapshots only (a language-model run keeps attention maps there).
    std::vector<std::int64_t> steps;
    for (const auto& dir : core::snapshotDirs(run)) {
      if (!std::filesystem::exists(std::filesystem::path(dir) / "points.npy")) continue;
      const std::string name = std::filesystem::path(dir).filename().string();
      try {
        steps.push_back(std::stoll(name.substr(5)));
      } catch (const std::exception&) {
      }
    }
    std::sort(steps.begin(), steps.end());
    return steps;
  }));
}

void MainWindow::updateSnapSlider(bool following) {
  const QSignalBlocker block(m_snapSlider);
  const int n = static_cast<int>(m_snapSteps.size());
  const int was = m_snapSlider->value();
  m_snapSlider->setRange(0, std::max(0, n - 1));
  m_snapSlider->setValue(following ? n - 1 : std::min(was, n - 1));
  m_snapSlider->setVisible(n > 1);
}

void MainWindow::scrubSnapshot(int index) {
  if (index < 0 || index >= static_cast<int>(m_snapSteps.size()) || m_currentRun.isEmpty()) return;
  const std::int64_t step = m_snapSteps[static_cast<std::size_t>(index)];
  if (m_snapshot && m_snapshot->step == step) return;
  const std::string dir =
      m_currentRun.toStdString() + "/snapshots/" + core::checkpointDirName(step);
  auto* watcher = new QFutureWatcher<core::PointSnapshotPtr>(this);
  connect(watcher, &QFutureWatcher<core::PointSnapshotPtr>::finished, this, [this, watcher, index] {
    watcher->deleteLater();
    // Only the position the slider is still at (fast scrubbing skips the rest).
    if (m_snapSlider->value() != index || !watcher->result()) return;
    showSnapshot(watcher->result());
  });
  watcher->setFuture(QtConcurrent::run([dir] {
    std::string error;
    return core::readPointSnapshot(dir, error);
  }));
}

void MainWindow::showSnapshot(const core::PointSnapshotPtr& snap) {
  m_snapshot = snap;
  if (m_inspector->isVisible()) m_inspector->setSnapshot(snap);
  if (snap->flow) m_flow->offerRunSample(snap->flow);
  QString current = m_fieldBox->currentText();
  QSignalBlocker block(m_fieldBox);
  m_fieldBox->clear();
  for (const auto& [name, v] : snap->fields) m_fieldBox->addItem(QString::fromStdString(name));
  // Derived views of the snapshot: distance from the sensor, and the feature PCA as colours.
  m_fieldBox->addItem(kRangeField);
  if (snap->fields.count("pca_r") && snap->fields.count("pca_g") && snap->fields.count("pca_b"))
    m_fieldBox->addItem(kPcaField);
  m_fieldBox->setCurrentText(current.isEmpty() ? "equiv_error" : current);
  showSnapshotField();
}

void MainWindow::showSnapshotField() {
  if (!m_snapshot) return;
  const QString name = m_fieldBox->currentText();
  const std::string field = name.toStdString();
  const auto& xyz = m_snapshot->xyz;
  const std::size_t n = m_snapshot->size();
  if (name == kPcaField) {
    std::vector<float> rgb(3 * n);
    const auto &r = m_snapshot->fields.at("pca_r"), &g = m_snapshot->fields.at("pca_g"),
               &b = m_snapshot->fields.at("pca_b");
    for (std::size_t i = 0; i < n; ++i) {
      rgb[3 * i] = r[i];
      rgb[3 * i + 1] = g[i];
      rgb[3 * i + 2] = b[i];
    }
    m_view->setPointCloudRgb(xyz, rgb, name);
  } else if (name == kRangeField) {
    std::vector<float> range(n);
    for (std::size_t i = 0; i < n; ++i)
      range[i] = std::sqrt(xyz[3 * i] * xyz[3 * i] + xyz[3 * i + 1] * xyz[3 * i + 1] +
                           xyz[3 * i + 2] * xyz[3 * i + 2]);
    m_view->setPointCloud(xyz, range, name);
  } else {
    auto it = m_snapshot->fields.find(field);
    static const std::vector<float> none;
    m_view->setPointCloud(xyz, it == m_snapshot->fields.end() ? none : it->second, name);
  }
  m_viewCaption->setText(tr("probe scan · %1 points · step %2%3")
                             .arg(m_snapshot->size())
                             .arg(m_snapshot->step)
                             .arg(m_snapSteps.size() > 1 ? tr(" (snapshot %1 of %2)")
                                                               .arg(m_snapSlider->value() + 1)
                                                               .arg(m_snapSteps.size())
                                                         : QString()));
}

void MainWindow::onFinished(const core::RunStatus& s) {
  onStatus(s);
  if (s.phase == core::RunPhase::Failed)
    log(2, tr("run failed: %1").arg(QString::fromStdString(s.error)));
  m_runs->refresh();
  Q_EMIT runFinished(s);
  if (m_closeAfterStop) {
    close();
    return;
  }
  if (!m_screenshotPath.isEmpty() || m_exitWhenDone) {
    // Let the last snapshot and chart redraw reach the screen first.
    QTimer::singleShot(400, this, [this, s] {
      m_lossChart->redrawNow();
      m_equivChart->redrawNow();
      bool ok = true;
      if (!m_screenshotPath.isEmpty()) ok = saveScreenshot(m_screenshotPath);
      if (m_exitWhenDone) QApplication::exit(s.phase == core::RunPhase::Failed || !ok ? 1 : 0);
    });
  }
}

void MainWindow::quitWithoutAsking() {
  m_quitWithoutAsking = true;
  close();
}

void MainWindow::setAutomation(const QString& screenshotPath, bool exitWhenDone) {
  m_screenshotPath = screenshotPath;
  m_exitWhenDone = exitWhenDone;
}

bool MainWindow::saveScreenshot(const QString& path) {
  QPixmap pix = grab();
  if (pix.isNull() || !pix.save(path)) {
    log(2, tr("cannot save screenshot to %1").arg(path));
    return false;
  }
  // Where the views are in the image, for tests and figure scripts.
  const qreal dpr = pix.devicePixelRatio();
  auto rect = [&](QWidget* w) {
    QRect r(w->mapTo(this, QPoint(0, 0)), w->size());
    return QJsonArray{qRound(r.x() * dpr), qRound(r.y() * dpr), qRound(r.width() * dpr),
                      qRound(r.height() * dpr)};
  };
  QJsonObject o{{"image", QFileInfo(path).fileName()},
                {"view3d", rect(m_view)},
                {"view3d_background", m_view->background().name()},
                {"loss_chart", rect(m_lossChart->view()->viewport())},
                {"loss_chart_color", runColor(0).name()},
                {"run_dir", m_currentRun},
                {"phase", QString::fromStdString(core::toString(m_status.phase))},
                {"step", static_cast<qint64>(m_status.step)}};
  QFile f(path + ".json");
  if (!f.open(QIODevice::WriteOnly)) return false;
  f.write(QJsonDocument(o).toJson());
  log(0, tr("screenshot saved to %1").arg(path));
  return true;
}

void MainWindow::log(int level, const QString& line) {
  static const char* prefix[] = {"", "warning: ", "error: "};
  m_log->appendPlainText(QString(prefix[std::clamp(level, 0, 2)]) + line);
}

void MainWindow::updateActions() {
  const bool active = m_host->active();
  m_startAct->setEnabled(!active);
  m_pauseAct->setEnabled(active);
  m_stopAct->setEnabled(active);
  m_snapAct->setEnabled(active);
  m_pauseAct->setText(m_status.phase == core::RunPhase::Paused ? tr("&Resume") : tr("&Pause"));
  m_config->setEditable(!active);
  m_augPanel->setEnabled(!active && m_config->value("experiment.kind").startsWith("lidar"));
  if (m_panelsLocked != active) {
    m_panelsLocked = active;
    m_objPanel->setRunActive(active);
  }
}

void MainWindow::previewTransform(const core::SpatialTransform& t) {
  m_inspector->setTransform(t);
  if (auto* dock = findChild<QDockWidget*>("dock.inspector")) {
    dock->show();
    dock->raise();
  }
  log(0, tr("preview: rotation %1°, translation (%2, %3, %4) m, scale %5%6")
             .arg(t.angle * 180 / M_PI, 0, 'f', 1)
             .arg(t.t[0], 0, 'f', 2)
             .arg(t.t[1], 0, 'f', 2)
             .arg(t.t[2], 0, 'f', 2)
             .arg(t.scale, 0, 'f', 3)
             .arg(t.flipY ? tr(", mirrored") : QString()));
  if (m_snapshot) {
    m_inspector->setSnapshot(m_snapshot);
    return;
  }
  // No run yet: preview on a simulated scan, made on a worker (about 50 ms).
  auto* watcher = new QFutureWatcher<core::PointSnapshotPtr>(this);
  connect(watcher, &QFutureWatcher<core::PointSnapshotPtr>::finished, this, [this, watcher] {
    watcher->deleteLater();
    if (!m_snapshot) m_inspector->setSnapshot(watcher->result());
  });
  watcher->setFuture(QtConcurrent::run([] {
    core::DatasetOptions d;
    auto cloud = core::openDataset(d)->scan(0);
    auto snap = std::make_shared<core::PointSnapshot>();
    snap->xyz = cloud.xyz;
    std::vector<float> height(cloud.size());
    for (std::size_t i = 0; i < cloud.size(); ++i) height[i] = cloud.xyz[3 * i + 2];
    snap->fields["height"] = std::move(height);
    return core::PointSnapshotPtr(snap);
  }));
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (m_host->active()) {
    if (!m_exitWhenDone && !m_quitWithoutAsking) {
      auto answer =
          QMessageBox::question(this, tr("A run is training"),
                                tr("Stop the run and quit? It stops after the current step, "
                                   "writes a checkpoint and can be resumed later."));
      if (answer != QMessageBox::Yes) {
        e->ignore();
        return;
      }
    }
    // Never block the GUI thread: stop, and close when the trainer has finished.
    m_closeAfterStop = true;
    m_host->stop();
    m_phaseLabel->setText(tr("stopping…"));
    e->ignore();
    return;
  }
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  e->accept();
}

}  // namespace pretext::widgets
