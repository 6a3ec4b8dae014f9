#include "pretext/widgets/main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QtCharts/QChartView>
#include <cstdio>

#include "pretext/data/datasets.h"
#include "pretext/data/fs_util.h"
#include "pretext/runs/export_data.h"
#include "pretext/session/run_model.h"
#include "pretext/session/trainer_host.h"
#include "pretext/widgets/attention_view.h"
#include "pretext/widgets/config_panel.h"
#include "pretext/widgets/equivariance_inspector.h"
#include "pretext/widgets/export_controller.h"
#include "pretext/widgets/flow_view.h"
#include "pretext/widgets/main_actions.h"
#include "pretext/widgets/main_docks.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/panels.h"
#include "pretext/widgets/point_cloud_view.h"
#include "pretext/widgets/run_status_bar.h"
#include "pretext/widgets/run_view.h"
#include "pretext/widgets/runs_browser.h"
#include "pretext/widgets/welcome_page.h"

namespace pretext::widgets {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Pretext"));
  setObjectName("PretextMainWindow");
  m_model = new session::RunModel(this);
  m_runView = new RunView(m_model, this);
  setCentralWidget(m_runView);
  m_docks = std::make_unique<MainDocks>(this);
  m_actions = new MainActions(this, m_runView->pointView(), [this] { return runsRoot(); });
  m_actions->addDockToggles();
  m_status = new RunStatusBar(statusBar());
  m_exports = new ExportController(statusBar(), m_runView->pointView(),
                                   {m_docks->lossChart, m_docks->equivChart}, this);
  connect(m_exports, &ExportController::exportDone, this, &MainWindow::exportDone);
  connect(m_exports, &ExportController::logLine, this, &MainWindow::log);
  connect(m_status, &RunStatusBar::cancelLoadingRequested, this, &MainWindow::cancelLoading);
  connect(m_runView, &RunView::pointDescribed, this, [this](const QString& t) { log(0, t); });
  WelcomePage* welcome = m_runView->welcomePage();
  connect(welcome, &WelcomePage::startDefaultRequested, this, [this] {
    m_docks->config->setSource("default");
    startFromPanel();
  });
  connect(welcome, &WelcomePage::presetChosen, m_docks->config, &ConfigPanel::setSource);
  connect(welcome, &WelcomePage::openRunRequested, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Open run directory"), runsRoot());
    if (!d.isEmpty()) openRun(d);
  });
  connectModel();
  connectPanels();
  connectActions();
  restoreSettings();
  updateActions();
}

MainWindow::~MainWindow() = default;

void MainWindow::connectModel() {
  using session::RunModel;
  connect(m_model, &RunModel::reset, this, &MainWindow::onReset);
  connect(m_model, &RunModel::runAdded, this,
          [this](const QString& run, const session::MetricsStore& store) {
            m_docks->lossChart->addRun(run, store);
            m_docks->equivChart->addRun(run, store);
          });
  connect(m_model, &RunModel::runInfo, this, &MainWindow::onRunInfo);
  connect(m_model, &RunModel::metricsChanged, this, [this](const QString& run) {
    m_docks->lossChart->runChanged(run);
    m_docks->equivChart->runChanged(run);
  });
  connect(m_model, &RunModel::statusChanged, this, [this](const core::RunStatus& s) {
    m_status->setStatus(s);
    updateActions();
  });
  connect(m_model, &RunModel::finished, this, &MainWindow::onFinished);
  connect(m_model, &RunModel::snapshotShown, this, [this](const core::PointSnapshotPtr& snap) {
    if (m_docks->inspectorVisible()) m_docks->inspector->setSnapshot(snap);
    if (snap->flow) m_docks->flow->offerRunSample(snap->flow);
  });
  connect(m_model, &RunModel::logLine, this, &MainWindow::log);
  connect(m_model->jobs(), &session::JobRunner::failed, this,
          [this](const QString& lane, const QString& e) {
            if (lane == QLatin1String("import")) QMessageBox::warning(this, tr("Import failed"), e);
          });
  connect(m_model, &RunModel::loadProgress, this, [this](qint64 read, qint64 total) {
    m_status->setLoadProgress(read, total);
    if (read >= total) log(0, tr("read %1 MB of metrics").arg(total / 1e6, 0, 'f', 1));
  });
  connect(m_model, &RunModel::comparisonShown, this, [this](const QStringList& dirs) {
    statusBar()->clearMessage();
    Q_EMIT comparisonShown(dirs);
  });
}

