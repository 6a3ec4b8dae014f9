#pragma once
// The first-run page of the central area: what Pretext does, one button that starts the
// default experiment, the presets (double-click loads one into the Experiment panel) and
// opening a run. GUI thread only.
#include <QWidget>

namespace pretext::widgets {

class WelcomePage : public QWidget {
  Q_OBJECT
 public:
  explicit WelcomePage(QWidget* parent = nullptr);

 Q_SIGNALS:
  void startDefaultRequested();
  void presetChosen(const QString& name);
  void openRunRequested();
};

}  // namespace pretext::widgets
