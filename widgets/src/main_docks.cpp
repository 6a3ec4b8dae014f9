#include "pretext/widgets/main_docks.h"

#include <QDockWidget>
#include <QHBoxLayout>
#include <QMainWindow>
#include <QPlainTextEdit>
#include <algorithm>
#include <string>

#include "pretext/widgets/config_panel.h"
#include "pretext/widgets/equivariance_inspector.h"
#include "pretext/widgets/flow_view.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/panels.h"
#include "pretext/widgets/runs_browser.h"

namespace pretext::widgets {

MainDocks::MainDocks(QMainWindow* w) : window(w) {
  w->setDockNestingEnabled(true);
  auto addDock = [w](const QString& title, const QString& name, QWidget* content,
                     Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, w);
    dock->setObjectName(name);
    dock->setWidget(content);
    w->addDockWidget(area, dock);
    return dock;
  };
  config = new ConfigPanel(w);
  auto* expDock =
      addDock(QObject::tr("Experiment"), "dock.experiment", config, Qt::LeftDockWidgetArea);

  auto* plots = new QWidget(w);
  lossChart = new MetricChart("loss/total", plots);
  equivChart = new MetricChart("equiv/probe_err", plots);
  auto* pl = new QHBoxLayout(plots);
  pl->setContentsMargins(0, 0, 0, 0);
  pl->addWidget(lossChart);
  pl->addWidget(equivChart);
  auto* plotsDock = addDock(QObject::tr("Plots"), "dock.plots", plots, Qt::BottomDockWidgetArea);

  // Task-shaped editors over the experiment panel's values, tabbed with it.
  augmentations = new AugmentationPanel(config, w);
  w->tabifyDockWidget(expDock, addDock(QObject::tr("Augmentations"), "dock.augment", augmentations,
                                       Qt::LeftDockWidgetArea));
  objectives = new ObjectivePanel(config, w);
  w->tabifyDockWidget(expDock, addDock(QObject::tr("Objectives"), "dock.objectives", objectives,
                                       Qt::LeftDockWidgetArea));
  runs = new RunsBrowser(w);
  w->tabifyDockWidget(expDock,
                      addDock(QObject::tr("Runs"), "dock.runs", runs, Qt::LeftDockWidgetArea));
  expDock->raise();

  logView = new QPlainTextEdit(w);
  logView->setReadOnly(true);
  logView->setMaximumBlockCount(5000);
  w->tabifyDockWidget(plotsDock,
                      addDock(QObject::tr("Log"), "dock.log", logView, Qt::BottomDockWidgetArea));
  plotsDock->raise();

  // The equivariance inspector: hidden until asked for (View menu, Ctrl+I); it follows the
  // newest point snapshot while visible. The scene-flow view (Ctrl+Shift+F): the run's
  // probe pair, or a pair opened from disk.
  inspector = new EquivarianceInspector(w);
  inspectorDock = addDock(QObject::tr("Equivariance inspector"), "dock.inspector", inspector,
                          Qt::RightDockWidgetArea);
  inspectorDock->hide();
  flow = new FlowView(w);
  auto* flowDock = addDock(QObject::tr("Scene flow"), "dock.flow", flow, Qt::RightDockWidgetArea);
  w->tabifyDockWidget(inspectorDock, flowDock);
  flowDock->hide();
}

void MainDocks::raise(const char* objectName) const {
  if (auto* dock = window->findChild<QDockWidget*>(objectName)) {
    dock->show();
    dock->raise();
  }
}

void MainDocks::showKind(bool languageModel) {
  for (const char* name : {"dock.augment", "dock.inspector", "dock.flow"}) {
    auto* dock = window->findChild<QDockWidget*>(name);
    if (!dock) continue;
    if (languageModel)
      dock->hide();
    else if (std::string(name) == "dock.augment")
      dock->show();
    dock->toggleViewAction()->setEnabled(!languageModel);
  }
  if (!languageModel) window->findChild<QDockWidget*>("dock.experiment")->raise();
}

bool MainDocks::inspectorVisible() const { return inspector->isVisible(); }

void MainDocks::log(int level, const QString& line) const {
  static const char* prefix[] = {"", "warning: ", "error: "};
  logView->appendPlainText(QString(prefix[std::clamp(level, 0, 2)]) + line);
}

}  // namespace pretext::widgets