void MainWindow::connectPanels() {
  connect(m_docks->augmentations, &AugmentationPanel::previewRequested, this,
          &MainWindow::previewTransform);
  connect(m_docks->objectives, &ObjectivePanel::applyRequested, this,
          [this](const std::map<QString, QString>& changes) {
            for (const auto& [key, value] : changes)
              if (host()->requestChange(key, value))
                log(0, tr("requested %1 = %2 from the next step").arg(key, value));
          });
  connect(m_docks->runs, &RunsBrowser::openRun, this, &MainWindow::openRun);
  connect(m_docks->runs, &RunsBrowser::compareRuns, this, &MainWindow::compareRuns);
  connect(m_docks->runs, &RunsBrowser::resumeRun, this, [this](const QString& dir) {
    core::LaunchRequest r;
    r.resumeDir = dir.toStdString();
    startRun(r);
  });
  connect(m_docks->inspectorDock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
    if (visible && m_model->snapshot()) m_docks->inspector->setSnapshot(m_model->snapshot());
  });
  connect(m_docks->flow, &FlowView::message, this, &MainWindow::log);
}

void MainWindow::connectActions() {
  connect(m_actions, &MainActions::openRunRequested, this, &MainWindow::openRun);
  connect(m_actions, &MainActions::importRequested, this, &MainWindow::importTfEvents);
  connect(m_actions, &MainActions::runsRootChosen, this, &MainWindow::setRunsRoot);
  connect(m_actions, &MainActions::figureRequested, this,
          [this](const QString& f, const QString& style) { exportFigureAsync(f, style, true); });
  connect(m_actions, &MainActions::view3dRequested, this,
          [this](const QString& f, int scale, bool transparent) {
            export3dView(f, scale, transparent, /*interactive=*/true);
          });
  connect(m_actions, &MainActions::screenshotRequested, this, &MainWindow::saveScreenshot);
  connect(m_actions, &MainActions::startRequested, this, &MainWindow::startFromPanel);
  connect(m_actions, &MainActions::pauseToggled, this, [this] {
    if (m_model->status().phase == core::RunPhase::Paused)
      host()->resume();
    else
      host()->pause();
  });
  connect(m_actions, &MainActions::stopRequested, this, [this] { host()->stop(); });
  connect(m_actions, &MainActions::snapshotRequested, this, [this] { host()->snapshotNow(); });
  auto legends = [this](bool on) {
    for (MetricChart* c : {lossChart(), equivChart()}) c->setLegendShown(on);
  };
  connect(m_actions, &MainActions::legendsToggled, this, legends);
  legends(m_actions->legendsShown());
}

PointCloudView* MainWindow::pointView() const { return m_runView->pointView(); }
AttentionView* MainWindow::attentionView() const { return m_runView->attentionView(); }
EquivarianceInspector* MainWindow::inspector() const { return m_docks->inspector; }
FlowView* MainWindow::flowView() const { return m_docks->flow; }
AugmentationPanel* MainWindow::augmentationPanel() const { return m_docks->augmentations; }
ObjectivePanel* MainWindow::objectivePanel() const { return m_docks->objectives; }
MetricChart* MainWindow::lossChart() const { return m_docks->lossChart; }
MetricChart* MainWindow::equivChart() const { return m_docks->equivChart; }
ConfigPanel* MainWindow::configPanel() const { return m_docks->config; }
QSlider* MainWindow::snapshotSlider() const { return m_runView->snapshotSlider(); }
RunsBrowser* MainWindow::runsBrowser() const { return m_docks->runs; }
session::TrainerHost* MainWindow::host() const { return m_model->host(); }
core::PointSnapshotPtr MainWindow::currentSnapshot() const { return m_model->snapshot(); }
QString MainWindow::currentRunDir() const { return m_model->currentRun(); }
core::RunStatus MainWindow::lastStatus() const { return m_model->status(); }

