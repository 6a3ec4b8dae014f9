#pragma once
// Equivariance inspector: the probe scan x (left) and T x (right) side by side, both
// coloured by a per-point error field on one shared scale, with a histogram of that field.
// T (rotation about z, translation, uniform scale, mirror across the x axis) is typed in.
// The two cameras are linked through T: moving either view moves the other so that every
// point stays at the same place on screen in both (for a mirror T the right view shows
// the mirror image, since a camera cannot reflect). GUI thread only.
//
// The colours come from the trainer's snapshot fields, or — with an encoder chosen (the
// run's untrained encoder or any checkpoint's) — from the error ‖f̂(T x) − f̂(x)‖ of that
// encoder for the T typed in, computed in a job (session::JobRunner, one lane: a new T or
// encoder supersedes the computation in flight; cancellable). One computation runs at a
// time: a superseded one still inside its forward pass finishes before the next starts.
#include <QWidget>
#include <cstdint>
#include <memory>
#include <vector>

#include "pretext/data/augment.h"
#include "pretext/runs/run_types.h"
#include "pretext/session/job_runner.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QToolButton;

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
  // The run whose encoders can be chosen (its checkpoints are listed).
  void setRunDir(const QString& runDir);
  // Which colours: kTrainerFields (the snapshot's fields), kUntrained, or a checkpoint step.
  static constexpr std::int64_t kTrainerFields = -2, kUntrained = -1;
  void setEncoder(std::int64_t choice);
  std::int64_t encoder() const { return m_encoder; }
  std::vector<std::int64_t> encoderChoices() const;  // what the list offers
  bool computing() const;
  void cancelComputation();
  // The per-point values the views show now.
  const std::vector<float>& shownValues() const { return m_shown; }
  PointCloudView* left() const { return m_left; }
  PointCloudView* right() const { return m_right; }
  ErrorHistogram* histogram() const { return m_hist; }
  QString field() const { return m_field; }

 Q_SIGNALS:
  // An encoder's error for the current T is on screen (or the computation failed: `error`).
  void computed(const QString& error);

 private:
  void rebuild();
  void follow(PointCloudView* from);
  void refreshEncoderList();
  void requestComputation();
  void startComputation();
  core::PointSnapshotPtr m_snap;
  QString m_field;
  PointCloudView *m_left, *m_right;
  ErrorHistogram* m_hist;
  QDoubleSpinBox *m_angle, *m_tx, *m_ty, *m_scale;
  QCheckBox* m_flip;
  QLabel* m_caption;
  QComboBox* m_encoderBox;
  QToolButton* m_cancel;
  bool m_linking = false;
  QString m_runDir;
  std::int64_t m_encoder = kTrainerFields;
  std::vector<float> m_shown;
  // The encoder's error for (snapshot, T, encoder) when one is chosen.
  std::vector<float> m_computed;
  QString m_computedField;
  // The last encoder loaded, shared with the jobs; its lock lets one job at a time use it.
  struct ProbeCache;
  std::shared_ptr<ProbeCache> m_probes;
  session::JobRunner m_jobs;  // last: destroyed first, so no result arrives after the rest
};

}  // namespace pretext::widgets
