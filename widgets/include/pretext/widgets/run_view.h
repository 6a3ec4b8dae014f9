#pragma once
// The window's central area. Before any run, the welcome page; for a LiDAR run, the 3D
// view of the run's point snapshots with the field that colours it, a slider through the
// snapshots (training progress) and a colour-scale lock; for a language model, the
// attention-sink views. Shows what the RunModel holds. GUI thread only.
#include <QWidget>
#include <vector>

#include "pretext/runs/run_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QStackedWidget;

namespace pretext::session {
class RunModel;
}

namespace pretext::widgets {

class AttentionView;
class ElidedLabel;
class PointCloudView;
class WelcomePage;

class RunView : public QWidget {
  Q_OBJECT
 public:
  RunView(session::RunModel* model, QWidget* parent = nullptr);
  PointCloudView* pointView() const { return m_view; }
  AttentionView* attentionView() const { return m_attention; }
  WelcomePage* welcomePage() const { return m_welcome; }
  QSlider* snapshotSlider() const { return m_slider; }
  // Shows the run's views: the attention views for a language model, else the 3D view.
  void showRunViews(bool languageModel);
  void setCaption(const QString& text);

 Q_SIGNALS:
  // A clicked point with every field of the snapshot at it, for the log.
  void pointDescribed(const QString& text);

 private:
  void onReset();
  void updateSlider();
  void showSnapshot(const core::PointSnapshotPtr& snapshot);
  void showField();
  void updateCaption();
  session::RunModel* m_model = nullptr;
  PointCloudView* m_view = nullptr;
  AttentionView* m_attention = nullptr;
  WelcomePage* m_welcome = nullptr;
  QStackedWidget* m_stack = nullptr;
  QComboBox* m_fieldBox = nullptr;
  ElidedLabel* m_caption = nullptr;  // never widens the window
  QSlider* m_slider = nullptr;
  QCheckBox* m_lockScale = nullptr;
  std::vector<QWidget*> m_pointControls;  // hidden for a language model
};

}  // namespace pretext::widgets