bool MainWindow::exportFigure(const QString& file, const QString& style, QString& error) {
  return m_exports->exportFigure(file, style, error);
}
QFuture<QString> MainWindow::exportFigureAsync(const QString& file, const QString& style,
                                               bool interactive) {
  return m_exports->exportFigureAsync(file, style, interactive);
}
void MainWindow::cancelExport() { m_exports->cancel(); }
bool MainWindow::exporting() const { return m_exports->exporting(); }
QFuture<QString> MainWindow::export3dView(const QString& file, double scale, bool transparent,
                                          bool interactive) {
  return m_exports->export3dView(file, scale, transparent, interactive);
}

bool MainWindow::startRun(const core::LaunchRequest& request, bool quiet) {
  core::LaunchRequest req = request;
  if (req.runsRoot.empty() || req.runsRoot == "runs") req.runsRoot = runsRoot().toStdString();
  m_status->hideLoading();
  QStringList problems;
  if (!m_model->start(req, problems)) {
    for (const auto& l : problems) {
      log(2, l);
      std::fprintf(stderr, "pretext: %s\n", l.toUtf8().constData());
    }
    if (!quiet) QMessageBox::warning(this, tr("Cannot start the run"), problems.join("\n"));
    return false;
  }
  showLaunchValues(req);
  log(0, tr("started %1").arg(m_model->currentRun()));
  m_runView->showRunViews(m_model->languageModel());
  updateActions();
  m_docks->runs->refresh();
  return true;
}

void MainWindow::showLaunchValues(const core::LaunchRequest& req) {
  ConfigPanel* config = m_docks->config;
  auto apply = [config](const std::vector<std::string>& overrides) {
    for (const auto& o : overrides) {
      const auto eq = o.find('=');
      config->setValue(QString::fromStdString(o.substr(0, eq)),
                       QString::fromStdString(o.substr(eq + 1)));
    }
  };
  // A resumed run: its config.yaml and the values changed mid-run before the checkpoint.
  // Not remembered as the next session's experiment.
  if (!req.resumeDir.empty()) {
    config->setSource(QString::fromStdString(req.resumeDir + "/config.yaml"));
    apply(host()->resumedOverrides());
  }
  // A new run: the values it uses (command-line --set and --max-steps included).
  if (!req.configOrPreset.empty()) {
    config->setSource(QString::fromStdString(req.configOrPreset));
    apply(req.overrides);
  }
  // --max-steps: a new run's value, or a resumed run's new target.
  if (req.maxSteps > 0) config->setValue("trainer.max_steps", QString::number(req.maxSteps));
  if (req.resumeDir.empty()) QSettings().setValue("experiment/source", config->source());
}

bool MainWindow::startFromPanel() {
  if (m_docks->config->hasErrors()) {
    QMessageBox::warning(this, tr("Cannot start the run"),
                         tr("Fix the values marked in red in the Experiment panel first."));
    return false;
  }
  core::LaunchRequest r;
  r.configOrPreset = m_docks->config->source().toStdString();
  r.overrides = m_docks->config->overrides();
  return startRun(r);
}

void MainWindow::openRun(const QString& runDir) {
  if (m_model->training() && runDir == host()->runDir()) return;
  m_status->hideLoading();
  m_model->open(runDir);
  m_runView->showRunViews(m_model->languageModel());
  log(0, tr("watching %1").arg(runDir));
}

void MainWindow::compareRuns(const QStringList& dirs) {
  if (dirs.size() < 2) return;
  m_status->hideLoading();
  if (!m_model->training()) statusBar()->showMessage(tr("Reading %1 runs…").arg(dirs.size()));
  m_model->compare(dirs);
}

bool MainWindow::loadingMetrics() const { return m_status->loading(); }

void MainWindow::cancelLoading() {
  if (!loadingMetrics()) return;
  const int permille = m_status->loadPermille();
  m_model->cancelLoading();
  m_status->hideLoading();
  log(1, tr("stopped reading metrics at %1 %; the plots show the rows read so far (open the "
            "run again to read all)")
             .arg(permille / 10.0, 0, 'f', 1));
}

