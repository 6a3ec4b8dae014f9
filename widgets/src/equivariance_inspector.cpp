#include "pretext/widgets/equivariance_inspector.h"

#include "pretext/widgets/elided_label.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <mutex>

#include "pretext/render/colormap.h"
#include "pretext/render/scene.h"
#include "pretext/train/encoder_probe.h"
#include "pretext/widgets/point_cloud_view.h"

using namespace pretext::render;

namespace pretext::widgets {

namespace {
constexpr double kPi = 3.14159265358979323846;
const QString kProbeLane = QStringLiteral("encoder probe");

// A camera seen through T: eye and focal point mapped as points, the up direction as a
// vector (rotation and mirror only; normalised).
SceneCamera mapCamera(const SceneCamera& c, const core::SpatialTransform& t) {
  SceneCamera out = c;
  float in[9] = {static_cast<float>(c.position[0]), static_cast<float>(c.position[1]),
                 static_cast<float>(c.position[2]), static_cast<float>(c.focal[0]),
                 static_cast<float>(c.focal[1]),    static_cast<float>(c.focal[2])};
  float mapped[6];
  t.apply(in, mapped, 2);
  float up[3] = {static_cast<float>(c.viewUp[0]), static_cast<float>(c.viewUp[1]),
                 static_cast<float>(c.viewUp[2])};
  float upMapped[3];
  t.applyVectors(up, upMapped, 1);
  const double n =
      std::sqrt(upMapped[0] * upMapped[0] + upMapped[1] * upMapped[1] + upMapped[2] * upMapped[2]);
  for (int k = 0; k < 3; ++k) {
    out.position[k] = mapped[k];
    out.focal[k] = mapped[3 + k];
    out.viewUp[k] = n > 0 ? upMapped[k] / n : c.viewUp[k];
  }
  return out;
}

QDoubleSpinBox* spin(QWidget* parent, double lo, double hi, double step, double value,
                     const QString& prefix, const QString& tip) {
  auto* s = new QDoubleSpinBox(parent);
  s->setRange(lo, hi);
  s->setSingleStep(step);
  s->setDecimals(2);
  s->setValue(value);
  s->setPrefix(prefix);
  s->setToolTip(tip);
  return s;
}
}  // namespace

// ---- histogram ----------------------------------------------------------------------------

ErrorHistogram::ErrorHistogram(QWidget* parent) : QWidget(parent) { setMinimumHeight(60); }

void ErrorHistogram::setValues(const std::vector<float>& values, int bins) {
  m_counts.assign(static_cast<std::size_t>(std::max(1, bins)), 0);
  auto [lo, hi] = finiteMinMax(values);
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi <= lo) hi = lo + 1e-6;
  m_lo = lo;
  m_hi = hi;
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    const int b = std::clamp(static_cast<int>((v - lo) / (hi - lo) * bins), 0, bins - 1);
    ++m_counts[static_cast<std::size_t>(b)];
  }
  update();
}

void ErrorHistogram::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  if (m_counts.empty()) return;
  const int top = *std::max_element(m_counts.begin(), m_counts.end());
  const QRectF area(4, 4, width() - 8, height() - 22);
  const double w = area.width() / m_counts.size();
  for (std::size_t b = 0; b < m_counts.size(); ++b) {
    const double h = top > 0 ? area.height() * m_counts[b] / top : 0;
    double rgb[3];
    viridis((b + 0.5) / m_counts.size(), rgb);  // the bar's colour in the views
    p.fillRect(QRectF(area.left() + b * w, area.bottom() - h, std::max(1.0, w - 1), h),
               QColor::fromRgbF(static_cast<float>(rgb[0]), static_cast<float>(rgb[1]),
                                static_cast<float>(rgb[2])));
  }
  p.setPen(palette().windowText().color());
  p.drawText(QPointF(area.left(), height() - 4), QString::number(m_lo, 'g', 3));
  const QString hi = QString::number(m_hi, 'g', 3);
  p.drawText(QPointF(area.right() - fontMetrics().horizontalAdvance(hi), height() - 4), hi);
}

// ---- inspector ----------------------------------------------------------------------------

// Held by the jobs while they load or run an encoder: one at a time, so that a superseded
// job still in its forward pass never shares the cached encoder with the next one, and two
// loads never interleave their seeding of LibTorch's global generator (EncoderProbe::open).
struct EquivarianceInspector::ProbeCache {
  std::mutex lock;
  std::shared_ptr<core::EncoderProbe> probe;  // the last encoder loaded, of run `run`
  std::string run;
};

