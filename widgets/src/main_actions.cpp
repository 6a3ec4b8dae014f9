#include "pretext/widgets/main_actions.h"

#include <QAction>
#include <QDockWidget>
#include <QFileDialog>
#include <QInputDialog>
#include <QMainWindow>
#include <QMenuBar>
#include <QSettings>
#include <QToolBar>

#include "pretext/widgets/point_cloud_view.h"

namespace pretext::widgets {

MainActions::MainActions(QMainWindow* window, PointCloudView* view,
                         std::function<QString()> runsRoot)
    : QObject(window), m_window(window), m_view(view), m_runsRoot(std::move(runsRoot)) {
  buildFileMenu();
  buildRunMenu();
  buildViewMenu();
  auto* tb = m_window->addToolBar(tr("Run"));
  tb->setObjectName("toolbar.run");
  tb->addActions({m_start, m_pause, m_stop, m_snap});
}

void MainActions::buildFileMenu() {
  auto* file = m_window->menuBar()->addMenu(tr("&File"));
  auto* openAct = file->addAction(tr("&Open run…"), this, [this] {
    const QString d =
        QFileDialog::getExistingDirectory(m_window, tr("Open run directory"), m_runsRoot());
    if (!d.isEmpty()) Q_EMIT openRunRequested(d);
  });
  openAct->setShortcut(QKeySequence::Open);
  file->addAction(tr("Import TensorBoard scalars…"), this, [this] {
    const QString d = QFileDialog::getExistingDirectory(
        m_window, tr("Folder with TensorBoard event files (events.out.tfevents.*)"), m_runsRoot());
    if (!d.isEmpty()) Q_EMIT importRequested(d);
  });
  file->addAction(tr("Choose runs folder…"), this, [this] {
    const QString d = QFileDialog::getExistingDirectory(m_window, tr("Runs folder"), m_runsRoot());
    if (!d.isEmpty()) Q_EMIT runsRootChosen(d);
  });
  auto* figureAct = file->addAction(tr("Export figure…"), this, &MainActions::askFigure);
  figureAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  figureAct->setToolTip(tr("Write the two plots as a PDF/SVG/PNG figure for a paper (Ctrl+E)"));
  auto* view3dAct = file->addAction(tr("Export 3D view…"), this, &MainActions::askView3d);
  view3dAct->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  m_pointActions.push_back(view3dAct);
  view3dAct->setToolTip(
      tr("Write the 3D view, same camera and colour bar, at N times its resolution "
         "(Ctrl+Shift+E)"));
  file->addAction(tr("Save screenshot…"), this, [this] {
    const QString f =
        QFileDialog::getSaveFileName(m_window, tr("Screenshot"), "pretext.png", tr("PNG (*.png)"));
    if (!f.isEmpty()) Q_EMIT screenshotRequested(f);
  });
  file->addSeparator();
  auto* quit = file->addAction(tr("&Quit"), m_window, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
}

void MainActions::askFigure() {
  QSettings settings;
  const QStringList styles = {"single-column", "double-column", "slide"};
  bool ok = false;
  const QString style = QInputDialog::getItem(
      m_window, tr("Export figure"), tr("Style (85 mm, 175 mm or a 16:9 slide):"), styles,
      std::max<int>(0, static_cast<int>(styles.indexOf(
                           settings.value("figure/style", "single-column").toString()))),
      false, &ok);
  if (!ok) return;
  const QString f = QFileDialog::getSaveFileName(
      m_window, tr("Export figure"), settings.value("figure/file", "figure.pdf").toString(),
      tr("PDF (*.pdf);;SVG (*.svg);;PNG, 300 dpi (*.png)"));
  if (f.isEmpty()) return;
  settings.setValue("figure/style", style);
  settings.setValue("figure/file", f);
  Q_EMIT figureRequested(f, style);
}

void MainActions::askView3d() {
  QSettings settings;
  bool ok = false;
  const int scale = QInputDialog::getInt(m_window, tr("Export 3D view"),
                                         tr("Resolution (times the view's size on screen):"),
                                         settings.value("view3d/scale", 2).toInt(), 1, 8, 1, &ok);
  if (!ok) return;
  const QString png = tr("PNG (*.png)"), clear = tr("PNG, transparent background (*.png)");
  QString filter = settings.value("view3d/filter", png).toString();
  const QString f = QFileDialog::getSaveFileName(
      m_window, tr("Export 3D view"), settings.value("view3d/file", "view.png").toString(),
      png + ";;" + clear + ";;" + tr("PDF, labels as text (*.pdf);;EPS (*.eps)"), &filter);
  if (f.isEmpty()) return;
  settings.setValue("view3d/scale", scale);
  settings.setValue("view3d/file", f);
  settings.setValue("view3d/filter", filter);
  Q_EMIT view3dRequested(f, scale, filter == clear);
}

void MainActions::buildRunMenu() {
  auto* run = m_window->menuBar()->addMenu(tr("&Run"));
  m_start = run->addAction(tr("&Start"), this, &MainActions::startRequested);
  m_start->setShortcut(Qt::Key_F5);
  m_start->setToolTip(tr("Start a run with the Experiment panel's settings (F5)"));
  m_pause = run->addAction(tr("&Pause"), this, &MainActions::pauseToggled);
  m_pause->setShortcut(Qt::Key_F6);
  m_pause->setToolTip(tr("Pause or resume after the current step (F6)"));
  m_stop = run->addAction(tr("S&top"), this, &MainActions::stopRequested);
  m_stop->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
  m_stop->setToolTip(tr("Stop after the current step; the run stays resumable (Shift+F5)"));
  m_snap = run->addAction(tr("Snapshot &now"), this, &MainActions::snapshotRequested);
  m_snap->setShortcut(Qt::Key_F7);
  m_snap->setToolTip(tr("Write a per-point snapshot at the next step (F7)"));
}

void MainActions::buildViewMenu() {
  m_viewMenu = m_window->menuBar()->addMenu(tr("&View"));
  m_pointActions.push_back(m_viewMenu->addAction(tr("Reset camera"),
                                                 QKeySequence(Qt::CTRL | Qt::Key_R), m_view,
                                                 &PointCloudView::resetCamera));
  const std::pair<QString, CameraPreset> presets[] = {
      {tr("Orbit camera"), CameraPreset::Orbit},
      {tr("Bird's-eye camera"), CameraPreset::BirdsEye},
      {tr("Driver camera"), CameraPreset::Driver}};
  int key = Qt::Key_1;
  for (const auto& [name, preset] : presets)
    m_pointActions.push_back(
        m_viewMenu->addAction(name, QKeySequence(Qt::CTRL | key++), this,
                              [this, preset = preset] { m_view->setCameraPreset(preset); }));
  auto* lightAct = m_viewMenu->addAction(tr("Light 3D background"));
  lightAct->setCheckable(true);
  lightAct->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
  lightAct->setToolTip(tr("White background in every 3D view (for figures); off: dark"));
  lightAct->setObjectName("light_background");
  connect(lightAct, &QAction::toggled, this, [this](bool light) {
    const QColor bg = light ? QColor(Qt::white) : QColor(38, 41, 46);
    for (PointCloudView* v : m_window->findChildren<PointCloudView*>()) v->setBackground(bg);
    QSettings().setValue("view/light_background", light);
  });
  lightAct->setChecked(QSettings().value("view/light_background", false).toBool());
  m_legends = m_viewMenu->addAction(tr("Plot legends"));
  m_legends->setCheckable(true);
  m_legends->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  m_legends->setToolTip(tr("Name each run in the plots when two or more are drawn (Ctrl+L)"));
  m_legends->setChecked(QSettings().value("view/plot_legends", true).toBool());
  connect(m_legends, &QAction::toggled, this, [this](bool on) {
    QSettings().setValue("view/plot_legends", on);
    Q_EMIT legendsToggled(on);
  });
  m_viewMenu->addSeparator();
}

void MainActions::addDockToggles() {
  for (auto* dock : m_window->findChildren<QDockWidget*>()) {
    m_viewMenu->addAction(dock->toggleViewAction());
    // Shown from the menu or its shortcut, a dock comes to the front of its tab group.
    connect(dock->toggleViewAction(), &QAction::triggered, dock, [dock](bool on) {
      if (on) dock->raise();
    });
    if (dock->objectName() == "dock.inspector")
      dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    if (dock->objectName() == "dock.flow")
      dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
  }
}

bool MainActions::legendsShown() const { return m_legends->isChecked(); }

void MainActions::setPointViewActions(bool enabled) {
  for (QAction* a : m_pointActions) a->setEnabled(enabled);
}

void MainActions::update(bool training, bool paused) {
  m_start->setEnabled(!training);
  m_pause->setEnabled(training);
  m_stop->setEnabled(training);
  m_snap->setEnabled(training);
  m_pause->setText(paused ? tr("&Resume") : tr("&Pause"));
}

}  // namespace pretext::widgets