void MainWindow::onReset(const QString& runDir) {
  m_docks->lossChart->clearRuns();
  m_docks->equivChart->clearRuns();
  if (m_docks->flow->followsRun()) m_docks->flow->setSample(nullptr);
  if (runDir.isEmpty()) return;  // a comparison: the views keep their layout
  m_docks->inspector->setRunDir(runDir);
  m_status->setRunDir(runDir);
  setWindowTitle(tr("Pretext — %1").arg(QFileInfo(runDir).fileName()));
}

void MainWindow::onRunInfo(const QString& runDir, const QString& kind, double samplesPerStep) {
  for (MetricChart* chart : {m_docks->lossChart, m_docks->equivChart})
    chart->setSamplesPerStep(runDir, samplesPerStep);
  // The current run's kind (or the first compared run's) picks what the views show.
  if (kind.isEmpty() || kind != m_model->experimentKind()) return;
  const bool lm = m_model->languageModel();
  m_docks->lossChart->setKey(lm ? "loss/val" : "loss/total");
  m_docks->equivChart->setKey(lm ? "sink/sink1" : "equiv/probe_err");
  m_runView->setCaption(lm ? tr("language-model run: attention-sink views") : QString());
  if (!m_model->currentRun().isEmpty()) m_runView->showRunViews(lm);
  m_docks->showKind(lm);
  m_actions->setPointViewActions(!lm);
}

