#pragma once
// The scene-flow view: frame t (grey) and frame t+1 (orange) overlaid in a 3D view, the
// flow of frame t's points drawn as segments or arrows, coloured by magnitude or by
// end-point error on one colour bar, every n-th vector. Shows
//   - ground truth: p -> p + truth;
//   - predicted: p -> p + predicted (a run's feature-matching flow);
//   - residual: p + truth -> p + predicted (where the prediction misses).
// Follows a run's point snapshots (their probe pair) or shows a pair opened from disk:
// the simulator, a .npz flow file or folder, a KITTI odometry folder, read in a job
// (session::JobRunner). GUI thread only.
#include <QFuture>
#include <QWidget>

#include "pretext/runs/run_types.h"
#include "pretext/session/job_runner.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QSpinBox;
class QToolButton;

namespace pretext::widgets {

class PointCloudView;

class FlowView : public QWidget {
  Q_OBJECT
 public:
  enum class Vectors { Truth, Predicted, Residual };
  enum class Colouring { Magnitude, EndPointError };

  explicit FlowView(QWidget* parent = nullptr);

  // Shows `sample` (null clears). A sample without a prediction offers ground truth only.
  void setSample(core::FlowSamplePtr sample);
  // A run's newest snapshot pair: shown while "Follow run" is on.
  void offerRunSample(core::FlowSamplePtr sample);
  core::FlowSamplePtr sample() const { return m_sample; }
  bool followsRun() const;

  void setVectors(Vectors v);
  Vectors vectors() const;
  void setColouring(Colouring c);
  Colouring colouring() const;
  // Draw the flow of every n-th point of frame t (n >= 1).
  void setStride(int n);
  int stride() const;
  void setArrows(bool on);
  void setFramesVisible(bool first, bool second);
  // The labelled boxes of frame t (when the pair has them) as white wire frames.
  void setBoxesVisible(bool on);
  std::size_t boxCount() const { return m_boxCount; }

  // Flow vectors drawn now (an arrow counts once).
  std::size_t vectorCount() const { return m_vectorCount; }
  // Mean |predicted - truth| over all points; NaN without a prediction.
  double meanEndPointError() const;
  PointCloudView* view() const { return m_view; }
  QString caption() const;

  // Reads pair `index` of `path` ("simulated", a .npz file, a folder of .npz pairs or a
  // KITTI odometry folder) on a worker thread and shows it; stops following the run. The
  // future's result is empty on success, else the error (also emitted as `message`); the
  // view keeps what it showed. A newer request supersedes a pending one (whose result is
  // then not shown; its future still finishes with its own result). Changing the pair
  // number afterwards scrubs through that sequence or folder.
  QFuture<QString> openPair(const QString& path, int index = 0);

 Q_SIGNALS:
  void message(int level, const QString& text);

 private:
  QToolButton* buildOpenButton();
  void connectControls();
  void rebuild();
  void updateCaption();
  void chooseFile(bool folder);
  void showLoadError(const QString& error);  // the caption and `message` say why

  PointCloudView* m_view = nullptr;
  QComboBox* m_vectorsBox = nullptr;
  QComboBox* m_colourBox = nullptr;
  QCheckBox* m_arrows = nullptr;
  QCheckBox* m_showFirst = nullptr;
  QCheckBox* m_showSecond = nullptr;
  QCheckBox* m_follow = nullptr;
  QCheckBox* m_boxes = nullptr;
  QString m_openedPath;  // the sequence the pair number scrubs through
  QSlider* m_stride = nullptr;
  QLabel* m_strideLabel = nullptr;
  QSpinBox* m_pairIndex = nullptr;
  QLabel* m_caption = nullptr;
  core::FlowSamplePtr m_sample;
  std::size_t m_vectorCount = 0, m_boxCount = 0;
  bool m_cameraFramed = false;
  bool m_userStride = false;  // the stride was set by the user (or setStride), not for a pair
  session::JobRunner m_jobs;  // last: destroyed first, so no result arrives after the rest
};

}  // namespace pretext::widgets
