#pragma once
// The attention-sink views of an lm_sink run, from its attention snapshots (live or read
// from the run directory):
//  - alpha_1 per layer x head, the paper's per-head sink score, as a heatmap;
//  - the attention patterns of the probe sequence for one layer, one small query x key
//    heatmap per head (key 0 is the learnable sink slot when the model has one);
//  - the hidden-state norm per position (massive activations) as bars.
// Values in [0, 1] share one absolute viridis scale. A slider scrubs through the snapshots
// (alpha_1 over training), hovering shows the value under the mouse. GUI thread only.
#include <QWidget>
#include <vector>

#include "pretext/runs/run_types.h"

class QLabel;
class QSlider;
class QSpinBox;

namespace pretext::widgets {

class AttentionView : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionView(QWidget* parent = nullptr);

  // Adds a snapshot (a newer one for the same step replaces it). Follows the newest unless
  // the slider was moved back by the user.
  void addSnapshot(const core::AttentionSnapshotPtr& snapshot);
  void clear();
  int snapshotCount() const { return static_cast<int>(m_snaps.size()); }
  void setCurrentIndex(int index);
  int currentIndex() const;
  void setLayer(int layer);
  int layer() const;
  core::AttentionSnapshotPtr current() const;

  // Where things are drawn (widget coordinates), for hover and tests; empty if not shown.
  QRectF alphaCellRect(int layer, int head) const;
  QRectF patternCellRect(int head, int query, int key) const;
  QRectF normBarRect(int position) const;
  // The text hovering at `pos` shows, e.g. "layer 1, head 0: alpha_1 = 0.912".
  QString describeAt(const QPointF& pos) const;

 Q_SIGNALS:
  void currentChanged(int index);

 protected:
  void paintEvent(QPaintEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;

 private:
  struct Regions {
    QRectF alpha, patterns, norms;
    int gridCols = 1;
    double maxNorm = 1e-12;  // the tallest norm bar's value
  };
  Regions regions() const;
  QRectF patternRect(const Regions& r, int head) const;
  void syncControls();

  std::vector<core::AttentionSnapshotPtr> m_snaps;  // ascending step
  QSlider* m_slider;
  QSpinBox* m_layer;
  QLabel* m_caption;
  bool m_follow = true;
};

}  // namespace pretext::widgets