void MainWindow::onFinished(const core::RunStatus& s) {
  if (host()->runDir() == m_model->currentRun()) m_status->setStatus(s);
  updateActions();
  m_docks->runs->refresh();
  Q_EMIT runFinished(s);
  if (m_closeAfterStop) {
    close();
    return;
  }
  if (!m_screenshotPath.isEmpty() || m_exitWhenDone) {
    // Let the last snapshot and chart redraw reach the screen first.
    QTimer::singleShot(400, this, [this, s] {
      m_docks->lossChart->redrawNow();
      m_docks->equivChart->redrawNow();
      const bool failed = s.phase == core::RunPhase::Failed;
      if (m_screenshotPath.isEmpty()) {
        if (m_exitWhenDone) QApplication::exit(failed ? 1 : 0);
        return;
      }
      auto* watcher = new QFutureWatcher<bool>(this);
      connect(watcher, &QFutureWatcher<bool>::finished, this, [this, watcher, failed] {
        watcher->deleteLater();
        if (m_exitWhenDone) QApplication::exit(failed || !watcher->result() ? 1 : 0);
      });
      watcher->setFuture(saveScreenshot(m_screenshotPath));
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

QFuture<bool> MainWindow::saveScreenshot(const QString& path) {
  const QPixmap pix = grab();
  // Where the views are in the image, for tests and figure scripts.
  const qreal dpr = pix.devicePixelRatio();
  auto rect = [&](QWidget* w) {
    QRect r(w->mapTo(this, QPoint(0, 0)), w->size());
    return QJsonArray{qRound(r.x() * dpr), qRound(r.y() * dpr), qRound(r.width() * dpr),
                      qRound(r.height() * dpr)};
  };
  const QJsonObject o{{"image", QFileInfo(path).fileName()},
                      {"view3d", rect(pointView())},
                      {"view3d_background", pointView()->background().name()},
                      {"loss_chart", rect(lossChart()->view()->viewport())},
                      {"loss_chart_color", runColor(0).name()},
                      {"run_dir", m_model->currentRun()},
                      {"phase", QString::fromStdString(core::toString(m_model->status().phase))},
                      {"step", static_cast<qint64>(m_model->status().step)}};
  const QImage image = pix.toImage();
  const std::string sidecar = path.toStdString() + ".json",
                    json = QJsonDocument(o).toJson().toStdString();
  return m_model->jobs()->run(
      QStringLiteral("screenshot"),
      [image, path, sidecar, json](const session::CancelToken&) {
        std::string error;
        return !image.isNull() && image.save(path) && core::writeFileAtomic(sidecar, json, error);
      },
      [this, path](bool ok) {
        if (ok)
          log(0, tr("screenshot saved to %1").arg(path));
        else
          log(2, tr("cannot save screenshot to %1").arg(path));
      });
}

void MainWindow::log(int level, const QString& line) { m_docks->log(level, line); }

void MainWindow::updateActions() {
  const bool active = m_model->training();
  m_actions->update(active, m_model->status().phase == core::RunPhase::Paused);
  m_docks->config->setEditable(!active);
  m_docks->augmentations->setEnabled(!active &&
                                     m_docks->config->value("experiment.kind").startsWith("lidar"));
  if (m_panelsLocked != active) {
    m_panelsLocked = active;
    m_docks->objectives->setRunActive(active);
  }
}

void MainWindow::importTfEvents(const QString& folder) {
  const std::string source = folder.toStdString(), root = runsRoot().toStdString();
  m_model->jobs()->run(
      QStringLiteral("import"),
      [source, root](const session::CancelToken&) { return core::importTfEvents(source, root); },
      [this, folder](const std::string& run) {
        log(0, tr("Imported %1 as %2").arg(folder, QString::fromStdString(run)));
        openRun(QString::fromStdString(run));
      });
}

void MainWindow::previewTransform(const core::SpatialTransform& t) {
  m_docks->inspector->setTransform(t);
  m_docks->raise("dock.inspector");
  log(0, tr("preview: rotation %1°, translation (%2, %3, %4) m, scale %5%6")
             .arg(t.angle * 180 / M_PI, 0, 'f', 1)
             .arg(t.t[0], 0, 'f', 2)
             .arg(t.t[1], 0, 'f', 2)
             .arg(t.t[2], 0, 'f', 2)
             .arg(t.scale, 0, 'f', 3)
             .arg(t.flipY ? tr(", mirrored") : QString()));
  if (m_model->snapshot()) {
    m_docks->inspector->setSnapshot(m_model->snapshot());
    return;
  }
  // No run yet: preview on a simulated scan, made in a job (about 50 ms).
  m_model->jobs()->run(
      QStringLiteral("preview"),
      [](const session::CancelToken&) {
        core::DatasetOptions d;
        auto cloud = core::openDataset(d)->scan(0);
        auto snap = std::make_shared<core::PointSnapshot>();
        snap->xyz = cloud.xyz;
        std::vector<float> height(cloud.size());
        for (std::size_t i = 0; i < cloud.size(); ++i) height[i] = cloud.xyz[3 * i + 2];
        snap->fields["height"] = std::move(height);
        return core::PointSnapshotPtr(snap);
      },
      [this](const core::PointSnapshotPtr& snap) {
        if (!m_model->snapshot()) m_docks->inspector->setSnapshot(snap);
      });
}

void MainWindow::restoreSettings() {
  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  fitToScreen();
  if (s.contains("experiment/source"))
    m_docks->config->setSource(s.value("experiment/source").toString());
  setRunsRoot(s.value("runs/root", QDir::current().absoluteFilePath("runs")).toString());
}

void MainWindow::fitToScreen() {
  // Geometry saved on a larger screen (or another monitor) comes back on this one.
  const QScreen* screen = this->screen();
  if (!screen) return;
  const QRect avail = screen->availableGeometry();
  const QSize frame = frameGeometry().size() - geometry().size();
  resize(std::min(width(), avail.width() - frame.width()),
         std::min(height(), avail.height() - frame.height()));
  QRect g = frameGeometry();
  g.moveLeft(std::clamp(g.left(), avail.left(), std::max(avail.left(), avail.right() - g.width())));
  g.moveTop(std::clamp(g.top(), avail.top(), std::max(avail.top(), avail.bottom() - g.height())));
  move(g.topLeft());
}

void MainWindow::setRunsRoot(const QString& root) {
  m_docks->runs->setRunsRoot(root);
  QSettings s;
  s.setValue("runs/root", root);
  QStringList recent = s.value("runs/recentRoots").toStringList();
  recent.removeAll(root);
  recent.prepend(root);
  while (recent.size() > 10) recent.removeLast();
  s.setValue("runs/recentRoots", recent);
}

QString MainWindow::runsRoot() const { return m_docks->runs->runsRoot(); }

void MainWindow::closeEvent(QCloseEvent* e) {
  if (m_model->training()) {
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
    host()->stop();
    m_status->setPhaseText(tr("stopping…"));
    e->ignore();
    return;
  }
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  e->accept();
}

}  // namespace pretext::widgets
