#pragma once
// The main window's docks and the widgets in them: Experiment, Augmentations, Objectives
// and Runs (tabbed, left), Plots and Log (tabbed, bottom), the equivariance inspector and
// the scene-flow view (tabbed, right, hidden until asked for). Each dock has an object
// name, so the window's saved state restores the layout. GUI thread only.
#include <QObject>

class QDockWidget;
class QMainWindow;
class QPlainTextEdit;

namespace pretext::widgets {

class AugmentationPanel;
class ConfigPanel;
class EquivarianceInspector;
class FlowView;
class MetricChart;
class ObjectivePanel;
class RunsBrowser;

struct MainDocks {
  explicit MainDocks(QMainWindow* window);
  // Brings a hidden dock (e.g. "dock.inspector") to the front.
  void raise(const char* objectName) const;
  bool inspectorVisible() const;
  // Only the docks that apply to the run's kind: a language model has no augmentations,
  // equivariance inspector or scene flow. Back on a LiDAR run the Augmentations tab
  // returns (the inspector and flow view stay as the user leaves them).
  void showKind(bool languageModel);
  void log(int level, const QString& line) const;

  QMainWindow* window;
  // Left: the experiment's values and the runs folder.
  ConfigPanel* config;
  AugmentationPanel* augmentations;
  ObjectivePanel* objectives;
  RunsBrowser* runs;
  // Bottom: the two plots and the log.
  MetricChart *lossChart, *equivChart;
  QPlainTextEdit* logView;
  // Right: the 3D tools.
  EquivarianceInspector* inspector;
  QDockWidget* inspectorDock;
  FlowView* flow;
};

}  // namespace pretext::widgets
