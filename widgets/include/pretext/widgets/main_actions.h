#pragma once
// The main window's menus (File, Run, View) and its Run toolbar, with their shortcuts and
// tooltips. Dialogs that only ask for a file or a value are shown here; what to do with the
// answer is the window's, through the signals. GUI thread only.
#include <QObject>
#include <QString>
#include <functional>
#include <vector>

class QAction;
class QMainWindow;
class QMenu;

namespace pretext::widgets {

class PointCloudView;

class MainActions : public QObject {
  Q_OBJECT
 public:
  // `runsRoot` gives the folder file dialogs start in.
  MainActions(QMainWindow* window, PointCloudView* view, std::function<QString()> runsRoot);
  // Adds a show/hide entry for every dock of the window to the View menu (call once the
  // docks exist); Ctrl+I and Ctrl+Shift+F show the inspector and the scene-flow view.
  void addDockToggles();
  // Enables what makes sense: Start while idle; Pause/Resume, Stop, Snapshot while a run
  // trains here.
  void update(bool training, bool paused);
  // Enables the actions on the 3D view (export, cameras): off for a language model, which
  // has none.
  void setPointViewActions(bool enabled);
  bool legendsShown() const;  // View › Plot legends (Ctrl+L), remembered between sessions

 Q_SIGNALS:
  void openRunRequested(const QString& runDir);
  void importRequested(const QString& folder);
  void runsRootChosen(const QString& root);
  void figureRequested(const QString& file, const QString& style);
  void view3dRequested(const QString& file, int scale, bool transparent);
  void screenshotRequested(const QString& file);
  void startRequested();
  void pauseToggled();
  void stopRequested();
  void snapshotRequested();
  void legendsToggled(bool on);

 private:
  void buildFileMenu();
  void askFigure();
  void askView3d();
  void buildRunMenu();
  void buildViewMenu();
  QMainWindow* m_window = nullptr;
  PointCloudView* m_view = nullptr;
  std::function<QString()> m_runsRoot;
  QMenu* m_viewMenu = nullptr;
  std::vector<QAction*> m_pointActions;
  QAction* m_legends = nullptr;
  QAction *m_start = nullptr, *m_pause = nullptr, *m_stop = nullptr, *m_snap = nullptr;
};

}  // namespace pretext::widgets