EquivarianceInspector::EquivarianceInspector(QWidget* parent)
    : QWidget(parent),
      m_left(new PointCloudView(this)),
      m_right(new PointCloudView(this)),
      m_hist(new ErrorHistogram(this)),
      m_angle(spin(this, -180, 180, 5, 30, tr("rot "), tr("Rotation of T about z (degrees)"))),
      m_tx(spin(this, -50, 50, 0.5, 0, tr("tx "), tr("Translation of T along x (m)"))),
      m_ty(spin(this, -50, 50, 0.5, 0, tr("ty "), tr("Translation of T along y (m)"))),
      m_scale(spin(this, 0.1, 10, 0.05, 1, tr("scale "), tr("Uniform scale of T"))),
      m_flip(new QCheckBox(tr("mirror y"), this)),
      m_caption(new ElidedLabel(tr("no snapshot yet"), this)),
      m_encoderBox(new QComboBox(this)),
      m_cancel(new QToolButton(this)),
      m_probes(std::make_shared<ProbeCache>()) {
  m_encoderBox->setToolTip(
      tr("Colour by the trainer's snapshot field, or by the error |f(T x) - f(x)| of the run's "
         "untrained encoder or of a checkpoint's, for the T typed in (computed off the GUI "
         "thread)"));
  // The checkpoint list grows with the run: the box does not grow with it.
  m_encoderBox->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_encoderBox->setMinimumContentsLength(14);
  m_cancel->setText(tr("Cancel"));
  m_cancel->setToolTip(tr("Stop waiting for the encoder's error"));
  m_cancel->hide();
  refreshEncoderList();
  connect(m_encoderBox, &QComboBox::activated, this,
          [this](int i) { setEncoder(m_encoderBox->itemData(i).toLongLong()); });
  connect(m_cancel, &QToolButton::clicked, this, &EquivarianceInspector::cancelComputation);
  // A job that threw (no such run or checkpoint, unreadable weights): the caption says why.
  connect(&m_jobs, &session::JobRunner::failed, this,
          [this](const QString&, const QString& message) {
            m_cancel->hide();
            rebuild();
            m_caption->setText(message);
            Q_EMIT computed(message);
          });
  setObjectName("equivariance_inspector");
  m_flip->setToolTip(tr("T mirrors y (a flip): the linked view then shows the mirror image"));
  m_left->setToolTip(tr("x: the probe scan. Cameras are linked through T"));
  m_right->setToolTip(tr("T x: the same scan transformed. Cameras are linked through T"));
  auto* controls = new QHBoxLayout();
  controls->addWidget(new QLabel(tr("T:"), this));
  for (auto* w :
       {static_cast<QWidget*>(m_angle), static_cast<QWidget*>(m_tx), static_cast<QWidget*>(m_ty),
        static_cast<QWidget*>(m_scale), static_cast<QWidget*>(m_flip)})
    controls->addWidget(w);
  controls->addStretch(1);
  // A second row: what colours the views, and the caption (long, changes every step).
  auto* source = new QHBoxLayout();
  source->addWidget(m_encoderBox);
  source->addWidget(m_cancel);
  source->addWidget(m_caption, 1);
  auto* views = new QHBoxLayout();
  views->addWidget(m_left, 1);
  views->addWidget(m_right, 1);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->addLayout(controls);
  lay->addLayout(source);
  lay->addLayout(views, 1);
  lay->addWidget(m_hist);
  for (auto* s : {m_angle, m_tx, m_ty, m_scale})
    connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] {
      rebuild();
      requestComputation();
    });
  connect(m_flip, &QCheckBox::toggled, this, [this] {
    rebuild();
    requestComputation();
  });
  connect(m_left, &PointCloudView::cameraChanged, this, [this] { follow(m_left); });
  connect(m_right, &PointCloudView::cameraChanged, this, [this] { follow(m_right); });
}

core::SpatialTransform EquivarianceInspector::transform() const {
  core::SpatialTransform t;
  t.angle = m_angle->value() * kPi / 180.0;
  t.t[0] = m_tx->value();
  t.t[1] = m_ty->value();
  t.scale = m_scale->value();
  t.flipY = m_flip->isChecked();
  return t;
}

void EquivarianceInspector::setTransform(const core::SpatialTransform& t) {
  const QSignalBlocker b1(m_angle), b2(m_tx), b3(m_ty), b4(m_scale), b5(m_flip);
  m_angle->setValue(t.angle * 180.0 / kPi);
  m_tx->setValue(t.t[0]);
  m_ty->setValue(t.t[1]);
  m_scale->setValue(t.scale);
  m_flip->setChecked(t.flipY);
  rebuild();
  requestComputation();
}

void EquivarianceInspector::setSnapshot(const core::PointSnapshotPtr& snapshot,
                                        const QString& field) {
  m_snap = snapshot;
  m_field = field;
  if (m_snap && m_field.isEmpty())
    m_field = m_snap->fields.count("equiv_error") || m_snap->fields.empty()
                  ? QStringLiteral("equiv_error")
                  : QString::fromStdString(m_snap->fields.begin()->first);
  refreshEncoderList();  // a new snapshot usually comes with a new checkpoint
  rebuild();
  requestComputation();
}

void EquivarianceInspector::setRunDir(const QString& runDir) {
  if (runDir == m_runDir) return;
  cancelComputation();
  m_runDir = runDir;  // the cached encoder is another run's: the next job loads its own
  m_encoder = kTrainerFields;
  m_computed.clear();
  refreshEncoderList();
  rebuild();
}

std::vector<std::int64_t> EquivarianceInspector::encoderChoices() const {
  std::vector<std::int64_t> out;
  for (int i = 0; i < m_encoderBox->count(); ++i)
    out.push_back(m_encoderBox->itemData(i).toLongLong());
  return out;
}

