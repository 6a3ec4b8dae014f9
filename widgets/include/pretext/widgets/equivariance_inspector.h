#pragma once
// Equivariance inspector: the probe scan x (left) and T x (right) side by side, both
// coloured by a per-point error field on one shared scale, with a histogram of that field.
// T (rotation about z, translation, uniform scale, mirror across the x axis) is typed in.
// The two cameras are linked through T: moving either view moves the other so that every
// point stays at the same place on screen in both (for a mirror T the right view shows
// the mirror image, since a camera cannot reflect). GUI thread only.
#include <QWidget>
#include <vector>

#include "pretext/core/augment.h"
#include "pretext/core/run_types.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;

namespace pretext::widgets {

class PointCloudView;

// The field as bars: `bins` equal-width bins over the field's [min, max].
class ErrorHistogram : public QWidget {
  Q_OBJECT
 public:
  explicit ErrorHistogram(QWidget* parent = nullptr);
  void setValues(const std::vector<float>& values, int bins = 40);
  const std::vector<int>& counts() const { return m_counts; }
  std::pair<double, double> range() const { return {m_lo, m_hi}; }
  QSize sizeHint() const override { return {240, 90}; }

 protected:
  void paintEvent(QPaintEvent* e) override;

 private:
  std::vector<int> m_counts;
  double m_lo = 0, m_hi = 1;
};

class EquivarianceInspector : public QWidget {
  Q_OBJECT
 public:
  explicit EquivarianceInspector(QWidget* parent = nullptr);
  // Shows `snapshot`'s points coloured by `field` (default equiv_error, else the first).
  void setSnapshot(const core::PointSnapshotPtr& snapshot, const QString& field = {});
  void setTransform(const core::SpatialTransform& t);  // flipX is ignored
  core::SpatialTransform transform() const;
  PointCloudView* left() const { return m_left; }
  PointCloudView* right() const { return m_right; }
  ErrorHistogram* histogram() const { return m_hist; }
  QString field() const { return m_field; }

 private:
  void rebuild();
  void follow(PointCloudView* from);
  core::PointSnapshotPtr m_snap;
  QString m_field;
  PointCloudView *m_left, *m_right;
  ErrorHistogram* m_hist;
  QDoubleSpinBox *m_angle, *m_tx, *m_ty, *m_scale;
  QCheckBox* m_flip;
  QLabel* m_caption;
  bool m_linking = false;
};

}  // namespace pretext::widgets