void EquivarianceInspector::refreshEncoderList() {
  const QSignalBlocker block(m_encoderBox);
  m_encoderBox->clear();
  m_encoderBox->addItem(tr("trainer's fields"), QVariant::fromValue<qlonglong>(kTrainerFields));
  if (!m_runDir.isEmpty()) {
    m_encoderBox->addItem(tr("untrained encoder"), QVariant::fromValue<qlonglong>(kUntrained));
    for (std::int64_t step : core::checkpointSteps(m_runDir.toStdString()))
      m_encoderBox->addItem(tr("checkpoint %1").arg(step), QVariant::fromValue<qlonglong>(step));
  }
  const int at = m_encoderBox->findData(QVariant::fromValue<qlonglong>(m_encoder));
  m_encoderBox->setCurrentIndex(std::max(0, at));
}

void EquivarianceInspector::setEncoder(std::int64_t choice) {
  if (choice == m_encoder) return;
  m_encoder = choice;
  const int at = m_encoderBox->findData(QVariant::fromValue<qlonglong>(choice));
  if (at >= 0) m_encoderBox->setCurrentIndex(at);
  m_computed.clear();
  rebuild();
  requestComputation();
}

bool EquivarianceInspector::computing() const { return m_jobs.busy(kProbeLane); }

void EquivarianceInspector::cancelComputation() {
  if (!computing()) return;
  m_jobs.cancel(kProbeLane);  // the running result will be dropped
  m_cancel->hide();
  rebuild();
}

void EquivarianceInspector::requestComputation() {
  if (m_encoder == kTrainerFields || !m_snap || m_runDir.isEmpty()) return;
  startComputation();  // supersedes the computation in flight, if any
}

void EquivarianceInspector::startComputation() {
  m_cancel->show();
  const auto snap = m_snap;
  const auto t = transform();
  const std::int64_t step = m_encoder;
  const std::string run = m_runDir.toStdString();
  m_caption->setText(step == kUntrained ? tr("computing the untrained encoder's error…")
                                        : tr("computing checkpoint %1's error…").arg(step));
  m_jobs.run(
      kProbeLane,
      [cache = m_probes, run, step, snap, t](const session::CancelToken& token) {
        // Wait for a superseded job's forward pass; a job superseded meanwhile gives up.
        std::unique_lock<std::mutex> hold(cache->lock, std::defer_lock);
        while (!hold.try_lock()) {
          if (token.cancelled()) return std::vector<float>{};
          QThread::msleep(5);
        }
        if (token.cancelled()) return std::vector<float>{};
        // Reuse the loaded encoder when it is the one asked for.
        if (!cache->probe || cache->run != run || cache->probe->step() != step) {
          cache->probe.reset();  // free the old one before loading
          cache->probe = core::EncoderProbe::open(run, step);
          cache->run = run;
        }
        if (token.cancelled()) return std::vector<float>{};
        return cache->probe->equivarianceError(snap->xyz, t);
      },
      [this, step](std::vector<float> values) {
        m_cancel->hide();
        m_computed = std::move(values);
        m_computedField =
            step == kUntrained ? tr("T error, untrained") : tr("T error, checkpoint %1").arg(step);
        rebuild();
        Q_EMIT computed(QString());
      });
}

void EquivarianceInspector::rebuild() {
  if (!m_snap) return;
  const auto it = m_snap->fields.find(m_field.toStdString());
  const bool encoderValues = m_encoder != kTrainerFields && m_computed.size() == m_snap->size();
  m_shown = encoderValues                ? m_computed
            : it == m_snap->fields.end() ? std::vector<float>{}
                                         : it->second;
  const std::vector<float>& values = m_shown;
  const QString field = encoderValues ? m_computedField : m_field;
  const core::SpatialTransform t = transform();
  std::vector<float> moved(m_snap->xyz.size());
  t.apply(m_snap->xyz.data(), moved.data(), m_snap->size());
  m_hist->setValues(values);
  // One absolute colour scale for both views: the field's range.
  const auto [lo, hi] = m_hist->range();
  for (auto* v : {m_left, m_right}) v->setFixedRange(lo, hi);
  m_linking = true;
  m_left->setPointCloud(m_snap->xyz, values, field);
  m_right->setPointCloud(moved, values, field);
  m_linking = false;
  follow(m_left);
  m_caption->setText(tr("step %1 · %2 points · %3 in [%4, %5]")
                         .arg(m_snap->step)
                         .arg(m_snap->size())
                         .arg(field)
                         .arg(lo, 0, 'g', 3)
                         .arg(hi, 0, 'g', 3));
}

void EquivarianceInspector::follow(PointCloudView* from) {
  if (m_linking) return;  // our own update of the other view
  m_linking = true;
  const core::SpatialTransform t = transform();
  if (from == m_left)
    m_right->setCamera(mapCamera(m_left->camera(), t));
  else
    m_left->setCamera(mapCamera(m_right->camera(), t.inverse()));
  m_linking = false;
}

}  // namespace pretext::widgets
